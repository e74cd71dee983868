"""An organiser's edit as its author reads it: a word diff in Telegram HTML (removed words
struck through, added ones in bold), the unchanged stretches cut to a few words of context
so that a long testimonial's changes fit one message."""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass

# Words and the whitespace between them: a change is shown word by word, spacing kept.
_TOKENS = re.compile(r"\s+|\S+")
#: Where an unchanged stretch is cut short.
GAP = "…"


@dataclass(frozen=True, slots=True)
class WordDiff:
    """The text before and after, each as Telegram HTML: removed words in ``<s>`` (before),
    added words in ``<b>`` (after), everything else escaped as it was."""

    before: str
    after: str
    changed: bool


def word_diff(before: str, after: str, *, context: int | None = None) -> WordDiff:
    """Compare two texts word by word. ``context``: how many unchanged words to keep on each
    side of a change (None: all of them)."""
    old, new = _TOKENS.findall(before), _TOKENS.findall(after)
    opcodes = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    shown_before: list[str] = []
    shown_after: list[str] = []
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            same = _context(old[i1:i2], context, head=index > 0, tail=index < len(opcodes) - 1)
            shown_before.append(same)
            shown_after.append(same)
            continue
        if i2 > i1:
            shown_before.append(_marked("s", old[i1:i2]))
        if j2 > j1:
            shown_after.append(_marked("b", new[j1:j2]))
    changed = any(tag != "equal" for tag, *_ in opcodes)
    return WordDiff("".join(shown_before), "".join(shown_after), changed)


def _marked(tag: str, tokens: list[str]) -> str:
    """Wrap changed words in ``tag``, the whitespace around them left outside; a change of
    whitespace alone (a line break added or removed) is shown as ¶."""
    text = "".join(tokens)
    core = text.strip()
    if not core:
        return f"<{tag}>¶</{tag}>" if "\n" in text else f"<{tag}>␣</{tag}>"
    start = text.index(core)
    lead, trail = text[:start], text[start + len(core) :]
    return f"{html.escape(lead)}<{tag}>{html.escape(core)}</{tag}>{html.escape(trail)}"


def _context(tokens: list[str], context: int | None, *, head: bool, tail: bool) -> str:
    """An unchanged stretch: whole, or its ``context`` words next to a change (``head``: a
    change comes before it, ``tail``: one comes after), the rest replaced by ``GAP``."""
    words = [i for i, token in enumerate(tokens) if not token.isspace()]
    if context is None or len(words) <= context * (int(head) + int(tail)):
        return html.escape("".join(tokens))
    keep_head = words[context - 1] + 1 if head and context else 0
    keep_tail = words[-context] if tail and context else len(tokens)
    if not head:
        keep_head = 0
    if not tail:
        keep_tail = len(tokens)
    first = "".join(tokens[:keep_head]) if head else ""
    last = "".join(tokens[keep_tail:]) if tail else ""
    gap = (" " if head and context else "") + GAP + (" " if tail and context else "")
    return html.escape(first) + gap + html.escape(last)
