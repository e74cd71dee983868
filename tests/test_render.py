"""Channel post HTML: layout, escaping, and splitting into messages Telegram accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.sandbox.html_check import TelegramHTMLError, parse_telegram_html
from bot.services.render import (
    DEFAULT_LIMIT,
    TELEGRAM_LIMIT,
    join_parts_plain,
    post_header_html,
    post_html,
    quote_paragraphs_html,
    render_post_parts,
    split_html_paragraphs,
)
from storage.textlength import telegram_length

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seed" / "000_6078c713f019cbe3.txt"


def check_parts(parts: list[str], whole_html: str, limit: int, marker: str = "({i}/{n})") -> None:
    """Assert every part is valid and within the limit, and the parts rebuild the whole."""
    plains = [parse_telegram_html(part) for part in parts]  # raises if Telegram would refuse
    assert all(telegram_length(plain) <= limit for plain in plains), [
        telegram_length(p) for p in plains
    ]
    assert join_parts_plain(plains, marker=marker) == parse_telegram_html(whole_html)


def seed_first_entry() -> tuple[str, str, str]:
    """Return name, organisation and quote (without « ») of the seed's first, longest entry."""
    if not SEED.exists():
        pytest.skip(f"seed livre d'or not found at {SEED} (it lives outside the repository)")
    lines = SEED.read_text(encoding="utf-8").split("\n")
    first = lines.index("François MOREAU")
    start = next(i for i in range(first, len(lines)) if lines[i].startswith("«"))
    end = next(i for i in range(start, len(lines)) if lines[i].rstrip().endswith("»"))
    organisation = "\n".join(line.strip() for line in lines[first + 1 : start] if line.strip())
    quote = "\n".join(lines[start : end + 1]).strip().removeprefix("«").removesuffix("»").strip()
    return "François MOREAU", organisation, quote


def test_post_layout() -> None:
    html = post_html("Rucha NAWARE", "PAM\nPAM c/o UNESCO", "Un.\nDeux.\n\nTrois ☺", hashtag="X")
    assert html == (
        "<b>Rucha NAWARE</b>\n<i>PAM</i>\n<i>PAM c/o UNESCO</i>\n\n"
        "«\u00a0Un.\nDeux.\n\nTrois ☺\u00a0»\n\n#X"
    )
    assert render_post_parts(
        "Rucha NAWARE", "PAM\nPAM c/o UNESCO", "Un.\nDeux.\n\nTrois ☺", hashtag="X"
    ) == [html]


def test_post_without_organisation_and_untidy_quote() -> None:
    html = post_html("  Florence ", "\n  \n", "\n  Merci !  \n \n\n\n Bravo.  \n")
    assert html == "<b>Florence</b>\n\n«\u00a0Merci !\n\n Bravo.\u00a0»"


@pytest.mark.parametrize(
    "typed",
    [
        "« Merci pour l’accueil ! »",
        "«Merci pour l’accueil !»",
        "«\u00a0Merci pour l’accueil !\u202f»",
        '"Merci pour l’accueil !"',
        "“Merci pour l’accueil !”",
        "  « Merci pour l’accueil ! »\n",
    ],
)
def test_a_quote_in_its_own_quotation_marks_gets_one_pair(typed: str) -> None:
    """The attendee's pair around the whole quote is the frame: ours replaces it."""
    assert post_html("A", "", typed) == "<b>A</b>\n\n«\u00a0Merci pour l’accueil !\u00a0»"


@pytest.mark.parametrize(
    "typed",
    [
        "« Bravo » à tous, « merci »",  # two quotations, not one
        '"Bravo" et "merci"',
        "« Bravo « à tous »",  # unbalanced: which » closes which « is not known
        "Il a dit « merci »",
        "« »",
        "«»",
    ],
)
def test_guillemets_that_do_not_hold_the_whole_quote_are_kept(typed: str) -> None:
    assert parse_telegram_html(post_html("A", "", typed)) == f"A\n\n«\u00a0{typed}\u00a0»"


def test_a_quote_in_quotation_marks_keeps_its_paragraphs_and_nested_marks() -> None:
    typed = "« Un « beau » jour.\n\nDeux. »"
    assert quote_paragraphs_html(typed) == ["«\u00a0Un « beau » jour.", "Deux.\u00a0»"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ROUMICS2012", "#ROUMICS2012"),
        ("#ROUMICS 2012!", "#ROUMICS2012"),
        ("Lille_été", "#Lille_été"),
    ],
)
def test_hashtag_is_sanitised(raw: str, expected: str) -> None:
    assert post_html("A", "", "q", hashtag=raw).endswith("\n\n" + expected)


