"""How long a text is, in the two senses that matter, and shortening one for display.

- ``perceived_length``: the characters a reader sees (extended grapheme clusters). An emoji
  family is one, ``e`` + a combining accent is one. This is the count shown to attendees.
- ``telegram_length``: what Telegram counts (UTF-16 code units; an emoji is two or more).
  Every limit is defined in this unit, so a text within a limit always fits where Telegram
  enforces it.

In storage/ so that the field rules, the book, the bot and its fake Telegram share one
definition.
"""

from __future__ import annotations

import regex

_GRAPHEME = regex.compile(r"\X")
# White space that may break a line: every kind but the no-break spaces (French typography).
_BREAKING_SPACE = regex.compile(r"[^\S\u00a0\u202f\u2007]+")
ELLIPSIS = "…"


def graphemes(text: str) -> list[str]:
    """Return the user-perceived characters of ``text``."""
    return _GRAPHEME.findall(text)


def perceived_length(text: str) -> int:
    """Return the number of characters a reader sees in ``text``."""
    return len(graphemes(text))


def telegram_length(text: str) -> int:
    """Return the length Telegram counts: UTF-16 code units (astral characters count 2).

    The one such count: the bot, the field rules and the fake Telegram (``bot/sandbox``) all
    use it. A lone surrogate (a Python string can hold one, e.g. decoded from JSON's
    ``"\\ud800"``) counts one unit instead of raising.
    """
    # The encoder counts in C: a loop over the characters costs ~0.1 ms on a long text.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _one_line(text: str) -> str:
    """``text`` on one line: each run of white space one space (no-break spaces kept)."""
    return _BREAKING_SPACE.sub(" ", text).strip(" ")


def shorten(text: str, width: int) -> str:
    """Return ``text`` on one line, cut to at most ``width`` perceived characters.

    A cut text ends with an ellipsis (counted in ``width``), at a word boundary unless that
    would keep less than half of the width; never inside a grapheme cluster.
    """
    flat = _one_line(text)
    chars = graphemes(flat)
    if len(chars) <= width:
        return flat
    keep = chars[: max(width - 1, 0)]
    if chars[len(keep)] != " ":  # cut inside a word: go back to the last space within reach,
        space = max((i for i, ch in enumerate(keep) if ch == " "), default=-1)
        if space >= width // 2:  # if that still leaves at least half the width
            keep = keep[:space]
    return "".join(keep).rstrip(" ,;:.-–—") + ELLIPSIS


def shorten_start(text: str, width: int) -> str:
    """Return the end of ``text`` on one line, at most ``width`` perceived characters: the
    mirror of ``shorten`` (a cut text starts with an ellipsis, at a word boundary unless that
    would keep less than half of the width)."""
    flat = _one_line(text)
    chars = graphemes(flat)
    if len(chars) <= width:
        return flat
    keep = chars[len(chars) - max(width - 1, 0) :]
    if chars[len(chars) - len(keep) - 1] != " ":  # cut inside a word: go to the next space
        space = next((i for i, ch in enumerate(keep) if ch == " "), len(keep))
        if len(keep) - space - 1 >= width // 2:
            keep = keep[space + 1 :]
    return ELLIPSIS + "".join(keep).lstrip(" ,;:.!?»)-–—\u00a0\u202f")
