"""Read a livre d'or back into entries: the seed's plain-text layout and our own Markdown.

Two layouts, told apart by the first non-blank line (``#`` or ``**`` means Markdown):

**Plain text** (the ROUMICS 2012 seed)::

    Livre d'or                      <- optional title
    ROUMICS 2012 « ... »            <- optional event line
    François MOREAU                 <- name
    Coordinateur ...                <- 0 to 3 organisation lines (blank lines between allowed)
    « Je suis allé ...              <- the quote, see below

Before the first entry, a first line that reads "Livre d'or" (or "Guest book") is the title and
the next line, if a name line remains after it, the event line; otherwise only the lines that
one entry cannot hold (more than a name and three organisation lines) are taken as title and
event line, and a third such line is an error.

**Markdown** (what :func:`bot.book.formats.to_markdown` writes): ``# title``, ``## event``, then
per entry ``**Name**``, organisation lines as ``*line*`` (a trailing ``\\`` is a hard line
break), a blank line and the quote. User text is backslash-escaped, so no user line can start
with ``**`` and the bold name line is an unambiguous entry boundary.

Quote extraction rule (both layouts):

1. The quote starts at the first line, after the name and organisation lines, whose first
   character is «. That outer « and the spaces after it are removed.
2. Plain text: the quote ends at the first line where the running count of « minus » is <= 0
   and which ends with », optionally followed by punctuation among ``. , ; : ! ? …``.
   Markdown: the quote is every line up to the next ``**Name**`` line; it is closed when its
   last line ends that way.
3. When closed, that final » and the spaces before it are removed. Punctuation written after
   it (``intéressant ».``) moves inside the quote (``intéressant.``) unless the quote already
   ends with ``. ! ? …``, in which case it is dropped.
4. Missing closing » (plain text): the quote runs up to the next *entry head* (a blank line,
   then one to four short lines that do not end with punctuation, the first one without « »,
   then a line starting with «), or to the end of the text. An entry head also ends a quote
   whose « » already balance out before any closing line. Nothing is removed at its end, and
   the outer « is removed only if it is unmatched (``« Bravo » à tous`` keeps its «).
5. Lines are stripped; lines of one paragraph are joined by ``\\n``, paragraphs by ``\\n\\n``.

The text is normalised to NFC, with ``\\r\\n`` and ``\\r`` read as line ends. Writing entries
with ``to_markdown`` and parsing them back gives equal entries (``BookEntry.line`` is not
compared).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

from storage import fields
from storage.models import Signature

MAX_ORGANISATION_LINES = fields.ORGANISATION_LINES_MAX
_CLOSING_PUNCT = ".,;:!?…"
_SENTENCE_END = ".!?…"
_TITLE = re.compile(r"(livre d['’]or|guest ?book|golden book)\b", re.IGNORECASE)
# The longest name/organisation line we accept as an entry head when recovering from a quote
# with no closing »; real ones are under 100 characters, quote paragraphs are longer.
_HEAD_MAX_CHARS = 150
_MD_HEADING_END = re.compile(r"(?:^|\s+)#+$")
# An escaped character, or a link (the writer escapes every [ of user text, so an unescaped
# one opens a link), scanned from the left so that ``\\[`` is a backslash, then a link.
_MD_TOKEN = re.compile(
    r"\\(?P<char>[!-/:-@\[-`{-~])"
    r"|\[(?P<text>(?:[^\\\[\]]|\\.)+)\]\(<(?:[^\\<>\n]|\\.)*>\)"
)


class BookFormatError(ValueError):
    """A line of a book that the parser cannot place."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(slots=True)
