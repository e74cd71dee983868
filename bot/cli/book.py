"""``livredor export`` and ``livredor import``: the livre d'or from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.book.files import render_book
from bot.book.imports import read_entries
from bot.book.parse import BookFormatError
from config.settings import Settings
from storage.database import Database
from storage.testimonials import Repository
from storage.textlength import telegram_length


async def export_book(settings: Settings, fmt: str, order: str, output: Path | None) -> int:
    """``livredor export``: write the approved testimonials to ``output`` or stdout."""
    if not settings.database.is_file():
        print(f"No database at {settings.database} (set LIVREDOR_DATABASE).", file=sys.stderr)
        return 1
    db = await Database.open(settings.database)
    try:
        testimonials = await Repository(db).list_for_book(order)
    finally:
        await db.close()
    text = render_book(testimonials, fmt, settings)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        # newline="" keeps the CSV's own \r\n line ends.
        output.write_text(text, encoding="utf-8", newline="")  # noqa: ASYNC240 - a CLI
        print(f"Wrote {len(testimonials)} testimonial(s) to {output}.", file=sys.stderr)
    return 0


async def import_book(
    settings: Settings, path: Path, fmt: str, publish: bool, language: str | None
) -> int:
    """``livredor import``: store a book's entries as approved (and queue them with
    ``--publish``), all or nothing; entries already imported are skipped."""
    if not path.is_file():  # noqa: ASYNC240 - a CLI, nothing else runs
        print(f"No such file: {path}", file=sys.stderr)
        return 1
    try:
        entries = read_entries(path, fmt)  # type: ignore[arg-type]
    except BookFormatError as exc:
        print(f"{path}:{exc.line}: {exc.message}", file=sys.stderr)
        return 1
    except (ValueError, UnicodeDecodeError) as exc:
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
            [(e.import_key, e.name, e.organisation, e.quote) for e in entries],
            language=language or settings.default_language,
            publish=publish,
        )
    finally:
        await db.close()
    queued = " and queued for the channel (the running bot posts them)" if publish else ""
    print(
        f"Imported {added} testimonial(s){queued}; {skipped} already there.",
        file=sys.stderr,
    )
    return 0
