"""Writing the book (md, html, csv, json) and reading it back."""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import cmarkgfm
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from bot.book.formats import CSV_COLUMNS, telegram_links, to_csv, to_html, to_json, to_markdown
from bot.book.imports import entries_from_csv, entries_from_json, read_entries, sniff_format
from bot.book.parse import BookEntry, BookFormatError, make_entry, normalize_name, parse_book
from bot.services.typography import unframed
from storage.models import Status
from storage.models import Testimonial as Row  # not Test*: pytest would collect it
from tests.test_book import seed_entries

EVENT = "ROUMICS 2012 « Innovation sociale et numérique »"
WHEN = datetime(2012, 11, 23, 18, 30, tzinfo=UTC)


def make_testimonial(entry: BookEntry, number: int = 1, **changes: object) -> Row:
    """Build an approved, imported testimonial from a book entry."""
    fields: dict[str, object] = {
        "id": number,
        "user_id": None,
        "status": Status.PUBLISHED,
        "step": None,
        "language": "fr",
        "name": entry.name,
        "organisation": entry.organisation,
        "quote": entry.quote,
        "created_at": WHEN,
        "updated_at": WHEN,
        "decided_at": WHEN,
        "decided_by_name": "Julie",
        "approved_seq": number,
        "published_at": WHEN,
        "channel_message_ids": (100 + number, 200 + number),
        "source": "import",
        "import_key": entry.import_key,
    }
    fields.update(changes)
    return Row(**fields)  # type: ignore[arg-type]


def seed_testimonials() -> list[Row]:
    return [make_testimonial(e, n) for n, e in enumerate(seed_entries(), start=1)]


NASTY = [
    Row(
        id=1,
        user_id=7,
        status=Status.APPROVED,
        step=None,
        language="fr",
        name='<script>alert("x")</script> & Zoé O\'Brien, "Zed"',
        organisation='=HYPERLINK("http://evil")\n<b>Bold & co</b>, Ltd\n# not a heading',
        quote=(
            "Line with <script>alert(1)</script> & &amp; 'quotes' \"double\", commas\n"
            "second line 🎉👍🏽 ☺\n\n"
            "**not bold** _nor_ `code` [link](http://x) \\ back\\slash\\\n\n"
            "- not a list\n1. not ordered\n> not quoted\n---\n« nested » »» «\n\n"
            "+42 @all -- end with a backslash \\"
        ),
        created_at=WHEN,
        updated_at=WHEN,
        decided_by_name="-Admin",
        channel_message_ids=(5,),
    ),
    Row(
        id=2,
        user_id=8,
        status=Status.APPROVED,
        step=None,
        language="en",
        name="**Star** \\ name_",
        organisation="",
        quote="'Leading apostrophe\r\nand CRLF\ttab » .",
        created_at=WHEN,
        updated_at=WHEN,
    ),
]


def test_markdown_round_trip_of_the_seed() -> None:
    entries = seed_entries()
    markdown = to_markdown(seed_testimonials(), EVENT)
    book = parse_book(markdown)
    assert (book.title, book.event) == ("Livre d’or", EVENT)
    assert len(book.entries) == 31
    assert book.entries == entries
    assert read_entries(markdown) == entries


#: What GFM's autolinking takes by itself, typed around brackets, parentheses, underscores.
LINKS = (
    "(voir <http://www.youtube.com/watch?v=hBs1VGhNHuM>) et <https://a.org/x_y_z>\n"
    "http://x.org/a_b_c/_d_ puis www.foo_bar.org/x_y_, écrire à jean_dupont@x.org.\n"
    "https://fr.wikipedia.org/wiki/Foo_(bar) (http://x.org/p_(q)) ?a=1&b=2&amp;c *gras*\n\n"
    "ftp://x_y.org/a_b\\c et \\https://b.org/ et [lien](http://c.org/d_e)"
)
LINK_TARGETS = {
    "http://www.youtube.com/watch?v=hBs1VGhNHuM",
    "https://a.org/x_y_z",
    "http://x.org/a_b_c/_d",
    "http://www.foo_bar.org/x_y",
    "mailto:jean_dupont@x.org",
    "https://fr.wikipedia.org/wiki/Foo_(bar)",
    "http://x.org/p_(q)",
    "ftp://x_y.org/a_b%5Cc",
    "https://b.org/",
    "http://c.org/d_e",
}


