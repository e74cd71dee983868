"""The livre d'or as a file, in one of ``FORMATS`` (``livredor export`` and ``/export``)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.services.sessions import Sessions
from bot.services.texts import Texts
from config.settings import Settings
from storage import export
from storage.models import Testimonial

FORMATS = ("md", "html", "csv", "json")


def render_book(testimonials: Sequence[Testimonial], fmt: str, settings: Settings) -> str:
    """Return the book in one of ``FORMATS``. With sessions (``LIVREDOR_SESSIONS``), the
    book is grouped by session in the file's order, the rest last (each group keeps the
    requested order), and CSV/JSON have the session's title in a ``session`` column."""
    event = settings.event_name
    links = export.telegram_links(settings.channel_id) if settings.channel_id else None
    sessions = Sessions.load(settings.sessions)
    lang = settings.default_language
    testimonials = sorted(testimonials, key=lambda t: sessions.rank(t.start_payload))

    def title(t: Testimonial) -> str | None:
        return sessions.title(t.start_payload, lang)

    def heading(t: Testimonial) -> str | None:
        return title(t) or other

    grouped = None
    if any(title(t) for t in testimonials):
        other = Texts.load(settings.texts, lang).raw(lang, "book.other_sessions")
        grouped = heading
    if fmt == "md":
        return export.to_markdown(testimonials, event, session_of=grouped)
    if fmt == "html":
        return export.to_html(testimonials, event, lang=lang, session_of=grouped)
    if fmt == "csv":
        return export.to_csv(testimonials, event, channel_links=links, session_of=title)
    if fmt == "json":
        return export.to_json(testimonials, event, channel_links=links, session_of=title)
    raise ValueError(f"unknown format {fmt!r}")


def book_filename(fmt: str) -> str:
    """Return the file name of an exported book."""
    return f"livre-dor.{fmt}"
