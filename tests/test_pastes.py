"""The official clients' cut rules (bot/services/pastes.py) and the separator put back.

Each rule is checked on a small text where its choice shows, then on the seed's longest
entry; docs/design.md ("Long pastes") says where each rule was read.
"""

from __future__ import annotations

import itertools

import pytest

from bot.book.parse import parse_book
from bot.services.pastes import LIMIT, Client, fitting, last_units, separator, split
from storage.textlength import telegram_length


def join(parts: list[str]) -> str:
    """Return the text the bot keeps for ``parts``: each joined with the separator found."""
    text = parts[0]
    for previous, following in itertools.pairwise(parts):
        sep = separator(previous, following)
        assert sep is not None, f"no client rule explains the cut before {following[:20]!r}"
        text += sep + following
    return text


def francois(seed_text: str) -> str:
    """François MOREAU's 4,330 characters, thirteen paragraphs."""
    [entry] = [e for e in parse_book(seed_text).entries if e.name == "François MOREAU"]
    assert len(entry.quote) == 4330
    return entry.quote


def test_desktop_prefers_a_paragraph_break_then_a_line_break_then_a_sentence_end() -> None:
    words = ("mot " * 700).strip()  # 2,799 characters, spaces only
    text = f"{words}.\n\nSuite {words}"
    assert split(text, Client.DESKTOP) == [f"{words}.", f"Suite {words}"]
    text = f"{words}.\nSuite. Encore {words}"
    assert split(text, Client.DESKTOP)[0] == f"{words}."
    text = f"{words}. Suite {words}"
    assert split(text, Client.DESKTOP)[0] == f"{words}."


def test_android_looks_only_at_the_last_300_characters_and_loses_one_on_a_hard_cut() -> None:
    # A paragraph break 400 characters before the limit is out of its reach: a space wins.
    text = "a" * 3600 + "\n\n" + "mot " * 600
    first = split(text, Client.ANDROID)[0]
    assert telegram_length(first) > 3700 and first.endswith("mot")
    # No whitespace in the last 300: cut at 4,096 and the character at the cut is skipped.
    text = "x" * 4096 + "Y" + "z" * 100
    assert split(text, Client.ANDROID) == ["x" * 4096, "z" * 100]


def test_ios_cuts_after_a_line_feed_or_a_full_stop_only() -> None:
    text = "Début. " + "mot " * 1100  # one full stop, near the start
    assert split(text, Client.IOS)[0] == "Début."
    text = "motus " * 800  # none: a hard cut at 4,096 (here mid-word), nothing lost
    parts = split(text, Client.IOS)
    assert telegram_length(parts[0]) == LIMIT and "".join(parts) == text.strip()


def test_counts_are_utf16_units_as_telegram_counts() -> None:
    text = "😀" * 2100  # 4,200 units: over the limit though 2,100 characters
    for client in Client:
        parts = split(text, client)
        assert len(parts) == 2 and all(telegram_length(p) <= LIMIT for p in parts)
    assert last_units("ab😀", 2) == "😀" and last_units("ab😀", 3) == "b😀"


@pytest.mark.parametrize("client", list(Client))
def test_francois_cut_by_each_client_comes_back_whole(seed_text: str, client: Client) -> None:
    quote = francois(seed_text)
    parts = split(quote, client)
    assert len(parts) == 2
    assert join(parts) == quote


def test_francois_cut_at_his_paragraph_break_comes_back_with_it(seed_text: str) -> None:
    quote = francois(seed_text)
    first, second = split(quote, Client.DESKTOP)
    assert (len(first), len(second)) == (3871, 457)
    assert first.endswith("gratuitement sur internet.") and second.startswith("Le crowdfunding")
    assert separator(first, second) == "\n\n"
    assert split(quote, Client.ANDROID) == [first, second]


def test_each_separator_is_put_back_from_the_seed(seed_text: str) -> None:
    quote = francois(seed_text)
    # A line break: the same text with its paragraphs on single lines.
    lines = quote.replace("\n\n", "\n")
    parts = split(lines, Client.DESKTOP)
    assert separator(*parts) == "\n" and join(parts) == lines
    # A space: one long paragraph, cut at the last sentence end.
    flat = quote.replace("\n\n", " ")
    parts = split(flat, Client.DESKTOP)
    assert parts[0].endswith(".") and separator(*parts) == " " and join(parts) == flat
    # Nothing: no full stop nor line break, iOS cuts at 4,096 in the middle of a word.
    bare = quote.replace(".", "").replace("\n\n", " ")
    while bare[LIMIT - 1].isspace() or bare[LIMIT].isspace():  # make the cut fall mid-word
        bare = "x" + bare
    parts = split(bare, Client.IOS)
    assert parts[0] == bare[:LIMIT]
    assert separator(*parts) == "" and join(parts) == bare


def test_a_full_stop_inside_a_link_is_joined_with_nothing(seed_text: str) -> None:
    quote = francois(seed_text).replace("\n\n", "\n")
    before = " voir http://www.anis.asso."
    head = quote.replace(".", ",").replace("\n", " ")[: LIMIT - 6 - len(before)]
    text = f"{head}{before}fr/ et la suite de la phrase. " + "mot " * 50
    first, second = split(text, Client.IOS)[:2]
    assert first.endswith("anis.asso.") and second.startswith("fr/ et")
    assert fitting(first, second) >= {"", " "}
    assert separator(first, second) == ""


def test_messages_no_client_would_cut_are_not_joined(seed_text: str) -> None:
    quote = francois(seed_text)
    # Under 4,096 together: no client cuts a text that fits.
    assert separator(quote[:3000], "Merci encore !") is None
    # Too short to be the first part of a cut.
    assert separator("Bonjour.", quote) is None
    # A long message then another that a cut would not have made: every client would have
    # cut at the paragraph break the second one has before the limit.
    first = quote[:3871]
    assert separator(first, "Court.\n\nAutre paragraphe. " + "mot " * 100) is None


@pytest.mark.parametrize("client", list(Client))
def test_a_cut_at_a_space_one_short_of_the_limit_keeps_the_space(client: Client) -> None:
    """Words of four characters with their spaces: each client cuts at a space and trims it,
    so the first part is 4,095 units long, not the 4,096 of a hard cut (the screen helper's
    finding: it came back as "motmot")."""
    text = "mot " * 1049 + "fin."
    parts = split(text, client)
    assert telegram_length(parts[0]) == LIMIT - 1
    assert separator(*parts) == " " and join(parts) == text
