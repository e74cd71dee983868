"""Telegram's HTML parse mode, checked the way the Bot API checks it.

The parser follows tdlib's ``parse_html`` (what the Bot API server runs): same tag set, same
attribute rules, same error texts and byte offsets, so a test failure reads like the production
error. It is deliberately *stricter* than Telegram in three places, each a real bug in our own
output even though Telegram would swallow it:

* an ``&`` that does not start ``&lt;`` ``&gt;`` ``&amp;`` ``&quot;`` or ``&#NN;``/``&#xNN;``
  (Telegram keeps it literally; we want every ``&`` escaped, or ``&nbsp;`` shows up verbatim);
* an entity without its ``;`` (same reason);
* ``<a>`` without a non-empty ``href`` (Telegram silently drops the link).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from storage.textlength import telegram_length

__all__ = [
    "ALLOWED_TAGS",
    "TelegramHTMLError",
    "parse_entities",
    "parse_telegram_html",
]

ALLOWED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)

_SIMPLE_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",  # only class="tg-spoiler" gets this far
}

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_COMMON_REFERENCES = tuple((f"&{name};", char) for name, char in _NAMED_ENTITIES.items())
_SPACES = frozenset(" \t\r\n\v\f")
_MARKUP = re.compile("[&<]")
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")


class TelegramHTMLError(ValueError):
    """Text that Telegram would refuse with ``400 can't parse entities: <message>``."""


def parse_telegram_html(text: str) -> str:
    """Return the plain text a user sees for ``text`` sent with ``parse_mode=HTML``.

    Raises :class:`TelegramHTMLError` with tdlib's wording when Telegram would refuse it.
    """
    return parse_entities(text)[0]


