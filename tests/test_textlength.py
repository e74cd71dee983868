"""Counting characters as a reader sees them, and as Telegram counts them."""

from __future__ import annotations

import pytest

from storage.textlength import perceived_length, shorten, telegram_length

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 👨‍👩‍👧‍👦


@pytest.mark.parametrize(
    ("text", "seen", "telegram"),
    [
        ("Merci", 5, 5),
        (FAMILY * 30, 30, 330),  # 210 code points
        ("e\u0301te\u0301", 3, 5),  # été with combining accents
        ("🇫🇷", 1, 4),  # a flag: two regional indicators
        ("👍🏽", 1, 4),  # a skin tone modifier
        ("ab\r\ncd", 5, 6),  # CR LF is one character on screen
        ("", 0, 0),
        ("é😀", 2, 3),
    ],
)
def test_counts(text: str, seen: int, telegram: int) -> None:
    assert perceived_length(text) == seen
    assert telegram_length(text) == telegram


def test_a_lone_surrogate_counts_one_unit() -> None:
    # JSON may carry one ("\\ud800"); counting it must not raise where Telegram's text is read.
    assert telegram_length("a\ud800b") == 3


def test_shorten_cuts_at_a_word_with_an_ellipsis() -> None:
    assert shorten("Remember me, this was a wonderful day", 25) == "Remember me, this was a…"
    assert shorten("  short\n text ", 20) == "short text"
    assert shorten("one two three four", 8) == "one two…"
    # No space within reach: cut inside the word rather than keep almost nothing.
    assert shorten("Anticonstitutionnellement", 10) == "Anticonst…"


def test_shorten_never_splits_a_grapheme() -> None:
    cut = shorten(FAMILY * 30, 10)
    assert cut == FAMILY * 9 + "…" and perceived_length(cut) == 10
    cut = shorten("e\u0301" * 20, 5)
    assert cut == "e\u0301" * 4 + "…"