class BookEntry:
    """One testimonial as read from a book or an export file."""

    name: str
    organisation_lines: list[str]
    quote: str
    line: int = field(default=0, compare=False)  # 1-based line (or record) it starts at
    # How it is signed in public: read from our CSV and JSON (a book shows only the
    # signature, so an entry read from one is signed with what it shows).
    signature: Signature = Signature.FULL

    @property
    def organisation(self) -> str:
        """Return the organisation lines joined as ``Testimonial.organisation`` stores them."""
        return "\n".join(self.organisation_lines)

    @property
    def import_key(self) -> str:
        """Return the stable key of this entry (see :func:`import_key`)."""
        return import_key(self.name, self.organisation, self.quote)


@dataclass(slots=True)
class Book:
    """A parsed livre d'or: title, event line and entries in order."""

    title: str | None
    event: str | None
    entries: list[BookEntry]


def import_key(name: str, organisation: str, quote: str) -> str:
    """Return a sha256 hex key of the NFC, whitespace-collapsed name, organisation and quote.

    The organisation is part of the key so that two "Guillaume" saying "Merci !" from two
    organisations are not merged; whitespace and paragraph changes do not change the key.
    """
    parts = (" ".join(unicodedata.normalize("NFC", p).split()) for p in (name, organisation, quote))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def normalize_name(text: str) -> str:
    """Return the name as the parser gives it back: NFC, one line, single spaces."""
    return " ".join(fields.clean(text).split())


def normalize_organisation(text: str) -> list[str]:
    """Return the organisation lines as the parser gives them back: NFC, stripped, no blanks."""
    lines = (line.strip() for line in _lines(fields.clean(text)))
    return [line for line in lines if line]


def normalize_quote(text: str) -> str:
    """Return the quote as the parser gives it back: NFC, lines stripped, one blank line max."""
    paragraphs = split_paragraphs(fields.clean(text))
    return "\n\n".join("\n".join(lines) for lines in paragraphs)


def split_paragraphs(text: str) -> list[list[str]]:
    """Split text into paragraphs of stripped, non-empty lines."""
    paragraphs: list[list[str]] = [[]]
    for raw in _lines(text):
        line = raw.strip()
        if line:
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def make_entry(
    name: str,
    organisation: str | list[str],
    quote: str,
    line: int,
    signature: Signature = Signature.FULL,
) -> BookEntry:
    """Build a normalised entry, or raise :class:`BookFormatError` if it cannot be one.

    The field rules are :mod:`storage.fields`'s, the same as the bot's (the quote is checked
    against the highest limit here; ``livredor import`` checks the configured one).
    """
    if not isinstance(organisation, str):
        organisation = "\n".join(organisation)
    try:
        clean_name = fields.name(name)
        orgs = fields.organisation_lines(organisation)
        clean_quote = normalize_quote(fields.quote(quote, fields.QUOTE_MAX_CEILING))
    except fields.FieldError as exc:
        raise BookFormatError(line, _PROBLEMS.get(exc.problem, str(exc))) from None
    return BookEntry(clean_name, orgs, clean_quote, line, signature)


_PROBLEMS = {
    "name_empty": "entry without a name",
    "organisation_too_many_lines": "more than three organisation lines",
    "quote_empty": "entry without a quote",
}


def parse_book(text: str, *, markdown: bool | None = None) -> Book:
    """Parse a livre d'or (plain text or Markdown, auto-detected when ``markdown`` is None)."""
    lines = [line.strip() for line in _lines(unicodedata.normalize("NFC", text).lstrip("\ufeff"))]
    if markdown is None:
        first = next((line for line in lines if line), "")
        markdown = first.startswith(("#", "**"))
    return _parse_markdown(lines) if markdown else _parse_text(lines)


def _lines(text: str) -> list[str]:
    # Not str.splitlines(): it also splits on U+2028, \x0c... which belong to the text.
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _depth(line: str) -> int:
    return line.count("«") - line.count("»")


def _closing_split(line: str) -> tuple[str, str] | None:
    """Split ``text ».`` into (``text »``, ``.``) if the line ends with », else None."""
    body = line.rstrip(_CLOSING_PUNCT + " ")
    if not body.endswith("»"):
        return None
    return body, line[len(body) :].replace(" ", "")


