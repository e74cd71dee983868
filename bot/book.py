"""The livre d'or from the command line and the organisers' group: export and import."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from config.settings import Settings
from storage import export
from storage.book import BookFormatError
from storage.database import Database
from storage.models import Testimonial
from storage.testimonials import Repository

FORMATS = ("md", "html", "csv", "json")
MIME = {
    "md": "text/markdown",
    "html": "text/html",
    "csv": "text/csv",
    "json": "application/json",
}


def render_book(testimonials: Sequence[Testimonial], fmt: str, settings: Settings) -> str:
    """Return the book in one of ``FORMATS``."""
    event = settings.event_name
    links = export.telegram_links(settings.channel_id) if settings.channel_id else None
    if fmt == "md":
        return export.to_markdown(testimonials, event)
    if fmt == "html":
        return export.to_html(testimonials, event, lang=settings.default_language)
    if fmt == "csv":
        return export.to_csv(testimonials, event, channel_links=links)
    if fmt == "json":
        return export.to_json(testimonials, event, channel_links=links)
    raise ValueError(f"unknown format {fmt!r}")


def book_filename(fmt: str) -> str:
    """Return the file name of an exported book."""
    return f"livre-dor.{fmt}"


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
        entries = export.read_entries(path, fmt)  # type: ignore[arg-type]
    except BookFormatError as exc:
        print(f"{path}:{exc.line}: {exc.message}", file=sys.stderr)
        return 1
    except (ValueError, UnicodeDecodeError) as exc:
        print(f"{path}: {exc}", file=sys.stderr)
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
