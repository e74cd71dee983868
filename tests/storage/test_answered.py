"""``Answered``: what a draft's ``answer_messages`` keeps, read and written in one place."""

from __future__ import annotations

import pytest

from storage.models import Answered


@pytest.mark.parametrize(
    ("stored", "answered"),
    [
        ("name", Answered("name")),
        ("organisation", Answered("organisation")),
        # Written before the date and length were kept (the migrations' numbering).
        ("quote:0", Answered("quote", part=0)),
        ("quote:3:1700000000:120", Answered("quote", 3, 1700000000, 120)),
        ("paste:3:1700000000:3800:nl", Answered("paste", 3, 1700000000, 3800, newline=True)),
        # A refused part of a paste: no paragraph, its date and length.
        ("refused::1700000000:4096", Answered("refused", None, 1700000000, 4096)),
    ],
)
def test_parse_and_format_are_inverse(stored: str, answered: Answered) -> None:
    assert Answered.parse(stored) == answered
    assert answered.format() == stored


def test_quote_kinds() -> None:
    assert Answered.parse("paste:1:2:3").is_quote and Answered.parse("quote:0").is_quote
    assert not Answered.parse("name").is_quote
    assert not Answered.parse("refused::1:2").is_quote
