"""Telegram HTML for channel posts and cards, and splitting of texts too long for one message.

Pure functions: no Telegram calls and no sentences (the part marker is a format string).

A post mirrors the livre d'or::

    <b>Name</b>
    <i>Organisation line</i>

    « First paragraph.

    Last paragraph. »

    #HASHTAG

with a no-break space (U+00A0) inside the « ».

Splitting contract (see ``join_parts_plain``): every part but the last is a slice of the full
text, ending with the whitespace it was cut at, followed directly by the marker; the last part
is the final slice, then ``"\\n\\n"`` and the marker. Dropping those suffixes and concatenating
the parts' plain texts gives back the full post's plain text exactly.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence

from markupsafe import escape
from telegram.constants import MessageLimit

from bot.services.typography import QUOTE_CLOSE, QUOTE_OPEN, unframed
from storage.textlength import telegram_length

TELEGRAM_LIMIT = MessageLimit.MAX_TEXT_LENGTH
#: Below Telegram's limit, so a small disagreement between our count and theirs is harmless.
DEFAULT_LIMIT = 4000
DEFAULT_MARKER = "({i}/{n})"
GUILLEMET_OPEN = QUOTE_OPEN
GUILLEMET_CLOSE = QUOTE_CLOSE
_LAST_SEP = "\n\n"
Hashtags = str | Sequence[str] | None  # between the last part's text and its marker

# A tag, an entity, or one character: the units that a cut never goes inside.
_TOKEN = re.compile(r"<[^>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);|.", re.S)
_NO_BREAK = frozenset("\u00a0\u202f\u2007\u2060\ufeff")  # the space inside « » is not a gap
_SENTENCE_END = frozenset(".!?…")
_CLOSERS = frozenset(")]»\"'’”\u00a0\u202f")
# Cut levels, best first; a part is cut at the best level that still fills half of it.
_PARAGRAPH, _LINE, _SENTENCE, _WORD, _HARD, _ANY = 5, 4, 3, 2, 1, 0


def post_header_html(name: str, organisation: str) -> str:
    """Return the name in bold, then each non-empty organisation line in italics."""
    lines = [f"<b>{_escape(name.strip())}</b>"] if name.strip() else []
    lines += [
        f"<i>{_escape(line.strip())}</i>" for line in organisation.split("\n") if line.strip()
    ]
    return "\n".join(lines)


def quote_paragraphs_html(quote: str, *, hashtag: Hashtags = None) -> list[str]:
    """Return the quote's paragraphs, escaped, inside « », and the hashtag(s) as a last one
    (``hashtag``: one tag, or a sequence of tags; non-word characters are dropped). A quote
    the attendee put in quotation marks keeps one pair: ours (``unframed``)."""
    quote = unframed(quote)
    # Trailing spaces and whitespace-only lines are invisible: drop them so blank lines
    # really separate paragraphs and no paragraph starts or ends with a gap.
    lines = [line.rstrip() for line in quote.replace("\r\n", "\n").split("\n")]
    paragraphs = [p.strip("\n") for p in re.split(r"\n{2,}", "\n".join(lines))]
    paragraphs = [_escape(p) for p in paragraphs if p.strip()]
    if paragraphs:
        paragraphs[0] = GUILLEMET_OPEN + paragraphs[0].lstrip()
        paragraphs[-1] += GUILLEMET_CLOSE
    given = [hashtag] if isinstance(hashtag, str) else list(hashtag or ())
    tags = [re.sub(r"\W", "", tag) for tag in given]
    line = " ".join(f"#{tag}" for tag in tags if tag)
    return [*paragraphs, line] if line else paragraphs


def post_html(name: str, organisation: str, quote: str, *, hashtag: Hashtags = None) -> str:
    """Return the whole channel post as one HTML text, whatever its length."""
    header = post_header_html(name, organisation)
    return _document(header, quote_paragraphs_html(quote, hashtag=hashtag))


def render_post_parts(
    name: str,
    organisation: str,
    quote: str,
    *,
    hashtag: Hashtags = None,
    limit: int = DEFAULT_LIMIT,
    marker: str = DEFAULT_MARKER,
) -> list[str]:
    """Return the channel post as one or more messages of at most ``limit`` UTF-16 units."""
    header = post_header_html(name, organisation)
    paragraphs = quote_paragraphs_html(quote, hashtag=hashtag)
    return split_html_paragraphs(header, paragraphs, limit=limit, marker=marker)


def join_parts_plain(plain_parts: list[str], *, marker: str = DEFAULT_MARKER) -> str:
    """Rebuild the full plain text from the parts' plain texts (the inverse of the split)."""
    n = len(plain_parts)
    if n == 1:
        return plain_parts[0]
    pieces = []
    for i, part in enumerate(plain_parts, start=1):
        suffix = (_LAST_SEP if i == n else "") + marker.format(i=i, n=n)
        if not part.endswith(suffix):
            raise ValueError(f"part {i} does not end with its marker {suffix!r}")
        pieces.append(part[: len(part) - len(suffix)])
    return "".join(pieces)


def plain_length(html_text: str) -> int:
    """Return the length Telegram counts for a text in HTML parse mode (its plain text, in
    UTF-16 units): what must stay within ``TELEGRAM_LIMIT``."""
    return telegram_length(_analyse(html_text)[0])


