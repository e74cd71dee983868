"""French typography of the bot's own sentences: the house rule, and a checker for it.

House rule (also written at the top of ``bot/texts/fr.toml``):

- a narrow no-break space (U+202F) before ``;``, ``!`` and ``?``;
- a no-break space (U+00A0) before ``:`` and ``»``, and after ``«``;
- the typographic apostrophe ``’`` (U+2019), never ``'``;
- numbers from 1,000 up grouped by three with a narrow no-break space (``8 193``, ``6 000``;
  a four-digit year such as 2026 is left alone);
- no ``(s)`` or ``(e)`` shortcut: a text that depends on a number has real plural forms
  (``bot/services/texts.py``), and a sentence is written for one gender or none.

It applies to what the bot writes (texts, the « » around a quote) and never to the
attendee's own words, which are shown as typed. The checker reads a template as a reader
sees it: HTML tags, ``{placeholders}``, URLs and times (``14:05``) are not prose.
"""

from __future__ import annotations

import html
import re

NARROW_NBSP = "\u202f"
NBSP = "\u00a0"
APOSTROPHE = "\u2019"
#: The « » the bot puts around a quote (channel post, card, preview, book): ours, so they follow
#: the rule, with a no-break space inside.
QUOTE_OPEN = "«" + NBSP
QUOTE_CLOSE = NBSP + "»"
#: Quotation marks an attendee may have put around their whole text, and their closing mark.
_FRAMES = {"«": "»", "“": "”", '"': '"'}
#: What may sit between a quotation mark and the words (stripped with the frame).
_FRAME_SPACE = " \t\n" + NBSP + NARROW_NBSP
#: The space each sign wants before it (or after it, for «).
SPACE_BEFORE = {";": NARROW_NBSP, "!": NARROW_NBSP, "?": NARROW_NBSP, ":": NBSP, "»": NBSP}
SPACE_AFTER = {"«": NBSP}
_NAMES = {NARROW_NBSP: "U+202F", NBSP: "U+00A0", " ": "a plain space", "\t": "a tab"}

_TAG = re.compile(r"<[^>]*>")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S*|\bwww\.\S+|\S+@\S+\.\w+", re.IGNORECASE)
_TIME = re.compile(r"\d:\d")
# "témoignage(s)", "corrigé(e)", "effacé(e)s": a plural or a gender left to the reader.
_SHORTCUT = re.compile(r"\w\((?:s|e|es|x|le|ne|trice)\)", re.IGNORECASE)
# Digits, maybe already grouped by a space of some kind: "8193", "6 000", "6\u00a0000".
_NUMBER = re.compile(r"(?<![\d.,])\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\d])|(?<![\d.,])\d{4,}")
_YEAR = re.compile(r"(?:19|20)\d\d")
_GROUPED = re.compile(r"\d{1,3}(?:\u202f\d{3})+")
# A sign right after another one ("?!", "…?") or after an opening bracket needs no space.
_NO_SPACE_AFTER = frozenset("!?;:…([«\n")


def _prose(template: str) -> str:
    """Return the template as text a reader sees, with non-prose replaced by ``x``."""
    text = _TAG.sub("", template)
    text = _PLACEHOLDER.sub("x", text)
    text = html.unescape(text)
    return _URL.sub("x", text)


def french_violations(template: str) -> list[str]:
    """Return one readable line per break of the house rule in a French template."""
    text = _prose(template)
    problems: list[str] = []

    def context(i: int) -> str:
        return repr(text[max(0, i - 12) : i + 12])

    for i, ch in enumerate(text):
        if ch in SPACE_BEFORE:
            want = SPACE_BEFORE[ch]
            before = text[i - 1] if i else "\n"
            if ch == ":" and _TIME.match(text, max(0, i - 1)):
                continue
            if before == want or before in _NO_SPACE_AFTER:
                continue
            got = _NAMES.get(before, "no space")
            problems.append(f"{_NAMES[want]} wanted before {ch!r}, found {got}: {context(i)}")
        elif ch in SPACE_AFTER:
            want = SPACE_AFTER[ch]
            after = text[i + 1] if i + 1 < len(text) else "\n"
            if after != want:
                got = _NAMES.get(after, "no space")
                problems.append(f"{_NAMES[want]} wanted after {ch!r}, found {got}: {context(i)}")
        elif ch == "'":
            problems.append(f"typographic apostrophe ’ wanted, found ': {context(i)}")
    return problems + shortcut_violations(text) + number_violations(text)


def shortcut_violations(text: str) -> list[str]:
    """Return one line per ``(s)`` / ``(e)`` shortcut in a text (any language)."""
    return [
        f"a plural or gender shortcut {match.group()[1:]!r}: write the forms out"
        for match in _SHORTCUT.finditer(text)
    ]


def number_violations(text: str) -> list[str]:
    """Return one line per French number from 1,000 up not grouped by U+202F (``8193``,
    ``6 000``); a year (1900-2099) is left alone."""
    return [
        f"U+202F wanted between groups of three digits: {match.group()!r}"
        for match in _NUMBER.finditer(text)
        if not (_YEAR.fullmatch(match.group()) or _GROUPED.fullmatch(match.group()))
    ]


def unframed(quote: str) -> str:
    """Return the quote without the quotation marks that hold all of it, or as it is.

    The bot puts its own « » around every quote; an attendee who typed ``« Merci ! »`` (or
    ``"Merci !"``, ``“Merci !”``) must not get ``« « Merci ! » »``. Only one quotation that
    runs from the first character to the last counts: ``« Bravo » à tous « merci »`` and
    ``"a" et "b"`` are left alone, and so are nested marks inside."""
    text = quote.strip(_FRAME_SPACE)
    closing = _FRAMES.get(text[:1])
    if closing is None or len(text) < 2 or text[-1] != closing:
        return quote
    inner = text[1:-1]
    if closing == '"':
        one = '"' not in inner
    else:
        depth = 1
        for ch in inner:
            depth += (ch == text[0]) - (ch == closing)
            if depth == 0:  # the first quotation closed before the end
                return quote
        one = depth == 1
    words = inner.strip(_FRAME_SPACE)
    return words if one and words else quote


def check_french(table: dict[str, str]) -> dict[str, list[str]]:
    """Return, per key, the house-rule breaks in a table of French templates."""
    found = {key: french_violations(value) for key, value in table.items()}
    return {key: problems for key, problems in found.items() if problems}
