"""How the official Telegram clients cut a text over 4,096 characters, and what the bot puts
back between the parts.

A text over Telegram's limit is never refused by the apps: each cuts it into several messages
and sends them at once. Each client has its own rule (read in its source; docs/design.md,
"Long pastes", names the file and function of each) and each drops the whitespace at the cut,
so a message alone never says what was between it and the next one. The bot works it out
the other way round: for each separator it could have been (nothing, a space, a line break,
a paragraph break), it cuts the text that separator would make with each client's rule; the
separators that give back exactly the part received are the candidates, and the most likely
one is chosen (``separator``). When no client's rule gives that cut, the two messages are not
one cut text: the second one is an attendee's own message (a new paragraph).

Everything here counts in UTF-16 units, as the clients and Telegram do: a text is turned
into a string with one Python character per unit (``_units``) before it is cut.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum

#: Telegram's limit on a message's text, which every client cuts at.
LIMIT = 4096
#: The shortest first part a client makes: Telegram Desktop cuts past the middle of the
#: window (Android past its last 300 units, iOS at the last line break or full stop).
SHORTEST_CUT = LIMIT // 2 + 1
#: The separators a cut can drop, the most likely first when several fit equally.
SEPARATORS = ("", " ", "\n", "\n\n")

_NEWLINE = "\n"
_PARAGRAPH = "\n\n"


class Client(StrEnum):
    """The official apps, each with its own rule for cutting a long text."""

    DESKTOP = "desktop"
    ANDROID = "android"
    IOS = "ios"


def _units(text: str) -> str:
    """Return ``text`` with each character outside the BMP as its two UTF-16 surrogates."""
    if not text or max(text) < "\U00010000":
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if code < 0x10000:
            out.append(ch)
        else:
            code -= 0x10000
            out.append(chr(0xD800 + (code >> 10)) + chr(0xDC00 + (code & 0x3FF)))
    return "".join(out)


def _text(units: str) -> str:
    """Return the text of a string of UTF-16 units (surrogate pairs joined again)."""
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


# -- Telegram Desktop: lib_ui, ui/text/text_entity.cpp, TextUtilities::CutPart -------------

# ui/text/text.cpp IsWordSeparator
_DESKTOP_WORD_SEPARATORS = frozenset(
    " \n.,?!@#$:;-<>[](){}=/+%&^*'\"`~|\u2013\u2014\u2018\u2019\u201c\u201d\u2026\ufffc"
)


def _desktop_space(ch: str) -> bool:
    """ui/text/text.cpp IsSpace: QChar::isSpace, controls, separators, U+FFFC."""
    return ch.isspace() or ch < " " or ch in "\u2028\u2029\ufffc"


def _desktop_trimmed(ch: str) -> bool:
    """ui/text/text.cpp IsTrimmed: spaces (not U+FFFC) and the zero-width space."""
    return (_desktop_space(ch) and ch != "\ufffc") or ch == "\u200b"


_SPACE = r"[^\S\n]|[\x00-\x09\x0b-\x1f\u2028\u2029\ufffc]"
_WORD_SEPARATOR = "[" + re.escape("".join(sorted(_DESKTOP_WORD_SEPARATORS))) + "]"
#: CutPart's levels (markGoodAsLevel, outside entities), best first: a cut before the
#: character these match at (a paragraph break, a line break, a space after a sentence,
#: after a comma or colon, any space, a character after a word separator).
_DESKTOP_LEVELS = [
    re.compile(r"\n(?=\n)"),
    re.compile(r"\n"),
    re.compile(rf"(?<=[.?!])(?:{_SPACE})"),
    re.compile(rf"(?<=[,:;])(?:{_SPACE})"),
    re.compile(_SPACE),
    re.compile(rf"(?<={_WORD_SEPARATOR})."),
]


def _inside_emoji(units: str, p: int) -> bool:
    """Whether ``p`` is inside a character or an emoji sequence, which CutPart steps over."""
    ch = units[p]
    return "\udc00" <= ch <= "\udfff" or ch in "\u200d\ufe0f" or units[p - 1] == "\u200d"


def _desktop_cut(units: str, start: int) -> tuple[int, int] | None:
    """Where Desktop ends the part that starts at ``start`` and where the rest starts: the
    last cut of the best level past the middle of the window (a hard cut at its end when
    there is nothing better); the rest is trimmed before the next cut."""
    if len(units) - start <= LIMIT:
        return None
    low, high = start + LIMIT // 2 + 1, start + LIMIT  # the positions CutPart weighs
    for level in _DESKTOP_LEVELS:
        last = None
        for match in level.finditer(units, low, high + 1):
            if not _inside_emoji(units, match.start()):
                last = match.start()
        if last is not None:
            return last, last
    while high > low and _inside_emoji(units, high):
        high -= 1
    return high, high


# -- Telegram Android: ChatActivityEnterView.processSendingText ----------------------------

_JAVA_NOT_WHITESPACE = "\u00a0\u2007\u202f\u0085"


def _java_whitespace(ch: str) -> bool:
    """java.lang.Character.isWhitespace: no-break spaces are not whitespace."""
    return (ch.isspace() and ch not in _JAVA_NOT_WHITESPACE) or "\x1c" <= ch <= "\x1f"


def _android_trimmed(ch: str) -> bool:
    """AndroidUtilities.getTrimmedString trims spaces and line feeds only."""
    return ch in " \n"


def _android_cut(units: str, start: int) -> tuple[int, int] | None:
    """Where Android ends the part that starts at ``start``, and where the rest starts: it
    looks back over the last 300 units of the window for a paragraph break, then the first
    line break of those 300, a space after a full stop, a space; else a hard cut. The
    character at the cut is skipped, even on a hard cut (a character is lost there)."""
    if len(units) <= start + LIMIT:
        return None
    tab = enter = dot = space = -1
    i, k = start + LIMIT - 1, 0
    while i > start and k < 300:
        c, c2 = units[i], units[i - 1]
        if c == _NEWLINE and c2 == _NEWLINE:
            tab = i
            break
        if c == _NEWLINE:
            enter = i
        elif dot < 0 and _java_whitespace(c) and c2 == ".":
            dot = i
        elif space < 0 and _java_whitespace(c):
            space = i
        i -= 1
        k += 1
    end = next((index for index in (tab, enter, dot, space) if index > 0), start + LIMIT)
    return end, end + 1


# -- Telegram iOS: submodules/TextFormat/Sources/ChatTextInputAttributes.swift -------------


def _ios_trimmed(ch: str) -> bool:
    """trimRangesForChatInputText: space, tab, line feed and ZWNJ."""
    return ch in " \t\n\u200c"


def _ios_cut(units: str, start: int) -> tuple[int, int] | None:
    """Where iOS ends the part that starts at ``start`` (breakChatInputText): just after the
    last line feed or full stop of the window, else at the window's end; the rest starts
    there (its leading spaces trimmed)."""
    if len(units) - start <= LIMIT:
        return None
    upper = start + LIMIT
    last = max(units.rfind("\n", start, upper), units.rfind(".", start, upper))
    end = last + 1 if last >= 0 else upper
    return end, end


_Cut = Callable[[str, int], "tuple[int, int] | None"]
_RULES: dict[Client, tuple[_Cut, Callable[[str], bool]]] = {
    Client.DESKTOP: (_desktop_cut, _desktop_trimmed),
    Client.ANDROID: (_android_cut, _android_trimmed),
    Client.IOS: (_ios_cut, _ios_trimmed),
}


def _strip(units: str, begin: int, end: int, trimmed: Callable[[str], bool]) -> tuple[int, int]:
    """Return ``begin, end`` moved inwards past the characters the client trims."""
    while begin < end and trimmed(units[begin]):
        begin += 1
    while end > begin and trimmed(units[end - 1]):
        end -= 1
    return begin, end


def split(text: str, client: Client) -> list[str]:
    """Return the messages ``client`` sends for ``text`` (which it trims first)."""
    cut, trimmed = _RULES[client]
    units = _units(text)
    begin, end = _strip(units, 0, len(units), trimmed)
    units = units[begin:end]
    parts: list[str] = []
    start = 0
    while start < len(units):
        found = cut(units, start)
        if found is None:
            part_end, rest = len(units), len(units)
        else:
            part_end, rest = found
        first, last = _strip(units, start, part_end, trimmed)
        if last > first:
            parts.append(_text(units[first:last]))
        start = rest
        if client is Client.DESKTOP:  # Desktop trims what is left before cutting again
            start, _ = _strip(units, start, len(units), trimmed)
    return parts


def _gives(client: Client, lead: str, head: str, sep: str, tail: str) -> bool:
    """Whether ``client`` cutting ``lead + head + sep + tail`` (in UTF-16 units) sends
    exactly ``head`` and starts the next message at ``tail`` (``lead``: whitespace the
    client's window starts with, that it trims from the part)."""
    cut, trimmed = _RULES[client]
    units = lead + head + sep + tail
    found = cut(units, 0)
    if found is None:
        return False
    part_end, rest = found
    first, last = _strip(units, 0, part_end, trimmed)
    if first != len(lead) or units[first:last] != head:
        return False
    rest, _ = _strip(units, rest, len(units), trimmed)
    return rest == len(lead) + len(head) + len(sep)


def last_units(text: str, length: int) -> str:
    """Return the end of ``text`` that is ``length`` UTF-16 units long (a kept part)."""
    units = _units(text)
    return _text(units[max(len(units) - length, 0) :])


def _glued(previous: str, following: str) -> bool:
    """Whether a cut after a full stop fell inside a word: a link, an address, a number."""
    word = previous.rsplit(None, 1)[-1] if previous.strip() else ""
    if "://" in word or word.lower().startswith("www.") or "@" in word:
        return True
    return len(word) >= 2 and word[-2].isdigit() and following[:1].isdigit()


def fitting(previous: str, following: str) -> set[str]:
    """The separators with which some client's rule cuts the text into exactly
    ``previous`` then ``following`` (both as received: trimmed by the client)."""
    head, tail = _units(previous), _units(following)[: LIMIT + 1]
    found = set()
    for sep in SEPARATORS:
        for client in Client:
            # iOS starts the next window just after the full stop, before the space it
            # then trims: a part after a space cut is measured from that space.
            leads = ("", " ") if client is Client.IOS else ("",)
            if any(_gives(client, lead, head, sep, tail) for lead in leads):
                found.add(sep)
                break
    return found


def separator(previous: str, following: str) -> str | None:
    """What a client dropped between two messages it cut from one text (``""``, a space, a
    line break or a paragraph break), or None when no client cuts a text that way: then
    ``following`` is a message of its own.

    Several separators can fit the same cut (the rule looks at what follows only up to the
    window's end); the choice then goes to what is most likely in prose: a part that fills
    the whole window was cut where the window ends (nothing between); otherwise a space
    (most cuts fall at the end of a sentence), unless the full stop was inside a link or a
    number; otherwise a break of the kind the text uses (a line break where its paragraphs
    are single lines, else a paragraph break).
    """
    if len(_units(previous)) < SHORTEST_CUT:
        return None
    found = fitting(previous, following)
    if not found:
        return None
    if "" in found and len(_units(previous)) >= LIMIT:
        return ""
    if " " in found and not ("" in found and _glued(previous, following)):
        return " "
    if "" in found and _glued(previous, following):
        return ""
    line_style = _NEWLINE in previous and _PARAGRAPH not in previous
    for sep in (_NEWLINE, _PARAGRAPH) if line_style else (_PARAGRAPH, _NEWLINE):
        if sep in found:
            return sep
    return ""