def _rendered(markup: str) -> tuple[str, set[str]]:
    """The text a reader sees in rendered HTML, and the links' targets."""
    targets = {html.unescape(t) for t in re.findall(r'href="([^"]*)"', markup)}
    return html.unescape(re.sub(r"<[^>]+>", "", markup)), targets


def test_markdown_renders_as_typed_under_gfm() -> None:
    """Issue 21, item 17: rendered by GitHub's cmark-gfm and by markdown-it with linkify,
    the book shows every line as typed (the brackets of "(voir <http://...>)" were lost,
    URLs with "_" were cut or showed backslashes), each URL links to itself, and the file
    still reads back exactly."""
    entries = [*seed_entries(), make_entry("Zoé_Z http://z.org/a_b", ["www.o_k.org"], LINKS, 0)]
    book = [make_testimonial(e, n) for n, e in enumerate(entries, start=1)]
    markdown = to_markdown(book, EVENT)
    assert parse_book(markdown).entries == entries
    renderers = {
        "cmark-gfm": cmarkgfm.github_flavored_markdown_to_html,
        "markdown-it": MarkdownIt("gfm-like", {"linkify": True}).render,
    }
    for renderer, render in renderers.items():
        text, targets = _rendered(render(markdown))
        for entry in entries:
            lines = [entry.name, *entry.organisation_lines, *entry.quote.split("\n")]
            missing = [line for line in lines if line.strip() and line not in text]
            assert not missing, (renderer, missing)
        assert LINK_TARGETS | {"http://z.org/a_b", "http://www.o_k.org"} <= targets, renderer
        assert not [t for t in targets if "\\" in t or t.endswith(("_", ">"))], renderer


def test_markdown_reads_like_the_seed() -> None:
    markdown = to_markdown(seed_testimonials(), EVENT)
    assert markdown.startswith(f"# Livre d’or\n\n## {EVENT}\n\n**François MOREAU**\\\n*Coord")
    assert "\n*Conseil Régional Nord-Pas de Calais*\n\n«\u00a0Je suis allé " in markdown
    assert "**Jacques DUGHERA**\\\n*Chargé de mission ESS - Lille Métropole*\n\n«\u00a0" in markdown
    assert "\\*développement durable\\*" in markdown  # the user's asterisks, shown as typed
    # The brackets typed around the link stay brackets; the link is an explicit one.
    youtube = "http://www.youtube.com/watch?v=hBs1VGhNHuM"
    assert f"(voir \\<[{youtube}](<{youtube}>)>)" in markdown
    assert "organisation !\\\nMerci Julie" not in markdown
    assert "bel événement, chouette brochette d'intervenants et lieu superbe.\\\n" in markdown


def test_csv_round_trip_of_the_seed() -> None:
    links = telegram_links("@roumics")
    text = to_csv(seed_testimonials(), EVENT, channel_links=links)
    assert text.startswith("\ufeffid,status,name,organisation,quote,")
    assert entries_from_csv(text) == seed_entries()
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    assert len(rows) == 31 and tuple(rows[0]) == CSV_COLUMNS
    assert rows[0]["channel_links"] == "https://t.me/roumics/101\nhttps://t.me/roumics/201"
    assert rows[0]["decided_at"] == "2012-11-23T18:30:00+00:00"
    assert rows[0]["organisation"].count("\n") == 2
    assert rows[4]["import_key"] == seed_entries()[4].import_key


def test_json_round_trip_of_the_seed() -> None:
    text = to_json(seed_testimonials(), EVENT, exported_at=WHEN)
    document = json.loads(text)
    assert list(document)[:2] == ["event", "exported_at"]
    assert document["event"] == EVENT and document["exported_at"] == "2012-11-23T18:30:00+00:00"
    assert document["count"] == 31
    first = document["testimonials"][0]
    assert first["status"] == "published" and first["channel_message_ids"] == [101, 201]
    assert first["created_at"] == "2012-11-23T18:30:00+00:00" and first["consent_at"] is None
    assert "☺" in text and "\\u" not in text  # ensure_ascii=False
    assert entries_from_json(text) == seed_entries()


