"""The ``livredor`` command line: ``livredor run|setup|export|import|check|backup|poster|…``.

``python -m bot`` is the same program. Settings are loaded here, once, and handed down.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.cli.logs import configure_logging
from config.settings import Settings, SettingsError, load_settings

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="livredor",
        description="A Telegram bot that collects testimonials at events and prints the "
        "livre d'or. Settings come from LIVREDOR_* environment variables or a .env file.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sub.add_parser("run", help="run the bot (long polling, or a webhook if LIVREDOR_WEBHOOK_URL)")

    export = sub.add_parser("export", help="write the livre d'or (approved testimonials)")
    export.add_argument(
        "--format",
        choices=("md", "html", "csv", "json", "zip"),
        help="default: the extension of -o (.md .html .csv .json .zip), else md; zip: the "
        "JSON and the CSV with the photos",
    )
    export.add_argument("--order", choices=("date", "name", "organisation"), default="date")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    export.add_argument("--force", action="store_true", help="replace an existing -o file")
    export.add_argument(
        "--with-identity",
        action="store_true",
        help="JSON: keep each author's Telegram account (id, profile name, @username)",
    )

    imp = sub.add_parser("import", help="import testimonials collected elsewhere")
    imp.add_argument("file", type=Path, help="a livre d'or text/Markdown file, or export CSV/JSON")
    imp.add_argument("--format", choices=("auto", "md", "txt", "csv", "json"), default="auto")
    imp.add_argument("--publish", action="store_true", help="queue them for the channel")
    imp.add_argument("--language", choices=("en", "fr"), help="language of the entries")

    setup = sub.add_parser(
        "setup",
        help="set up in a terminal: the token, the group and the channel found through "
        "Telegram, the event; writes .env",
    )
    setup.add_argument(
        "--non-interactive",
        action="store_true",
        help="no questions: print the group and the channel found as LIVREDOR_...= lines",
    )
    setup.add_argument(
        "--wait",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="with --non-interactive: how long to wait for the bot to be added (default 300)",
    )

    sub.add_parser("check", help="check the token, the group, the channel and the database")
    sub.add_parser("health", help="is `livredor run` alive? (its heartbeat; no Telegram call)")

    backup = sub.add_parser("backup", help="online backup of the database, verified")
    # A string, not a Path: Path("backups/") forgets the slash that says "a folder".
    backup.add_argument("path", help="where to write the copy (a folder: a dated copy)")
    backup.add_argument(
        "--keep",
        type=int,
        metavar="N",
        help="with a folder: keep only the N newest dated copies (older ones are deleted)",
    )

    poster = sub.add_parser(
        "poster", help="a printable poster with the QR code of the bot's link (needs the token)"
    )
    poster.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help="the file (.pdf A4, .png, .svg), or a folder with --all-sessions",
    )
    poster.add_argument("--session", metavar="NAME", help="a session's slug (LIVREDOR_SESSIONS)")
    poster.add_argument(
        "--language", choices=("en", "fr"), help="default: LIVREDOR_DEFAULT_LANGUAGE"
    )
    poster.add_argument(
        "--all-sessions", action="store_true", help="one poster per session, into the folder -o"
    )
    poster.add_argument(
        "--format",
        choices=("pdf", "png", "svg"),
        help="the format (default: the file name's extension; pdf with --all-sessions)",
    )

    wall = sub.add_parser(
        "wall", help="the live wall for the venue's screen (a web page of what is published)"
    )
    wall.add_argument(
        "--port", type=int, help="default: LIVREDOR_WALL_PORT, else 8080 (0: any free port)"
    )
    wall.add_argument("--listen", help="default: LIVREDOR_WALL_LISTEN (0.0.0.0)")

    demo = sub.add_parser("demo", help="the whole flow against a local fake Telegram, no token")
    demo.add_argument("--quiet", action="store_true", help="print only the book at the end")
    demo.add_argument(
        "--wall",
        action="store_true",
        help="then publish a book's testimonials too and serve their live wall until Ctrl-C",
    )
    demo.add_argument("--port", type=int, default=8080, help="the wall's port (default 8080)")
    demo.add_argument(
        "--book",
        type=Path,
        help="with --wall: a livre d'or file to publish (default: the seed, where a clone has it)",
    )
    return parser


def _print_problems(lines: Sequence[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        _print_problems(exc.lines)
        if args.command == "setup":
            _print_problems(["Correct or delete that line of .env, then run setup again."])
        return EXIT_CONFIG
    hidden = [settings.bot_token, settings.webhook_secret, settings.wall_key]
    configure_logging(settings.log_level, [s.get_secret_value() for s in hidden if s])
    commands: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
        "run": _run,
        "export": _export,
        "import": _import,
        "check": _check,
        "setup": _setup,
        "backup": _backup,
        "health": _health,
        "demo": _demo,
        "poster": _poster,
        "wall": _wall,
    }
    from storage.database import DatabaseFileError

    try:
        return commands[args.command](settings, args)
    except KeyboardInterrupt:
        return EXIT_OK
    except DatabaseFileError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG


def _sessions_problem(settings: Settings) -> list[str]:
    """The sessions file's problem, as one line (none when it loads)."""
    from bot.services.sessions import Sessions, SessionsError

    try:
        Sessions.load(settings.sessions)
    except SessionsError as exc:
        return [f"LIVREDOR_SESSIONS is not valid: {exc}"]
    return []