def _extract_quote(quote_lines: list[str], closed: bool) -> str:
    """Apply the quote rule to the lines of one quote (the first one starts with «)."""
    lines = list(quote_lines)
    while lines and not lines[-1]:
        lines.pop()
    if closed:
        split = _closing_split(lines[-1])
        assert split is not None  # callers say closed only when the last line ends with »
        body, punct = split
        lines[-1] = body[:-1].rstrip()
        if punct and not lines[-1].endswith(tuple(_SENTENCE_END)):
            lines[-1] += punct
        lines[0] = lines[0][1:].lstrip()
    elif sum(_depth(line) for line in lines) > 0:
        lines[0] = lines[0][1:].lstrip()
    return normalize_quote("\n".join(lines))


def _parse_text(lines: list[str]) -> Book:
    n = len(lines)
    first_quote = next((i for i, line in enumerate(lines) if line.startswith("«")), n)
    before = [i for i in range(first_quote) if lines[i]]
    title = event = None
    start = before[0] if before else first_quote
    extra = len(before) - 1 - MAX_ORGANISATION_LINES  # lines an entry cannot hold
    if extra > 2:
        raise BookFormatError(
            before[2] + 1,
            "cannot place this line: before the first entry there may only be a title and an "
            "event line",
        )
    header = max(extra, 0)
    if len(before) >= 2 and _TITLE.match(lines[before[0]]):
        # A title recognised by its words is followed by the event line if a name remains.
        header = max(header, 2 if len(before) >= 3 else 1)
    if header >= 1:
        title = lines[before[0]]
    if header >= 2:
        event = lines[before[1]]
    if header > 0:
        start = before[header]
    entries: list[BookEntry] = []
    i = start
    while i < n:
        if not lines[i]:
            i += 1
            continue
        entry, i = _text_entry(lines, i)
        entries.append(entry)
    return Book(title, event, entries)


def _text_entry(lines: list[str], i: int) -> tuple[BookEntry, int]:
    """Read the entry whose name is on line ``i``; return it and the index after it."""
    name_at = i
    if lines[i].startswith("«"):
        raise BookFormatError(i + 1, "a quote without a name before it")
    orgs: list[str] = []
    i += 1
    while i < len(lines) and not lines[i].startswith("«"):
        if lines[i]:
            if len(orgs) == MAX_ORGANISATION_LINES:
                raise BookFormatError(
                    i + 1,
                    "more than three organisation lines (or a quote that does not start with «)",
                )
            orgs.append(lines[i])
        i += 1
    if i == len(lines):
        raise BookFormatError(name_at + 1, "entry has a name but no quote starting with «")
    quote_at, depth = i, 0
    while i < len(lines):
        if depth <= 0 and i > quote_at and _is_head(lines, i):
            # The outer « was matched inside a line (« Bravo » à tous): no » to wait for.
            break
        depth += _depth(lines[i])
        if depth <= 0 and _closing_split(lines[i]) is not None:
            quote = _extract_quote(lines[quote_at : i + 1], closed=True)
            return make_entry(lines[name_at], orgs, quote, name_at + 1), i + 1
        i += 1
    else:
        # Still open at the end: the closing » is missing; stop at the next entry head.
        i = next((p for p in range(quote_at + 1, len(lines)) if _is_head(lines, p)), i)
    quote = _extract_quote(lines[quote_at:i], closed=False)
    return make_entry(lines[name_at], orgs, quote, name_at + 1), i


def _is_head(lines: list[str], p: int) -> bool:
    """Tell whether an entry (name, organisation lines, « line) starts at line ``p``.

    Used only where a quote has no closing »: after a blank line, one to four short lines
    that do not end like a sentence, the first without guillemets, then a line starting «.
    """
    if not lines[p] or lines[p - 1] or "«" in lines[p] or "»" in lines[p]:
        return False
    heads = 0
    for q in range(p, len(lines)):  # indices, not lines[p:]: no copy per call
        line = lines[q]
        if line.startswith("«"):
            return True
        if line:
            heads += 1
            too_long = len(line) > _HEAD_MAX_CHARS
            if (
                too_long
                or line.endswith(tuple(_CLOSING_PUNCT))
                or heads > 1 + MAX_ORGANISATION_LINES
            ):
                return False
    return False


