"""The livre d'or as a file, in one of ``FORMATS`` (``livredor export`` and ``/export``)."""

from __future__ import annotations

from collections.abc import Sequence

from config.settings import Settings
from storage import export
from storage.models import Testimonial

FORMATS = ("md", "html", "csv", "json")


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