def _texts_problem(settings: Settings) -> list[str]:
    """The texts override's problem, as one line naming the key (none when it loads)."""
    from bot.services.texts import Texts, TextsError

    try:
        Texts.load(settings.texts, settings.default_language)
    except (TextsError, OSError, ValueError) as exc:  # ValueError: TOML that does not parse
        return [f"LIVREDOR_TEXTS is not valid: {exc}"]
    return []


def _run(settings: Settings, args: argparse.Namespace) -> int:
    missing = settings.missing_for_telegram() + _sessions_problem(settings)
    missing += _texts_problem(settings)
    if missing:
        _print_problems(missing)
        return EXIT_CONFIG
    from bot.cli.run import run_bot

    return run_bot(settings)


def _export(settings: Settings, args: argparse.Namespace) -> int:
    problems = _sessions_problem(settings)
    if problems:
        _print_problems(problems)
        return EXIT_CONFIG
    from bot.cli.book import export_book

    return asyncio.run(
        export_book(
            settings,
            args.format,
            args.order,
            args.output,
            force=args.force,
            with_identity=args.with_identity,
        )
    )


def _import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli.book import import_book

    return asyncio.run(import_book(settings, args.file, args.format, args.publish, args.language))


def _check(settings: Settings, args: argparse.Namespace) -> int:
    missing = settings.missing_for_telegram()
    if missing:
        _print_problems(missing)
        return EXIT_CONFIG
    from bot.cli.check import run_check

    return asyncio.run(run_check(settings))


def _setup(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli.setup import run_setup

    return run_setup(settings, non_interactive_mode=args.non_interactive, wait=args.wait)


def _health(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli.health import health

    return health(settings)


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli.backup import backup

    path = Path(args.path)
    if args.path.endswith(("/", os.sep)) and not path.is_dir():
        _print_problems([f"The folder {args.path} does not exist: create it first."])
        return EXIT_CONFIG
    if args.keep is not None and (args.keep < 1 or not path.is_dir()):
        _print_problems(["--keep N needs N of 1 or more and a folder to write dated copies in."])
        return EXIT_CONFIG
    return asyncio.run(backup(settings, path, keep=args.keep))


def _poster(settings: Settings, args: argparse.Namespace) -> int:
    if args.session and args.all_sessions:
        _print_problems(["--session and --all-sessions: choose one."])
        return EXIT_CONFIG
    from bot.cli.poster import make_posters

    return asyncio.run(
        make_posters(
            settings,
            args.output,
            session=args.session,
            language=args.language,
            every=args.all_sessions,
            fmt=args.format,
        )
    )


def _wall(settings: Settings, args: argparse.Namespace) -> int:
    problems = _sessions_problem(settings)
    if args.port is not None and not 0 <= args.port <= 65535:
        problems.append("--port must be from 0 to 65535.")
    if problems:
        _print_problems(problems)
        return EXIT_CONFIG
    from bot.cli.wall import DEFAULT_PORT, serve_wall

    port = args.port if args.port is not None else settings.wall_port or DEFAULT_PORT
    chosen = settings.model_copy(
        update={"wall_port": port, "wall_listen": args.listen or settings.wall_listen}
    )
    return asyncio.run(serve_wall(chosen))


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli.demo import run_demo, wall_book

    if not args.wall:
        return asyncio.run(run_demo(quiet=args.quiet))
    book = wall_book(args.book)
    if book is not None and not book.is_file():
        _print_problems([f"--book {book}: no such file."])
        return EXIT_CONFIG
    if not 1 <= args.port <= 65535:
        _print_problems(["--port must be from 1 to 65535."])
        return EXIT_CONFIG
    return asyncio.run(run_demo(quiet=args.quiet, wall_port=args.port, book=book))
