"""``livredor export`` and ``livredor import``: the livre d'or from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.book.files import render_book, write_zip
from bot.book.imports import read_entries
from bot.book.parse import BookFormatError
from bot.cli.outputs import OutputError, check_target, replacing
from bot.cli.wording import counted
from bot.services.links import USERNAME_KEY
from config.settings import Settings
from storage.database import Database
from storage.testimonials import Repository
from storage.textlength import telegram_length

NOT_TEXT = (
    "{path} is not a text file (a document or an image?): save the book as .txt, .md, .csv "
    "or .json, then import that."
)
#: The format a file name's extension names (``livredor.html`` is HTML, not Markdown).
EXTENSIONS = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}
EXTENSIONS |= {".csv": "csv", ".json": "json", ".zip": "zip"}


def export_format(fmt: str | None, output: Path | None) -> str:
    """``--format``, else the one the output's extension names, else Markdown."""
    if fmt is not None:
        return fmt
    return EXTENSIONS.get(output.suffix.lower(), "md") if output is not None else "md"


async def export_book(
    settings: Settings,
    fmt: str | None,
    order: str,
    output: Path | None,
    *,
    force: bool = False,
    with_identity: bool = False,
) -> int:
    """``livredor export``: write the approved testimonials to ``output`` or stdout. A file
    is never the database (nor any SQLite file), replaces an existing one only with
    ``force``, is written private (0600: names and words) under a temporary name renamed at
    the end."""
    if not settings.database.is_file():
        print(f"No database at {settings.database} (set LIVREDOR_DATABASE).", file=sys.stderr)
        return 1
    fmt = export_format(fmt, output)
    try:
        if output is not None:
            check_target(output, settings.database)
        db = await Database.open(settings.database)
        try:
            repo = Repository(db)
            testimonials = await repo.list_for_book(order)
            username = await repo.get_state(USERNAME_KEY)  # kept by `livredor run`
        finally:
            await db.close()
        if fmt == "zip":
            if output is None:
                print(
                    "The zip format is a file: name it with -o (like -o book.zip).", file=sys.stderr
                )
                return 2
            with replacing(output, force=force) as temporary:
                write_zip(
                    testimonials,
                    settings,
                    temporary,
                    with_identity=with_identity,
                    channel_username=username,
                )
            wrote = counted(len(testimonials), "testimonial")
            print(f"Wrote {wrote} to {output}.", file=sys.stderr)
            return 0
        text = render_book(
            testimonials, fmt, settings, with_identity=with_identity, channel_username=username
        )
        if output is None:
            sys.stdout.write(text)
            sys.stdout.flush()
            return 0
        with replacing(output, force=force) as temporary:
            # newline="" keeps the CSV's own \r\n line ends.
            temporary.write_text(text, encoding="utf-8", newline="")
    except OutputError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"Wrote {counted(len(testimonials), 'testimonial')} to {output}.", file=sys.stderr)
    return 0


async def import_book(
    settings: Settings, path: Path, fmt: str, publish: bool, language: str | None
) -> int:
    """``livredor import``: store a book's entries as approved (and queue them with
    ``--publish``), all or nothing; entries already imported are skipped."""
    if not path.is_file():  # noqa: ASYNC240 - a CLI, nothing else runs
        print(f"No such file: {path}", file=sys.stderr)
        return 1
    with path.open("rb") as handle:
        if b"\0" in handle.read(65536):  # a text file has no NUL: a .docx, a PDF, a photo
            print(NOT_TEXT.format(path=path), file=sys.stderr)
            return 1
    try:
        entries = read_entries(path, fmt)  # type: ignore[arg-type]
    except BookFormatError as exc:
        print(f"{path}:{exc.line}: {exc.message}", file=sys.stderr)
        return 1
    except UnicodeDecodeError:
        print(NOT_TEXT.format(path=path), file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    for entry in entries:
        # The book's own rules are checked while reading; the quote limit is this bot's.
        if telegram_length(entry.quote) > settings.quote_max_chars:
            print(
                f"{path}:{entry.line}: quote of {telegram_length(entry.quote)} characters, over"
                f" LIVREDOR_QUOTE_MAX_CHARS ({settings.quote_max_chars}); nothing imported.",
                file=sys.stderr,
            )
            return 1
    db = await Database.open(settings.database)
    try:
        added, skipped = await Repository(db).import_entries(
            [(e.import_key, e.name, e.organisation, e.quote, e.signature) for e in entries],
            language=language or settings.default_language,
            publish=publish,
        )
    finally:
        await db.close()
    queued = " and queued for the channel (the running bot posts them)" if publish else ""
    print(
        f"Imported {counted(added, 'testimonial')}{queued}; {skipped:,} already there.",
        file=sys.stderr,
    )
    return 0
