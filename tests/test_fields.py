"""The field rules (storage/fields.py), and that all three ways in apply them: the attendee
conversation, organisers' corrections and ``livredor import``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.book.parse import BookFormatError, make_entry
from bot.services.texts import Texts
from storage import fields
from storage.fields import FieldError
from storage.models import Status
from tests.moderation.test_moderation import answer_prompt, card_of, press, submit
from tests.support import ORGANISER_ID, Harness
from tests.test_cli_book import livredor


def test_cleaning_removes_controls_and_normalises() -> None:
    assert fields.name(" Ad\x00a\tLove\u200blace \r\n") == "Ada Love\u200blace"
    assert fields.name("e\u0301mile") == "émile"
    assert fields.organisation("a\r\nb\x07\n\n  c  ") == "a\nb\nc"
    assert fields.quote("line 1\r\n\x00line 2\x1b[31m", 100) == "line 1\nline 2[31m"
    # Emoji sequences (zero-width joiners inside) and bidi marks are kept.
    assert fields.name("👩\u200d👩\u200d👧 \u202eRTL\u202c") == "👩\u200d👩\u200d👧 \u202eRTL\u202c"
    # Half an emoji (JSON's "\ud83d" without its pair) is not UTF-8: shown as "\ufffd".
    assert fields.quote("broken \ud83d, whole 😀", 100) == "broken \ufffd, whole 😀"


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda: fields.name("\u200b\u200d \ufeff"), "name_empty"),
        (lambda: fields.name("\x00\x01"), "name_empty"),
        (lambda: fields.name("x" * 101), "name_too_long"),
        (lambda: fields.organisation("a\nb\nc\nd"), "organisation_too_many_lines"),
        (lambda: fields.organisation("y" * 151), "organisation_line_too_long"),
        (lambda: fields.quote("\u200b", 100), "quote_empty"),
        (lambda: fields.quote("z" * 101, 100), "quote_too_long"),
        (lambda: fields.quote("z" * 100_001, 10**9), "quote_too_long"),
        (lambda: fields.reason("r" * 501), "reason_too_long"),
    ],
)
def test_rules_refuse(call: object, problem: str) -> None:
    with pytest.raises(fields.FieldError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.problem == problem


def test_book_entries_follow_the_rules() -> None:
    with pytest.raises(BookFormatError, match="name is 5000"):
        make_entry("n" * 5000, "", "quote", 3)
    entry = make_entry("Ada\x00", "Org\x00", "Hello\x00 world", 1)
    assert "\x00" not in entry.name + entry.organisation + entry.quote


def test_import_refuses_long_names_nul_and_deep_json(tmp_path: Path) -> None:
    book = tmp_path / "book.json"
    book.write_text(json.dumps([{"name": "n" * 5000, "quote": "hi"}]), encoding="utf-8")
    result = livredor(tmp_path, "import", str(book))
    assert result.returncode == 1 and "name is 5000 characters" in result.stderr
    book.write_text(json.dumps([{"name": "Ada\x00", "quote": "q" * 7000}]), encoding="utf-8")
    result = livredor(tmp_path, "import", str(book))
    assert result.returncode == 1 and "LIVREDOR_QUOTE_MAX_CHARS (6000)" in result.stderr
    book.write_text(json.dumps([{"name": "Ada\x00", "quote": "Hello\x00"}]), encoding="utf-8")
    result = livredor(tmp_path, "import", str(book))
    assert result.returncode == 0, result.stderr
    export = livredor(tmp_path, "export", "--format", "json")
    assert "\\u0000" not in export.stdout and '"Ada"' in export.stdout
    book.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    result = livredor(tmp_path, "import", str(book))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "nested too deeply" in result.stderr


async def test_conversation_refuses_an_invisible_name(harness: Harness) -> None:
    p = harness.person()
    await p.send("/start")
    replies = await p.send("\u200b\u200d\u2060")
    assert "can't be empty" in replies[0]["text"]
    await p.send("Ada\x00")
    draft = await harness.repo.get_draft(p.id)
    assert draft is not None and draft.name == "Ada"


async def test_corrections_follow_the_quote_limit_and_line_rules(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p)
    t = await card_of(harness, tid)
    card_id = t.card_message_ids[0]
    await press(harness, ORGANISER_ID, card_id, f"mod:edit:{tid}")
    for field, text, says in (
        ("quote", "q" * 6001, "the quote is 6,001 characters long, the limit is 6,000"),
        ("organisation", "a\nb\nc\nd", "the organisation has 4 lines, the limit is 3"),
        ("name", "\u200b", "the name is empty"),
    ):
        await press(harness, ORGANISER_ID, card_id, f"mod:field:{tid}:{field}")
        await answer_prompt(harness, text)
        assert f"Nothing was changed: {says}." in harness.group_messages()[-1]["text"]
    kept = await harness.repo.get(tid)
    assert kept is not None and kept.status is Status.PENDING
    assert (kept.name, kept.organisation, kept.quote) == (t.name, t.organisation, t.quote)


def test_every_field_problem_has_its_sentence_in_both_languages_and_for_the_log() -> None:
    """A ``FieldError`` names its problem; the bot says it from texts [fields] and the log
    from storage.fields' English: a problem raised without one crashed the handler (bulk
    found "note_too_long" missing). Every problem the code raises has all three."""
    root = Path(__file__).resolve().parents[1]
    raised: set[str] = set()
    pattern = re.compile(r"""(?:FieldError|check_length)\(\s*["']([a-z_]+)["']""")
    for folder in ("bot", "storage", "config"):
        for source in (root / folder).rglob("*.py"):
            raised.update(pattern.findall(source.read_text(encoding="utf-8")))
    assert {"name_empty", "quote_too_long", "note_too_long"} <= raised  # the search works
    texts = Texts.load()
    for problem in sorted(raised):
        FieldError(problem, {"length": 2, "limit": 1, "count": 2})  # its English exists
        for language in ("en", "fr"):
            assert texts(language, f"fields.{problem}", length=2, limit=1, count=2), problem