def split_html_paragraphs(
    header_html: str,
    body_paragraphs_html: list[str],
    *,
    limit: int = DEFAULT_LIMIT,
    marker: str = DEFAULT_MARKER,
) -> list[str]:
    """Split ``header + "\\n\\n" + paragraphs joined by "\\n\\n"`` into messages.

    The HTML must be balanced, with every ``<``, ``>`` and ``&`` of text escaped. The header
    stays whole on the first part. Cuts fall at a paragraph, else a line break, a sentence, a
    word; a word longer than a message is cut between characters as a last resort. A cut is
    never inside a tag, an entity or an element, so each part is valid HTML on its own.
    Returns ``[document]`` when it fits; raises ``ValueError`` if it cannot be split (a header
    or an element longer than ``limit``).
    """
    document = _document(header_html, body_paragraphs_html)
    if telegram_length(document) <= limit:
        return [document]  # the plain text is never longer than its HTML
    plain, cuts = _analyse(document)
    if telegram_length(plain) <= limit:
        return [document]
    body_start = len(_analyse(header_html + "\n\n")[0]) if header_html else 0
    levels = _levels(plain)
    offsets = [0]  # UTF-16 offset of every code point, for the limit
    for ch in plain:
        offsets.append(offsets[-1] + (2 if ord(ch) > 0xFFFF else 1))
    candidates = sorted(q for q in cuts if body_start <= q < len(plain) and q > 0)

    n = 2  # the marker's width depends on the number of parts: repack until it is wide enough
    while True:
        reserve = len(_LAST_SEP) + max(
            telegram_length(marker.format(i=i, n=n)) for i in range(1, n + 1)
        )
        bounds = _pack(offsets, levels, candidates, limit - reserve)
        if len(bounds) - 1 <= n:
            break
        n = len(bounds) - 1
    n = len(bounds) - 1  # may be fewer than reserved for, which only leaves more room
    parts = []
    for i in range(1, n + 1):
        chunk = document[cuts[bounds[i - 1]] if i > 1 else 0 : cuts[bounds[i]]]
        sep = _LAST_SEP if i == n else ""
        parts.append(chunk + sep + _escape(marker.format(i=i, n=n)))
    return parts


def _escape(text: str) -> str:
    # A str, not Markup: the parts are joined with other HTML by plain str operations.
    return str(escape(text))


def _document(header_html: str, body_paragraphs_html: list[str]) -> str:
    return "\n\n".join(
        [header_html, *body_paragraphs_html] if header_html else body_paragraphs_html
    )


def _analyse(document: str) -> tuple[str, dict[int, int]]:
    """Return the plain text and, per plain offset, the first index where HTML may be cut."""
    plain: list[str] = []
    cuts: dict[int, int] = {}
    offset = depth = 0
    for match in _TOKEN.finditer(document):
        token = match.group()
        if depth == 0:
            cuts.setdefault(offset, match.start())
        if len(token) > 1 and token[0] == "<":
            depth += -1 if token.startswith("</") else 1
            continue
        text = html.unescape(token) if len(token) > 1 else token
        plain.append(text)
        offset += len(text)
    if depth == 0:
        cuts.setdefault(offset, len(document))
    return "".join(plain), cuts


def _levels(plain: str) -> list[int]:
    """Return, for each plain offset, how good a place it is to start a new part."""
    levels = [_ANY] * (len(plain) + 1)
    run_start = 0  # start of the whitespace run that ends at the current offset
    for q in range(1, len(plain)):
        if not plain[q - 1].isspace():
            run_start = q
        ch, run = plain[q], plain[run_start:q]
        if ch.isspace():
            continue  # last resort only: Telegram trims a message, so the space would be lost
        if run and not set(run) <= _NO_BREAK:
            newlines = run.count("\n")
            if newlines:
                levels[q] = _PARAGRAPH if newlines >= 2 else _LINE
                continue
            k = run_start  # look past a closing bracket or quote for the full stop
            while k > max(0, run_start - 3) and plain[k - 1] in _CLOSERS:
                k -= 1
            levels[q] = _SENTENCE if k and plain[k - 1] in _SENTENCE_END else _WORD
        elif not unicodedata.category(ch).startswith("M") and "\u200d" not in plain[q - 1 : q + 1]:
            levels[q] = _HARD  # inside a word, but not inside a grapheme cluster
    return levels


def _pack(offsets: list[int], levels: list[int], candidates: list[int], budget: int) -> list[int]:
    """Return the plain offsets where parts start, plus the end, each part within budget."""
    end = len(offsets) - 1
    bounds = [0]
    while offsets[end] - offsets[bounds[-1]] > budget:
        start = bounds[-1]
        fitting = [q for q in candidates if q > start and offsets[q] - offsets[start] <= budget]
        if not fitting:
            raise ValueError(f"cannot split within {budget} UTF-16 units: header or tag too long")
        for level in range(_PARAGRAPH, _ANY - 1, -1):
            best = max((q for q in fitting if levels[q] >= level), default=None)
            # Prefer the better cut unless it leaves the part less than half full.
            if best is not None and (
                2 * (offsets[best] - offsets[start]) >= budget or level == _ANY
            ):
                bounds.append(best)
                break
    bounds.append(end)
    return bounds
