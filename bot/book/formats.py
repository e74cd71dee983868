"""Write the livre d'or: Markdown, HTML (a Jinja2 template), CSV and JSON.

Writers take the testimonials to print, already filtered and ordered by the caller.

Markdown is real CommonMark: user text is backslash-escaped (``*``, ``_``, ``<``, ``[`` ...
anywhere; ``#``, ``>``, ``-``, ``+``, ``=``, ``1.`` at a line start), so it renders as typed,
no user line can pass for a heading, list, HTML or an entry's ``**Name**`` line, and
:func:`bot.book.parse.parse_book` reads it back exactly. ``<http://...>`` autolinks are kept.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from bot.book.parse import (
    MAX_ORGANISATION_LINES,
    normalize_name,
    normalize_organisation,
    split_paragraphs,
)
from bot.services.links import post_link
from bot.services.signature import byline
from bot.services.texts import Texts
from bot.services.typography import QUOTE_CLOSE, QUOTE_OPEN, unframed
from storage.models import Testimonial

ChannelLinks = Callable[[Testimonial], Iterable[str]]
#: The title of a testimonial's session (None: none). The book's writers print a heading each
#: time it changes, so the caller orders the testimonials by session first.
SessionOf = Callable[[Testimonial], str | None]

#: A testimonial's portrait for the HTML book, as a ``data:`` URI (None: no photo).
PortraitOf = Callable[[Testimonial], str | None]
DEFAULT_TITLE = "Livre d’or"
# Our guillemets around a quote: a no-break space inside (the house rule of bot/texts/fr.toml).
GUILLEMET_OPEN = QUOTE_OPEN
GUILLEMET_CLOSE = QUOTE_CLOSE
CSV_COLUMNS = (
    "id",
    "status",
    "name",
    "organisation",
    "quote",
    "signature",
    "signed_name",
    "signed_organisation",
    "language",
    "created_at",
    "consent_at",
    # The consent as the attendee read it when they agreed (the JSON has it too).
    "consent_text",
    "submitted_at",
    "decided_at",
    "decided_by_name",
    "reject_reason",
    "approved_seq",
    "published_at",
    "channel_links",
    "source",
    "import_key",
    "session",
    "portrait",
)
JSON_FORMAT_VERSION = 1
#: Who the author is on Telegram: in the JSON only when asked for (``--with-identity``); the
#: book needs the name they gave, not their account.
IDENTITY_FIELDS = ("user_id", "author_name", "author_username")

# What a GFM renderer links by itself (its autolink extension: a scheme, www., an e-mail
# address): written as explicit links, so that no backslash escape lands inside one.
_MD_LINK = re.compile(
    r"(?P<url>(?:https?|ftp)://[^\s<>«»\"]*[^\s<>«»\".,;:!?)\]'*_~])"
    r"|(?P<www>(?<![\w.@/-])www\.[^\s<>«»\"]*[^\s<>«»\".,;:!?)\]'*_~])"
    r"|(?P<mail>(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[\w-]*[^\W_])",
    re.IGNORECASE,
)
_MD_INLINE = re.compile(r"[\\`*_\[\]<~|]")
_MD_ENTITY = re.compile(r"&(?=#\d{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
_MD_LINE_START = re.compile(r"^(?:([#>+=-])|(\d{1,9})([.)]))")
_URL = re.compile(r"https?://[^\s<>«»\"]*[^\s<>«»\".,;:!?)\]]", re.IGNORECASE)
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def _layout(t: Testimonial, texts: Texts | None) -> tuple[str, list[str], list[list[str]]]:
    """Return the name and at most three organisation lines, as the author chose to sign
    (``texts``: "a participant" in their language), and the quote's paragraphs (without the
    quotation marks an attendee put around all of it: the book adds its own)."""
    name, organisation = byline(t, texts)
    orgs = normalize_organisation(organisation)
    if len(orgs) > MAX_ORGANISATION_LINES:
        # The book holds three lines; merge the rest rather than fail the export.
        orgs = [*orgs[: MAX_ORGANISATION_LINES - 1], " - ".join(orgs[MAX_ORGANISATION_LINES - 1 :])]
    return normalize_name(name), orgs, split_paragraphs(unframed(t.quote))


# --- Markdown -------------------------------------------------------------------------------


def _md_inline(text: str) -> str:
    """Escape user text for a Markdown line: every character shows as typed, in CommonMark
    and under GFM's autolinking. A URL or an address is an explicit link whose text is the
    one typed (``[a\\_b.org](<http://a_b.org>)``); brackets typed around it stay brackets."""
    out: list[str] = []
    last = 0
    for link in _MD_LINK.finditer(text):
        end = _link_end(text, link.start(), link.end())
        typed = text[link.start() : end]
        target = f"http://{typed}" if link["www"] else f"mailto:{typed}" if link["mail"] else typed
        target = target.replace("\\", "\\\\").replace("&", "\\&")
        out += [_md_plain(text[last : link.start()]), f"[{_md_plain(typed)}](<{target}>)"]
        last = end
    out.append(_md_plain(text[last:]))
    return "".join(out)


def _link_end(text: str, start: int, end: int) -> int:
    """Extend a link over the ``)`` that close a ``(`` inside it (``wiki/Foo_(bar)``), as
    GFM does; a ``)`` after a link that opened none stays text: ``(voir http://x.org)``."""
    while text[end : end + 1] == ")" and text.count("(", start, end) > text.count(")", start, end):
        end += 1
    return end


def _md_plain(text: str) -> str:
    return _MD_ENTITY.sub(r"\\&", _MD_INLINE.sub(lambda m: "\\" + m.group(), text))


def _md_line(text: str) -> str:
    """Escape one line of user text that starts a Markdown line."""
    escaped = _md_inline(text)
    return _MD_LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", escaped)


def _md_heading(text: str) -> str:
    # Every # escaped: a trailing run would otherwise be read as the heading's closing marks.
    return _md_inline(normalize_name(text)).replace("#", "\\#")


def _session_headings(
    testimonials: Iterable[Testimonial], session_of: SessionOf | None
) -> Iterator[tuple[Testimonial, str | None]]:
    """Pair each testimonial with the session heading printed before it (None: no heading).
    ``session_of`` is None when no testimonial has a session (no headings at all)."""
    previous: str | None = None
    for i, t in enumerate(testimonials):
        if session_of is None:
            yield t, None
            continue
        session = session_of(t)
        yield t, session if i == 0 or session != previous else None
        previous = session


def _grouping(
    testimonials: Sequence[Testimonial], session_of: SessionOf | None
) -> SessionOf | None:
    """``session_of`` if some testimonial has a session, else None (no headings)."""
    if session_of is None or not any(session_of(t) for t in testimonials):
        return None
    return session_of


def to_markdown(
    testimonials: Sequence[Testimonial],
    event_name: str,
    *,
    title: str = DEFAULT_TITLE,
    session_of: SessionOf | None = None,
    texts: Texts | None = None,
) -> str:
    """Return the book in Markdown, laid out like the seed and readable by ``parse_book``
    (session headings are ``###`` lines, which ``parse_book`` skips). Each testimonial is
    signed as its author chose (``texts``: the organisers', else the built-in ones)."""
    grouped = _grouping(testimonials, session_of)
    return "".join(
        iter_markdown(testimonials, event_name, title=title, session_of=grouped, texts=texts)
    )


def iter_markdown(
    testimonials: Iterable[Testimonial],
    event_name: str,
    *,
    title: str = DEFAULT_TITLE,
    session_of: SessionOf | None = None,
    texts: Texts | None = None,
) -> Iterator[str]:
    """Yield :func:`to_markdown`'s text a piece at a time (``session_of``: None when no
    testimonial has a session)."""
    out = [f"# {_md_heading(title)}", ""]
    if normalize_name(event_name):
        out += [f"## {_md_heading(event_name)}", ""]
    yield "\n".join(out)
    for t, heading in _session_headings(testimonials, session_of):
        out = []
        if heading:
            out += [f"### {_md_heading(heading)}", ""]
        name, orgs, paragraphs = _layout(t, texts)
        head = [f"**{_md_inline(name)}**", *(f"*{_md_inline(o)}*" for o in orgs)]
        out += [line + "\\" for line in head[:-1]] + [head[-1], ""]
        body = [[_md_line(line) for line in p] for p in paragraphs] or [[""]]
        # The guillemets are ours, so they follow the French rule (no-break space inside);
        # the attendee's words between them are printed as typed.
        body[0][0] = f"{GUILLEMET_OPEN}{body[0][0]}"
        body[-1][-1] = f"{body[-1][-1]}{GUILLEMET_CLOSE}"
        for paragraph in body:
            # A trailing backslash is CommonMark's hard line break: the line breaks survive.
            out += [line + "\\" for line in paragraph[:-1]] + [paragraph[-1], ""]
        yield "\n" + "\n".join(out)


# --- HTML -----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # autoescape=True, not select_autoescape(): the ".j2" suffix would turn escaping off.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _segments(line: str) -> list[tuple[str, str]]:
    """Split a line into ("text", ...) and ("link", url) parts; only http(s) is linked."""
    parts: list[tuple[str, str]] = []
    last = 0
    for url in _URL.finditer(line):
        end = _link_end(line, url.start(), url.end())
        parts += [("text", line[last : url.start()]), ("link", line[url.start() : end])]
        last = end
    parts.append(("text", line[last:]))
    return [p for p in parts if p[1]]


def to_html(
    testimonials: Sequence[Testimonial],
    event_name: str,
    *,
    title: str = DEFAULT_TITLE,
    lang: str = "fr",
    session_of: SessionOf | None = None,
    texts: Texts | None = None,
) -> str:
    """Return the book as one self-contained HTML page that prints on A4, each testimonial
    signed as its author chose."""
    grouped = _grouping(testimonials, session_of)
    return "".join(
        iter_html(testimonials, event_name, title=title, lang=lang, session_of=grouped, texts=texts)
    )


def _html_entry(
    t: Testimonial, heading: str | None, texts: Texts | None, portrait: str | None
) -> dict[str, Any]:
    name, orgs, paragraphs = _layout(t, texts)
    return {
        "session": heading,
        "portrait": portrait,
        "name": name,
        "org_lines": orgs,
        "paragraphs": [[_segments(line) for line in p] for p in paragraphs] or [[[]]],
    }


def iter_html(
    testimonials: Iterable[Testimonial],
    event_name: str,
    *,
    title: str = DEFAULT_TITLE,
    lang: str = "fr",
    session_of: SessionOf | None = None,
    texts: Texts | None = None,
    portrait_of: PortraitOf | None = None,
) -> Iterator[str]:
    """Yield :func:`to_html`'s page a piece at a time (Jinja's ``generate``);
    ``portrait_of``: a testimonial's photo as a ``data:`` URI (the page stays one file)."""
    entries = (
        _html_entry(t, heading, texts, portrait_of(t) if portrait_of else None)
        for t, heading in _session_headings(testimonials, session_of)
    )
    template = _environment().get_template("book.html.j2")
    yield from template.generate(
        title=title, event=normalize_name(event_name), lang=lang, entries=entries
    )


# --- CSV and JSON ---------------------------------------------------------------------------


def telegram_links(channel: str | int, username: str | None = None) -> ChannelLinks:
    """Return a ``channel_links`` function for ``LIVREDOR_CHANNEL_ID`` (``@name``, ``name``
    or a ``-100...`` id) and the channel's public username if known: the links the author
    and the organisers were given (``bot.services.links``)."""

    def links(t: Testimonial) -> list[str]:
        found = (post_link(channel, message_id, username) for message_id in t.channel_message_ids)
        return [link for link in found if link]

    return links


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(
    testimonials: Iterable[Testimonial],
    event_name: str = "",
    *,
    channel_links: ChannelLinks | None = None,
    bom: bool = True,
    session_of: SessionOf | None = None,
    texts: Texts | None = None,
) -> str:
    """Return one CSV row per testimonial under a header row (columns: ``CSV_COLUMNS``).

    Multi-line cells keep their ``\\n``; rows end with ``\\r\\n`` (write with ``newline=""``).
    A cell starting with ``= + - @ '`` or a tab gets a leading ``'`` so that spreadsheets do
    not run it; the import (``bot.book.imports``) removes it. ``bom`` lets Excel see UTF-8.
    ``name`` and ``organisation`` are as given; ``signed_name`` and ``signed_organisation``
    as the public sees them (``signature``: how the author chose to sign).
    The event name is not a column (every row would repeat it); it is accepted for a uniform
    signature.
    """
    chunks = iter_csv(
        testimonials, event_name, channel_links=channel_links, session_of=session_of, texts=texts
    )
    return ("\ufeff" if bom else "") + "".join(chunks)


def iter_csv(
    testimonials: Iterable[Testimonial],
    event_name: str = "",
    *,
    channel_links: ChannelLinks | None = None,
    session_of: SessionOf | None = None,
    texts: Texts | None = None,
    portrait_path: PortraitOf | None = None,
) -> Iterator[str]:
    """Yield :func:`to_csv`'s rows (without the byte order mark) a few at a time
    (``portrait_path``: where a testimonial's photo is, beside the file: the zip format)."""
    del event_name
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for i, t in enumerate(testimonials, start=1):
        row: dict[str, object] = {c: getattr(t, c, None) for c in CSV_COLUMNS}
        row["channel_links"] = "\n".join(channel_links(t)) if channel_links else None
        row["session"] = session_of(t) if session_of else None
        row["signed_name"], row["signed_organisation"] = byline(t, texts)
        row["portrait"] = portrait_path(t) if portrait_path else None
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _json_value(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value


def to_json(
    testimonials: Sequence[Testimonial],
    event_name: str,
    *,
    channel_links: ChannelLinks | None = None,
    exported_at: datetime | None = None,
    session_of: SessionOf | None = None,
    texts: Texts | None = None,
) -> str:
    """Return every field of every testimonial, with ``event`` and ``exported_at`` on top,
    and the name and organisation as signed (``signed_name``, ``signed_organisation``)."""
    return "".join(
        iter_json(
            testimonials,
            len(testimonials),
            event_name,
            channel_links=channel_links,
            exported_at=exported_at,
            session_of=session_of,
            texts=texts,
        )
    )


def iter_json(
    testimonials: Iterable[Testimonial],
    count: int,
    event_name: str,
    *,
    channel_links: ChannelLinks | None = None,
    exported_at: datetime | None = None,
    session_of: SessionOf | None = None,
    with_identity: bool = False,
    texts: Texts | None = None,
    portrait_path: PortraitOf | None = None,
) -> Iterator[str]:
    """Yield :func:`to_json`'s document a testimonial at a time, byte for byte what
    ``json.dumps(document, indent=2)`` writes (``count``: how many ``testimonials`` yields).
    The author's Telegram account (``IDENTITY_FIELDS``) only ``with_identity``; the photo as
    a path beside the file with ``portrait_path`` (the zip format), else its file's name."""
    head = {
        "event": event_name,
        "exported_at": (exported_at or datetime.now(UTC)).isoformat(),
        "format": "livredor",
        "version": JSON_FORMAT_VERSION,
        "count": count,
        "testimonials": [],
    }
    text = json.dumps(head, ensure_ascii=False, indent=2)
    if count == 0:
        yield text + "\n"
        return
    yield text.removesuffix("[]\n}") + "["
    for i, t in enumerate(testimonials):
        item = {
            f.name: _json_value(getattr(t, f.name))
            for f in dataclasses.fields(t)
            if with_identity or f.name not in IDENTITY_FIELDS
        }
        if channel_links:
            item["channel_links"] = list(channel_links(t))
        item["session"] = session_of(t) if session_of else None
        item["signed_name"], item["signed_organisation"] = byline(t, texts)
        if portrait_path:
            item["portrait"] = portrait_path(t)
        dumped = json.dumps(item, ensure_ascii=False, indent=2).replace("\n", "\n    ")
        yield ("\n    " if i == 0 else ",\n    ") + dumped
    yield "\n  ]\n}\n"