@pytest.mark.parametrize("count", [0, 1, 31])
def test_json_written_piece_by_piece_is_what_json_dumps_writes(count: int) -> None:
    """/export streams the JSON a testimonial at a time: byte for byte json.dumps's layout."""
    text = to_json(seed_testimonials()[:count], EVENT, exported_at=WHEN)
    assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=2) + "\n"


def test_nasty_content_html_is_escaped() -> None:
    html = to_html(NASTY, 'Event <i>"&"</i>')
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Zoé O&#39;Brien" in html
    assert "Event &lt;i&gt;&#34;&amp;&#34;&lt;/i&gt;" in html
    assert "&amp;amp;" in html and "🎉👍🏽" in html
    assert '<a href="http://x">http://x</a>' in html  # http(s) links only, escaped
    assert "<br>" in html  # the line break inside a paragraph


def test_the_consent_an_attendee_agreed_to_is_in_the_csv_and_the_json() -> None:
    """What they read when they pressed "Yes, I agree", word for word: an organiser asked
    to show it has it in the file they keep."""
    wording = "I agree that my testimonial may be published, with my name, in the channel."
    [first, *_] = seed_testimonials()
    agreed = dataclasses.replace(first, consent_text=wording)
    [row] = list(csv.DictReader(io.StringIO(to_csv([agreed], EVENT, bom=False), newline="")))
    assert row["consent_text"] == wording and row["consent_at"] == ""
    [item] = json.loads(to_json([agreed], EVENT))["testimonials"]
    assert item["consent_text"] == wording


def test_nasty_content_csv_and_json_are_exact() -> None:
    text = to_csv(NASTY, "", bom=False)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(CSV_COLUMNS)
    for t, row in zip(NASTY, rows[1:], strict=True):
        cells = dict(zip(CSV_COLUMNS, row, strict=True))
        unguarded = {k: v[1:] if v.startswith("'") else v for k, v in cells.items()}
        assert unguarded["name"] == t.name
        assert unguarded["organisation"] == t.organisation
        assert unguarded["quote"] == t.quote
    # A cell a spreadsheet would run as a formula is defused with a leading '.
    assert rows[1][CSV_COLUMNS.index("organisation")].startswith("'=HYPERLINK")
    assert rows[1][CSV_COLUMNS.index("decided_by_name")] == "'-Admin"
    assert rows[2][CSV_COLUMNS.index("quote")].startswith("''Leading")
    document = json.loads(to_json(NASTY, "<&>"))
    assert document["event"] == "<&>"
    for t, item in zip(NASTY, document["testimonials"], strict=True):
        assert (item["name"], item["organisation"], item["quote"]) == (
            t.name,
            t.organisation,
            t.quote,
        )


def test_nasty_content_round_trips_through_every_format() -> None:
    expected = [make_entry(t.name, t.organisation, t.quote, 0) for t in NASTY]
    assert expected[0].name == '<script>alert("x")</script> & Zoé O\'Brien, "Zed"'
    markdown = to_markdown(NASTY, "# Event *")
    assert "<script" not in markdown.replace("\\<script", "")  # only escaped: \<script
    book = parse_book(markdown)
    assert book.event == "# Event *"
    assert book.entries == expected
    assert entries_from_csv(to_csv(NASTY, "")) == expected
    assert entries_from_json(to_json(NASTY, "")) == expected