@pytest.mark.parametrize("raw", [None, "", "#", "<&> !"])
def test_empty_hashtag_is_left_out(raw: str | None) -> None:
    assert post_html("A", "", "q", hashtag=raw) == "<b>A</b>\n\n«\u00a0q\u00a0»"


@pytest.mark.parametrize("name", ["<b>Bob</b> & Co", "&", "&amp;", "<", "a > b", '"&lt;"'])
def test_user_text_shows_literally(name: str) -> None:
    plain = parse_telegram_html(post_html(name, f"{name}\n<i>x</i>", f"{name}\n\n</b>"))
    assert plain == f"{name}\n{name}\n<i>x</i>\n\n«\u00a0{name}\n\n</b>\u00a0»"


def test_seed_longest_testimonial_splits_into_valid_parts() -> None:
    name, organisation, quote = seed_first_entry()
    assert len(quote) == 4330
    parts = render_post_parts(name, organisation, quote, hashtag="ROUMICS2012")
    assert len(parts) >= 2
    whole = post_html(name, organisation, quote, hashtag="ROUMICS2012")
    check_parts(parts, whole, TELEGRAM_LIMIT)
    check_parts(parts, whole, DEFAULT_LIMIT)
    assert parts[0].startswith(post_header_html(name, organisation) + "\n\n«\u00a0Je suis allé")
    assert parts[0].endswith(".\n\n(1/2)")  # cut at a paragraph
    assert parts[-1].endswith("bénévoles.\u00a0»\n\n#ROUMICS2012\n\n(2/2)")
    rebuilt = join_parts_plain([parse_telegram_html(part) for part in parts])
    assert f"«\u00a0{quote}\u00a0»" in rebuilt


@pytest.mark.parametrize("limit", [300, 700, 1500])
def test_seed_with_small_limits_many_parts(limit: int) -> None:
    name, organisation, quote = seed_first_entry()
    parts = render_post_parts(name, organisation, quote, limit=limit)
    assert len(parts) >= 4
    check_parts(parts, post_html(name, organisation, quote), limit)
    assert parts[-1].endswith(f"\n\n({len(parts)}/{len(parts)})")


def test_cut_prefers_sentences_to_words() -> None:
    quote = " ".join(["Une phrase de quelques mots qui finit bien."] * 40)
    parts = render_post_parts("A", "", quote, limit=500)
    check_parts(parts, post_html("A", "", quote), 500)
    assert all(part.endswith(f"bien. ({i}/{len(parts)})") for i, part in enumerate(parts[:-1], 1))


def test_word_longer_than_a_message_is_cut_between_characters() -> None:
    """Last resort: a 5,000-character 'word' is cut inside, but never inside an entity."""
    quote = "&<>e\u0301" * 1000  # 5,000 characters, 14,000 once escaped
    parts = render_post_parts("A", "", quote)
    assert len(parts) == 2
    check_parts(parts, post_html("A", "", quote), DEFAULT_LIMIT)
    for part in parts[1:]:
        assert not part.startswith("\u0301")  # nor between a letter and its accent


def test_emoji_count_twice() -> None:
    quote = "😀" * 2100  # 2,100 characters but 4,200 UTF-16 units
    parts = render_post_parts("A", "", quote, limit=TELEGRAM_LIMIT)
    assert len(parts) == 2
    check_parts(parts, post_html("A", "", quote), TELEGRAM_LIMIT)


def test_markers_widen_past_nine_parts_and_are_escaped() -> None:
    marker = "<{i} sur {n}>"
    quote = "\n\n".join(f"Paragraphe {i} : " + "mot " * 30 for i in range(40))
    parts = render_post_parts("A", "B", quote, limit=400, marker=marker)
    assert len(parts) > 10
    check_parts(parts, post_html("A", "B", quote), 400, marker)
    assert parts[-1].endswith(f"&lt;{len(parts)} sur {len(parts)}&gt;")


def test_split_keeps_elements_whole_for_cards() -> None:
    header = "<b>Card</b>\n<i>from @someone</i>"
    body = [f"<i>{'word ' * 60}</i> tail {'x ' * 60}" for _ in range(6)]
    parts = split_html_paragraphs(header, body, limit=500, marker="({i}/{n})")
    check_parts(parts, "\n\n".join([header, *body]), 500)
    assert parts[0].startswith(header)
    for part in parts:
        assert part.count("<i>") == part.count("</i>")


def test_card_reuses_the_post_pieces() -> None:
    """A moderation card: author info above the post, split the same way."""
    name, organisation, quote = "Bob <admin>", "ACME & Co", "Long. " * 1000
    header = "<b>#42</b> from Bob (@bob)\n\n" + post_header_html(name, organisation)
    parts = split_html_paragraphs(header, quote_paragraphs_html(quote), limit=DEFAULT_LIMIT)
    assert len(parts) == 2
    assert parts[0].startswith(header + "\n\n«\u00a0Long.")
    whole = header + "\n\n" + post_html(name, organisation, quote).split("\n\n", 1)[1]
    check_parts(parts, whole, DEFAULT_LIMIT)