def _md_unescape(line: str) -> str:
    """Return the text of a Markdown line as typed: escapes undone, and an explicit link
    (what the writer makes of a URL, ``[text](<target>)``) read as its text."""
    return _MD_TOKEN.sub(lambda m: _md_unescape(m["text"]) if m["text"] else m["char"], line)


def _md_line(line: str) -> str:
    """Drop a trailing hard-break backslash (an odd run of ``\\`` at the end)."""
    run = len(line) - len(line.rstrip("\\"))
    return line[:-1].rstrip() if run % 2 else line


def _md_wrapped(line: str, mark: str) -> str | None:
    """Return the inside of ``**x**`` / ``*x*`` (escapes kept), or None."""
    if not (line.startswith(mark) and line.endswith(mark) and len(line) >= 2 * len(mark) + 1):
        return None
    inner = line[len(mark) : -len(mark)]
    if mark == "*" and inner.startswith("*"):
        return None
    # The closing mark must not be an escaped ``\*``: count the backslashes before it.
    run = len(inner) - len(inner.rstrip("\\"))
    return None if run % 2 else inner


def _parse_markdown(lines: list[str]) -> Book:
    lines = [_md_line(line) for line in lines]
    n, i = len(lines), 0
    title = event = None
    while i < n and not lines[i].startswith("**"):
        line = lines[i]
        if line.startswith("###"):
            pass  # a session heading (bot/book/formats.py): not part of any entry
        elif line.startswith("#"):
            # A closing run of # after a space is ATX syntax; the writer escapes real ones.
            text = _md_unescape(_MD_HEADING_END.sub("", line.lstrip("#").strip()))
            if title is None:
                title = text
            elif event is None:
                event = text
            else:
                raise BookFormatError(i + 1, "a third heading before the first entry")
        elif line:
            raise BookFormatError(
                i + 1, "cannot place this line: expected a heading or an entry name (**Name**)"
            )
        i += 1
    starts = [j for j in range(i, n) if lines[j].startswith("**")]
    # An entry ends at the next one or at a session heading: an unescaped # can start no
    # line of an entry (the writer escapes them).
    ends = [j for j in range(i, n) if lines[j].startswith(("**", "#"))] + [n]
    entries = [_md_entry(lines, s, next(e for e in ends if e > s)) for s in starts]
    return Book(title, event, entries)


def _md_entry(lines: list[str], start: int, end: int) -> BookEntry:
    name = _md_wrapped(lines[start], "**")
    if name is None:
        raise BookFormatError(start + 1, "an entry name must be a whole line in bold: **Name**")
    orgs: list[str] = []
    i = start + 1
    while i < end and not lines[i].startswith("«"):
        if lines[i]:
            if len(orgs) == MAX_ORGANISATION_LINES:
                raise BookFormatError(i + 1, "more than three organisation lines")
            inner = _md_wrapped(lines[i], "*")
            orgs.append(_md_unescape(lines[i] if inner is None else inner))
        i += 1
    if i == end:
        raise BookFormatError(start + 1, "entry has a name but no quote starting with «")
    quote_lines = lines[i:end]
    while not quote_lines[-1]:
        quote_lines.pop()
    closed = _closing_split(quote_lines[-1]) is not None
    # Unescape after extraction would also unescape the outer marks' neighbours; they are
    # never escaped, so doing it line by line first is equivalent and simpler.
    quote = _extract_quote([_md_unescape(line) for line in quote_lines], closed)
    return make_entry(_md_unescape(name), orgs, quote, start + 1)