_text = st.text(
    st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Z", "Cc", "Cf", "Co"))
    | st.sampled_from("«»*\\#-<>&_ \n"),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(name=_text, organisation=_text, quote=_text, event=_text)
@example(name="A", organisation="", quote="«\n« a »\n\n b »", event="")
def test_markdown_round_trip_of_any_text(
    name: str, organisation: str, quote: str, event: str
) -> None:
    try:
        entry = make_entry(name, organisation, quote, 0)
    except BookFormatError:
        return  # empty name or quote, or four organisation lines: not an entry
    t = make_testimonial(entry)
    book = parse_book(to_markdown([t], event, title=event or "Livre d'or"))
    # A quote the attendee put in quotation marks is printed in one pair, the book's own, and
    # so reads back without them; every other quote reads back exactly.
    assert book.entries == [dataclasses.replace(entry, quote=unframed(entry.quote))]
    assert book.event == (normalize_name(event) or None)
    assert book.title == normalize_name(event or "Livre d'or")
    assert entries_from_csv(to_csv([t], "")) == [entry]


def test_a_quote_in_its_own_quotation_marks_is_printed_in_one_pair() -> None:
    typed = "« Merci pour l’accueil\u202f! »"
    t = make_testimonial(make_entry("Ada", "", typed, 0))
    assert "\n«\u00a0Merci pour l’accueil\u202f!\u00a0»\n" in to_markdown([t], "E")
    assert "«&nbsp;Merci pour l’accueil\u202f!&nbsp;»" in to_html([t], "E")
    assert "« «" not in to_markdown([t], "E") + to_html([t], "E")
    # CSV and JSON are data: the quote as typed.
    assert entries_from_csv(to_csv([t], ""))[0].quote == typed
    assert json.loads(to_json([t], ""))["testimonials"][0]["quote"] == typed


def test_more_than_three_organisation_lines_are_merged_not_lost() -> None:
    t = make_testimonial(BookEntry("A", [], "q"), organisation="1\n2\n3\n4")
    [entry] = parse_book(to_markdown([t], "E")).entries
    assert entry.organisation_lines == ["1", "2", "3 - 4"]


def test_html_is_self_contained_and_prints_on_a4() -> None:
    html = to_html(seed_testimonials(), EVENT)
    assert html.startswith("<!doctype html>")
    for external in ("<link", "<script", "src=", "@import", "url("):
        assert external not in html
    assert "size: A4" in html and "break-inside: avoid" in html
    assert html.count('<article class="entry">') == 31
    assert "<h1>Livre d’or</h1>" in html
    assert '<p class="org">Programme Alimentaire Mondial des Nations Unies (PAM)<br>PAM' in html
    assert "<p>«&nbsp;La table-ronde" in html
    assert '<a href="http://www.youtube.com/watch?v=hBs1VGhNHuM">' in html


def test_readers_sniff_the_format(tmp_path: Path) -> None:
    ts = seed_testimonials()[:3]
    expected = seed_entries()[:3]
    files = {
        "book.md": to_markdown(ts, EVENT),
        "book.csv": to_csv(ts, EVENT),
        "book.json": to_json(ts, EVENT),
        "book.txt": to_markdown(ts, EVENT),  # a renamed Markdown file is still read right
        "book": to_csv(ts, EVENT),
    }
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8", newline="")
        assert read_entries(path) == expected, name
        assert read_entries(text) == expected, name
    assert sniff_format(files["book.json"]) == "json"
    assert sniff_format(files["book.csv"]) == "csv"
    assert sniff_format(files["book.md"]) == "md"
    assert sniff_format("Alice\n« Hi »") == "txt"
    assert read_entries("**A**\n\n« q »", format="txt") == [BookEntry("**A**", [], "q")]


def test_readers_accept_spreadsheet_csv_and_report_errors() -> None:
    excel = 'name;organisation;quote\r\nAlice;"Org\nDept";"Hi\n\nthere"\r\nBob;;Yo\r\n'
    entries = entries_from_csv(excel)
    assert entries == [
        BookEntry("Alice", ["Org", "Dept"], "Hi\n\nthere"),
        BookEntry("Bob", [], "Yo"),
    ]
    assert [e.line for e in entries] == [2, 6]  # where each row starts
    with pytest.raises(BookFormatError) as caught:
        entries_from_csv("name,quote\nAlice,Hi\nBob,\n")
    assert caught.value.line == 3
    with pytest.raises(BookFormatError) as caught:
        entries_from_json('{"testimonials": [\n{"name": "A", "quote": "q"}, {"name": "B"}]}')
    assert caught.value.line == 2
    with pytest.raises(BookFormatError) as caught:
        entries_from_json('{\n"testimonials": [,]}')
    assert caught.value.line == 2


def test_telegram_links() -> None:
    t = make_testimonial(BookEntry("A", [], "q"), channel_message_ids=(3, 4))
    assert list(telegram_links("@chan")(t)) == ["https://t.me/chan/3", "https://t.me/chan/4"]
    assert list(telegram_links(-1001234567890)(t)) == [
        "https://t.me/c/1234567890/3",
        "https://t.me/c/1234567890/4",
    ]
    assert list(telegram_links("https://t.me/chan")(t)) == [
        "https://t.me/chan/3",
        "https://t.me/chan/4",
    ]