def test_split_refuses_what_cannot_fit() -> None:
    with pytest.raises(ValueError, match="cannot split"):
        split_html_paragraphs(
            "<b>" + "H" * 600 + "</b>", ["body " * 200], limit=500, marker="({i}/{n})"
        )
    with pytest.raises(ValueError, match="cannot split"):
        split_html_paragraphs("", ["<i>" + "x " * 600 + "</i>"], limit=500, marker="({i}/{n})")


def test_join_parts_plain_checks_markers() -> None:
    assert join_parts_plain(["only one"]) == "only one"
    assert join_parts_plain(["a (1/2)", "b\n\n(2/2)"]) == "a b"
    with pytest.raises(ValueError, match="marker"):
        join_parts_plain(["a (1/3)", "b\n\n(2/2)"])


def test_parse_rejects_broken_html_sanity() -> None:
    """The checker really is strict, so the property tests below prove something."""
    with pytest.raises(TelegramHTMLError):
        parse_telegram_html("<b>x")
    with pytest.raises(TelegramHTMLError):
        parse_telegram_html("a &am")


# Everything a phone keyboard can send, with the characters that break naive code weighted up.
def text_of(
    pieces: st.SearchStrategy[str], min_size: int = 0, max_size: int = 300
) -> st.SearchStrategy[str]:
    """Text made of ``pieces``, some longer than one character."""
    return st.lists(pieces, min_size=min_size, max_size=max_size).map("".join)


# Everything a phone keyboard can send, with what breaks naive code weighted up: markup,
# entities, emoji (2 UTF-16 units, ZWJ sequences), RTL, combining marks, newlines, « ».
_MARKUP = ["<", ">", "&", '"', "'", "&amp;", "<b>", "</i>"]
_SCRIPTS = ["😀", "👩\u200d👩\u200d👧", "e\u0301", "\u0301", "שלום", "مرحبا"]
_LAYOUT = ["\n", "\n\n", "\n \n", " ", "  ", ". ", "! ", "«", "»", "\u00a0", "\t"]
TRICKY = st.sampled_from([*_MARKUP, *_SCRIPTS, *_LAYOUT])
CHARS = st.characters(exclude_categories=("Cs", "Cc"))
PIECE = st.one_of(CHARS, TRICKY)
SOLID = st.one_of(
    CHARS.filter(lambda c: not c.isspace()), st.sampled_from(["&", "<>", "😀", "\u0301"])
)


def repeated(pieces: st.SearchStrategy[str], times: int) -> st.SearchStrategy[str]:
    """A short text repeated up to ``times``: long texts without hitting Hypothesis's budget."""
    return st.tuples(text_of(pieces, 1, 60), st.integers(1, times)).map(lambda t: t[0] * t[1])


# Long quotes come from repeated chunks; a "word" with no space longer than a message
# (a repeated SOLID chunk) must still be cut, between characters, as the last resort.
QUOTE = st.lists(
    st.one_of(text_of(PIECE, 0, 100), repeated(PIECE, 100), repeated(SOLID, 300)), max_size=8
).map(lambda chunks: "".join(chunks)[:6000])
NAME = text_of(PIECE, 1, 100).map(lambda name: name[:100])
ORGANISATION = st.lists(text_of(PIECE, 0, 80), max_size=3).map("\n".join)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    name=NAME,
    organisation=ORGANISATION,
    quote=QUOTE,
    hashtag=st.none() | st.text(max_size=20),
    limit=st.sampled_from([TELEGRAM_LIMIT, DEFAULT_LIMIT]) | st.integers(900, TELEGRAM_LIMIT),
)
def test_any_testimonial_splits_into_valid_parts_that_rebuild_it(
    name: str, organisation: str, quote: str, hashtag: str | None, limit: int
) -> None:
    parts = render_post_parts(name, organisation, quote, hashtag=hashtag, limit=limit)
    whole = post_html(name, organisation, quote, hashtag=hashtag)
    check_parts(parts, whole, limit)
    assert parts[0].startswith(post_header_html(name, organisation))
    if len(parts) == 1:
        assert parts == [whole]
    # Telegram trims each message: a part must not start with a space it would lose. Only a
    # run of spaces longer than half a message leaves no other choice.
    if not re.search(rf"\s{{{limit // 2}}}", quote):
        assert not any(parse_telegram_html(part)[:1].isspace() for part in parts[1:])
