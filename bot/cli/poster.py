"""``livredor poster``: the printable poster with the QR code of the bot's deep link.

The link needs the bot's username, which only Telegram knows for a token (``getMe``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.cli.outputs import OutputError, check_target, problem, replacing
from bot.services.poster import FORMATS, PosterText, deep_link, write_poster
from bot.services.sessions import Session, Sessions, SessionsError
from bot.services.telegram_http import command_bot
from bot.services.texts import Texts
from config.settings import Settings

EXIT_OK, EXIT_PROBLEM, EXIT_CONFIG = 0, 1, 2


async def bot_username(settings: Settings) -> str:
    """Ask Telegram who the bot is; raise ``PosterError`` with a plain sentence if it cannot."""
    try:
        async with command_bot(settings.token, settings.api_base_url) as bot:
            me = await bot.get_me()
    except InvalidToken:
        raise PosterError(
            "Telegram refused LIVREDOR_BOT_TOKEN: copy the token again from @BotFather "
            "(the poster needs the bot's username, which Telegram gives for the token)."
        ) from None
    except NetworkError:
        host = urlsplit(settings.api_base_url).netloc
        raise PosterError(
            f"Could not reach the Bot API at {host} to learn the bot's username: check this "
            "machine's internet access (or LIVREDOR_API_BASE_URL)."
        ) from None
    except TelegramError as exc:
        message = str(exc).replace(settings.token, "<token>")
        raise PosterError(f"Telegram answered: {message}") from None
    if not me.username:
        raise PosterError("Telegram gave no username for this bot: set one with @BotFather.")
    return me.username


class PosterError(Exception):
    """The poster cannot be made; the message is the sentence to print."""


def poster_format(output: Path, fmt: str | None) -> str:
    """The format asked for (``--format``), else the one the file name ends in."""
    if fmt is not None:
        return fmt
    suffix = output.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise PosterError(
            f"{output}: the file name must end in .pdf, .png or .svg (or give --format)."
        )
    return suffix


def _targets(
    sessions: Sessions, name: str | None, every: bool, output: Path, fmt: str, database: Path
) -> list[tuple[Session | None, Path]]:
    """Which posters to write where."""
    if every:
        if not sessions:
            raise PosterError("--all-sessions: there are no sessions (set LIVREDOR_SESSIONS).")
        if output.suffix.lower().lstrip(".") in FORMATS or (
            output.exists() and not output.is_dir()
        ):
            raise PosterError(
                f"--all-sessions writes one file per session into a folder: {output} names a "
                "file. Give a folder, like -o posters/."
            )
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PosterError(problem(output / "poster", exc)) from None
        paths = [output / f"poster-{s.slug}.{fmt}" for s in sessions.items]
        for path in paths:
            check_target(path, database)
        return list(zip(sessions.items, paths, strict=True))
    check_target(output, database)
    if name is None:
        return [(None, output)]
    session = sessions.match(name)
    if session is None:
        known = ", ".join(s.slug for s in sessions.items) or "none: LIVREDOR_SESSIONS is not set"
        raise PosterError(f"--session {name}: no such session (known: {known}).")
    return [(session, output)]


async def make_posters(
    settings: Settings,
    output: Path,
    *,
    session: str | None = None,
    language: str | None = None,
    every: bool = False,
    fmt: str | None = None,
) -> int:
    """Write the poster(s); print what was written, or the one sentence that says why not."""
    try:
        sessions = Sessions.load(settings.sessions)
        fmt = (fmt or "pdf") if every else poster_format(output, fmt)
        targets = _targets(sessions, session, every, output, fmt, settings.database)
        if settings.bot_token is None:
            raise PosterError(
                "LIVREDOR_BOT_TOKEN is not set: the poster's link needs the bot's username, "
                "which Telegram gives for the token (from @BotFather)."
            )
        username = await bot_username(settings)
    except (PosterError, SessionsError, OutputError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG if isinstance(exc, SessionsError) else EXIT_PROBLEM
    lang = language or settings.default_language
    texts = Texts.load(settings.texts, settings.default_language)
    event = settings.event_name or texts.raw(lang, "poster.no_event")
    for target, path in targets:
        text = PosterText(
            event=event,
            sentence=texts.raw(lang, "poster.sentence"),
            link=deep_link(username, target),
            session=target.title(lang) if target else None,
        )
        try:
            with replacing(path, force=True) as temporary:
                write_poster(text, temporary, fmt)
        except OutputError as exc:
            print(exc, file=sys.stderr)
            return EXIT_PROBLEM
        print(f"Wrote {path}: {text.link}", file=sys.stderr)
    return EXIT_OK