@dataclass
class _Open:
    tag: str
    argument: str | None
    utf16_offset: int
    byte_offset: int


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.size = len(text)
        self.out: list[str] = []
        self.utf16 = 0
        self.entities: list[dict[str, Any]] = []
        self.stack: list[_Open] = []

    def char(self, i: int) -> str:
        """The character at ``i``, or "" past the end (tdlib reads the trailing NUL)."""
        return self.text[i] if i < self.size else ""

    def byte_offset(self, i: int) -> int:
        return len(self.text[:i].encode("utf-8"))

    def error(self, message: str) -> TelegramHTMLError:
        return TelegramHTMLError(message)

    def emit(self, s: str) -> None:
        self.out.append(s)
        self.utf16 += telegram_length(s)

    def entity(self, i: int) -> tuple[str, int]:
        """Decode the character reference at ``i`` (which holds "&"); return (char, next i)."""
        text = self.text
        for reference, decoded in _COMMON_REFERENCES:
            if text.startswith(reference, i):  # what html.escape writes: the usual case
                return decoded, i + len(reference)
        j = i + 1
        if self.char(j) == "#":
            j += 1
            hexadecimal = self.char(j) == "x"
            if hexadecimal:
                j += 1
            digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
            start = j
            while self.char(j) and self.char(j) in digits:
                j += 1
            # Past 10 digits the value is out of range anyway (and int() would be slow).
            ok = 0 < j - start <= 10
            value = int(text[start:j], 16 if hexadecimal else 10) if ok else 0
            in_range = 0 < value < 0x10FFFF and not 0xD800 <= value <= 0xDFFF
            decoded = chr(value) if in_range else ""
        else:
            start = j
            while self.char(j).isascii() and self.char(j).isalpha():
                j += 1
            decoded = _NAMED_ENTITIES.get(text[start:j], "")
        if not decoded or self.char(j) != ";":
            # Stricter than Telegram, which would keep the "&" literally: see module docstring.
            raise self.error(
                f'Unsupported HTML entity "{text[i : j + 1]}" at byte offset {self.byte_offset(i)}'
                ' (escape "&" as "&amp;")'
            )
        return decoded, j + 1

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        i = 0
        text = self.text
        while i < self.size:
            c = text[i]
            if c == "&":
                decoded, i = self.entity(i)
                self.emit(decoded)
            elif c != "<":
                # A run of plain text at once, up to the next "&" or "<".
                found = _MARKUP.search(text, i)
                end = found.start() if found is not None else self.size
                self.emit(text[i:end])
                i = end
            elif self.char(i + 1) != "/":
                i = self.start_tag(i)
            else:
                i = self.end_tag(i)
        if self.stack:
            raise self.error(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def start_tag(self, begin: int) -> int:
        i = begin + 1
        while self.char(i) and self.char(i) not in _SPACES and self.char(i) != ">":
            i += 1
        at = self.byte_offset(begin)
        if not self.char(i):
            raise self.error(f"Unclosed start tag at byte offset {at}")
        tag = self.text[begin + 1 : i].lower()
        if tag not in ALLOWED_TAGS:
            raise self.error(f'Unsupported start tag "{tag}" at byte offset {at}')
        argument: str | None = None
        while self.char(i) != ">":
            while self.char(i) and self.char(i) in _SPACES:
                i += 1
            if self.char(i) == ">":
                break
            name_start = i
            while self.char(i) and self.char(i) not in _SPACES and self.char(i) not in "=>/\"'":
                i += 1
            name = self.text[name_start:i]
            if not name:
                raise self.error(f'Empty attribute name in the tag "{tag}" at byte offset {at}')
            while self.char(i) and self.char(i) in _SPACES:
                i += 1
            if self.char(i) != "=":
                if not self.char(i):
                    raise self.error(f"Unclosed start tag at byte offset {at}")
                if tag == "blockquote" and name == "expandable":
                    argument = "1"
                continue
            i += 1
            while self.char(i) and self.char(i) in _SPACES:
                i += 1
            if not self.char(i):
                raise self.error(f"Unclosed start tag at byte offset {at}")
            if self.char(i) not in "\"'":
                # tdlib accepts a bare name token (letters, digits, "." and "-"), lowercased.
                token_start = i
                while self.char(i) and self.char(i) in _TOKEN_CHARS:
                    i += 1
                value = self.text[token_start:i].lower()
                if self.char(i) not in _SPACES and self.char(i) != ">":
                    raise self.error(
                        "Unexpected end of name token at byte offset "
                        f"{self.byte_offset(token_start)}"
                    )
            else:
                quote = self.char(i)
                i += 1
                parts: list[str] = []
                while self.char(i) and self.char(i) != quote:
                    if self.char(i) == "&":
                        decoded, i = self.entity(i)
                        parts.append(decoded)
                    else:
                        parts.append(self.char(i))
                        i += 1
                if self.char(i) == quote:
                    i += 1
                value = "".join(parts)
            if not self.char(i):
                raise self.error(f"Unclosed start tag at byte offset {at}")
            if tag == "a" and name == "href":
                argument = value
            elif tag == "code" and name == "class" and value.startswith("language-"):
                argument = value.removeprefix("language-")
            elif tag == "span" and name == "class" and value.startswith("tg-"):
                argument = value.removeprefix("tg-")
            elif tag == "tg-emoji" and name == "emoji-id":
                argument = value
            elif tag == "blockquote" and name == "expandable":
                argument = "1"
        if tag == "span" and argument != "spoiler":
            raise self.error(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        if tag == "a" and not argument:
            # Stricter than Telegram (which would drop the link): see module docstring.
            raise self.error(f'Tag "a" must have a non-empty "href" at byte offset {at}')
        self.stack.append(_Open(tag, argument, self.utf16, at))
        return i + 1

    def end_tag(self, begin: int) -> int:
        at = self.byte_offset(begin)
        if not self.stack:
            raise self.error(f"Unexpected end tag at byte offset {at}")
        i = begin + 2
        while self.char(i) and self.char(i) not in _SPACES and self.char(i) != ">":
            i += 1
        name = self.text[begin + 2 : i]
        while self.char(i) and self.char(i) in _SPACES:
            i += 1
        if self.char(i) != ">":
            raise self.error(f"Unclosed end tag at byte offset {at}")
        opened = self.stack.pop()
        if name and name != opened.tag:
            raise self.error(
                f'Unmatched end tag at byte offset {at}, expected "</{opened.tag}>", '
                f'found "</{name}>"'
            )
        self.close(opened)
        return i + 1

    def close(self, opened: _Open) -> None:
        offset = opened.utf16_offset
        length = self.utf16 - offset
        tag, argument = opened.tag, opened.argument
        if tag == "tg-emoji" and not (argument and argument.isdigit() and int(argument) > 0):
            raise self.error("Invalid custom emoji identifier specified")
        if length <= 0:
            return  # Telegram drops empty entities without complaint.
        entity: dict[str, Any] = {"offset": offset, "length": length}
        last = self.entities[-1] if self.entities else None
        same_range = last is not None and (last["offset"], last["length"]) == (offset, length)
        if tag in _SIMPLE_TYPES:
            entity["type"] = _SIMPLE_TYPES[tag]
        elif tag == "a":
            entity.update(type="text_link", url=argument)
        elif tag == "tg-emoji":
            entity.update(type="custom_emoji", custom_emoji_id=argument)
        elif tag == "blockquote":
            entity["type"] = "expandable_blockquote" if argument else "blockquote"
        elif tag == "pre":
            if last is not None and same_range and last["type"] == "code":
                # <pre><code class="language-x"> is one pre entity with a language.
                last["type"] = "pre"
                return
            entity["type"] = "pre"
        else:  # code
            if last is not None and same_range and last["type"] == "pre":
                if argument:
                    last["language"] = argument
                return
            entity["type"] = "code"
            if argument:
                entity["language"] = argument
        self.entities.append(entity)


def parse_entities(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse ``text`` as Telegram HTML: (plain text, Bot API ``MessageEntity`` dicts).

    Offsets and lengths are in UTF-16 code units, as in the Bot API.
    """
    return _Parser(text).parse()
