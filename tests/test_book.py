"""Parsing the livre d'or: the ROUMICS 2012 seed, its irregularities, and errors."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from bot.book.parse import BookEntry, BookFormatError, import_key, parse_book

# CI has ../shared/seed/ beside the clone; the seed's text is never copied into the repo.
SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seed" / "000_6078c713f019cbe3.txt"


def seed_text() -> str:
    """Return the seed, or skip the test where the shared folder is absent."""
    if not SEED.is_file():
        pytest.skip(f"seed not found at {SEED} (../shared/seed/ beside the clone)")
    return SEED.read_text(encoding="utf-8")


def seed_entries() -> list[BookEntry]:
    """Return the 31 entries of the seed."""
    return parse_book(seed_text()).entries


def by_name(entries: list[BookEntry], name: str) -> BookEntry:
    return next(e for e in entries if e.name == name)


def test_seed_title_and_event() -> None:
    book = parse_book(seed_text())
    assert book.title == "Livre d'or"
    assert book.event == "ROUMICS 2012 « Innovation sociale et numérique »"


def test_seed_has_31_entries_with_their_names() -> None:
    entries = seed_entries()
    assert len(entries) == 31
    names = [e.name for e in entries]
    assert names[0] == "François MOREAU"
    assert names[-1] == "Aline LABARRE"
    assert "Florence" in names
    assert "Sabine BLANC - Hélène GIRARD - Nathanaël SORIN RICHEZ" in names
    assert "Anne-Cécile POILVERT" in names
    assert len(set(names)) == 31
    assert entries[0].line == 7  # 1-based line of the name line
    assert all(not e.name.startswith("«") and e.quote for e in entries)


def test_seed_organisation_lines() -> None:
    entries = seed_entries()
    # The first entry's three lines are separated by blank lines in the seed.
    first = entries[0].organisation_lines
    assert len(first) == 3
    assert first[1] == "Direction de l'Environnement - service écocitoyenneté"
    assert first[2] == "Conseil Régional Nord-Pas de Calais"
    assert by_name(entries, "Rucha NAWARE").organisation_lines == [
        "Programme Alimentaire Mondial des Nations Unies (PAM)",
        "PAM c/o UNESCO",
    ]
    assert by_name(entries, "Florence").organisation_lines == ["UnderConstruction"]
    assert by_name(entries, "Aline LABARRE").organisation_lines == [
        "Chargée de mission « Apprentissage » - C2RP"
    ]


def test_seed_quotes_keep_their_content() -> None:
    entries = seed_entries()
    longest = max(entries, key=lambda e: len(e.quote))
    assert longest.name == "François MOREAU"
    assert len(longest.quote) == 4330
    assert longest.quote.count("\n\n") == 12  # 13 paragraphs
    assert "<http://www.youtube.com/watch?v=hBs1VGhNHuM>" in longest.quote
    assert "aux « ROUMICS »" in longest.quote  # nested « » kept, outer ones removed
    assert not longest.quote.startswith("«") and not longest.quote.endswith("»")
    assert "*développement durable*" in by_name(entries, "Eve FLAMENT").quote
    assert sum(e.quote.count("☺") for e in entries) == 3
    assert by_name(entries, "Guillaume LIBERSAT").quote.endswith("journées ☺")
    # A single line break inside a paragraph stays a single "\n".
    sabine = by_name(entries, "Sabine BLANC - Hélène GIRARD - Nathanaël SORIN RICHEZ").quote
    assert sabine.count("\n") == 1 and "\n\n" not in sabine
    assert by_name(entries, "Yoann DURIAUX").quote.endswith("« dire »... Bravo !")


def test_period_after_closing_guillemet_moves_inside() -> None:
    verges = by_name(seed_entries(), "Emmanuel VERGES").quote
    assert verges.endswith("très très intéressant.")
    assert "»" not in verges


def test_quote_without_closing_guillemet_ends_at_next_entry() -> None:
    text = seed_text()
    entries = parse_book(text).entries
    poilvert = by_name(entries, "Anne-Cécile POILVERT").quote
    assert poilvert.endswith("Merci encore.")
    # Remove her closing » (some copies of the book lack it) and the last one too.
    broken = text.replace("Merci encore. »", "Merci encore.", 1)
    broken = broken.rstrip().removesuffix("»").rstrip()
    assert broken.count("»") == text.count("»") - 2
    again = parse_book(broken).entries
    assert again == entries


def test_unclosed_quote_keeps_a_matched_opening() -> None:
    text = "Alice\nOrg\n\n« Bravo » à tous\n\nBob\n\n« Merci »\n"
    entries = parse_book(text).entries
    assert [e.quote for e in entries] == ["« Bravo » à tous", "Merci"]


def test_crlf_and_nfd_give_the_same_entries() -> None:
    text = seed_text()
    nfd = unicodedata.normalize("NFD", text).replace("\n", "\r\n")
    assert parse_book(nfd).entries == parse_book(text).entries


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        # Third line before the first entry: neither title, event line nor the entry.
        ("Livre d'or\n\nEvent\n\nStray\n\nName\n\nO1\nO2\nO3\n\n« q »\n", 5, "title"),
        ("Alice\nOrg\n\n« Hi »\n\nBob\nOrg\n", 6, "no quote"),
        ("Alice\nOrg\n\n« Hi »\n\nBob\nA\nB\nC\nD\n\n« Yo »\n", 10, "three organisation"),
        ("« Hi »\n", 1, "without a name"),
        ("Alice\n« Hi »\n« again »\n", 3, "without a name"),
        ("# Livre d'or\n\nstray text\n\n**A**\n\n« q »\n", 3, "cannot place"),
        ("# Livre d'or\n\n**A**\n*B*\n\n**C**\n\n« q »\n", 3, "no quote"),
        ("# T\n\n**A**\n*1*\n*2*\n*3*\n*4*\n\n« q »\n", 7, "three organisation"),
    ],
)
def test_malformed_book_reports_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(BookFormatError) as caught:
        parse_book(text)
    assert caught.value.line == line
    assert words in caught.value.message
    assert str(caught.value).startswith(f"line {line}: ")


def test_title_recognised_without_blank_lines() -> None:
    book = parse_book("Livre d'or\nMon événement\nAlice\nOrg\n« Hi »")
    assert (book.title, book.event) == ("Livre d'or", "Mon événement")
    assert book.entries == [BookEntry("Alice", ["Org"], "Hi")]
    assert parse_book("Alice\n« Hi »").entries == [BookEntry("Alice", [], "Hi")]


def test_import_key_is_stable_and_whitespace_blind() -> None:
    key = import_key("Alice  B", "Org", "Hello\n\nworld")
    assert key == import_key(" Alice B", "Org\n", "Hello world")
    assert key == import_key(unicodedata.normalize("NFD", "Alice B"), "Org", "Hello world")
    assert key != import_key("Alice B", "Other org", "Hello world")
    assert len(key) == 64 and int(key, 16) >= 0
    first = seed_entries()[0]
    assert first.import_key == import_key(first.name, first.organisation, first.quote)
    assert len({e.import_key for e in seed_entries()}) == 31
