"""The migration to an integer ``version`` and a draft's quote derived from its parts: a
database written before it keeps every testimonial intact, and works on afterwards."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import storage.database as database_module
from storage.database import Database
from storage.migrations import MIGRATIONS, SCHEMA_VERSION
from storage.models import Signature, Status, Step, SubmitResult
from storage.testimonials import Repository
from tests.support import new_database, open_new_database

#: The index of the step that adds ``version`` (found by content, so that a migration
#: appended before it by someone else does not break this test).
VERSION_STEP = next(
    i for i, step in enumerate(MIGRATIONS) if any("ADD COLUMN version" in s for s in step)
)
WHEN = "2026-11-25T10:00:00.000000+00:00"


async def old_database(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database as the previous livredor left it: a draft storing its quote twice, a
    pending, a published and an imported testimonial. Return its path."""
    path = folder / "before-version.db"
    with monkeypatch.context() as patch:
        patch.setattr(database_module, "MIGRATIONS", MIGRATIONS[:VERSION_STEP])
        patch.setattr(database_module, "SCHEMA_VERSION", VERSION_STEP)
        db = await Database.open(path)
        try:
            for user in (1, 2, 3):
                await db.execute(
                    "INSERT INTO users (user_id, first_name, created_at, updated_at)"
                    " VALUES (?, 'U', ?, ?)",
                    (user, WHEN, WHEN),
                )
            insert = (
                "INSERT INTO testimonials (id, user_id, status, step, language, name,"
                " organisation, quote, quote_parts, answer_messages, created_at, updated_at,"
                " approved_seq, channel_message_ids, source, import_key)"
                " VALUES (?, ?, ?, ?, 'fr', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            )
            paragraphs = ["Premier « paragraphe ».", "Second ☺"]
            quote = "\n\n".join(paragraphs)
            answers = json.dumps({"10": "name", "11": "quote:0", "12": "quote:1"})
            Row = tuple[int, int | None, str, str | None, str, str, str, str, str]
            rows: list[Row] = [
                (1, 1, "draft", "preview", "Ada", "Org", quote, json.dumps(paragraphs), answers),
                (2, 2, "pending", None, "Bob", "", quote, json.dumps(paragraphs), answers),
                (3, 3, "published", None, "Cy", "A\nB", "Mot.", '["Mot."]', "{}"),
                (4, None, "approved", None, "Imported", "", "Sur papier.", "[]", "{}"),
            ]
            for seq, (tid, owner, status, step, name, org, text, parts, ans) in enumerate(rows):
                await db.execute(
                    insert,
                    (
                        tid,
                        owner,
                        status,
                        step,
                        name,
                        org,
                        text,
                        parts,
                        ans,
                        WHEN,
                        WHEN,
                        seq if status in ("published", "approved") else None,
                        "[41]" if status == "published" else "[]",
                        "import" if owner is None else "bot",
                        "key-4" if owner is None else None,
                    ),
                )
        finally:
            await db.close()
    return path


async def test_old_database_migrates_with_every_testimonial_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = await Database.open(await old_database(tmp_path, monkeypatch))
    try:
        assert await db.schema_version() == SCHEMA_VERSION
        repo = Repository(db)
        quote = "Premier « paragraphe ».\n\nSecond ☺"

        draft = await repo.get_draft(1)
        assert draft is not None and draft.version == 0
        assert (draft.name, draft.organisation, draft.quote) == ("Ada", "Org", quote)
        assert draft.quote_parts == ("Premier « paragraphe ».", "Second ☺")
        assert draft.answer_messages == {"10": "name", "11": "quote:0", "12": "quote:1"}
        assert draft.step is Step.PREVIEW
        # The draft's quote is no longer stored beside its parts.
        row = await db.fetchone("SELECT quote FROM testimonials WHERE id = 1")
        assert row is not None and row[0] == ""

        pending = await repo.get(2)
        assert pending is not None and pending.status is Status.PENDING
        assert pending.quote == quote and pending.quote_parts == ()
        assert pending.answer_messages == {}
        # Migration 16: sent before the thanks was recorded, so confirmed as far as anyone
        # knows (a restart does not thank its author again).
        assert pending.submission_confirmed and pending.created_by_update is None
        # Migration 11: no approval yet, and one can be counted (once per organiser).
        assert pending.approvals == ()
        counted, added = await repo.add_approval(2, 500, "Olga")
        assert added and counted is not None and [a.name for a in counted.approvals] == ["Olga"]
        assert (await repo.add_approval(2, 500, "Olga"))[1] is False
        # Migration 15: the words as sent are version 1, the one the author agreed to; an
        # organiser's edit waits beside them until the author answers.
        assert (pending.words_version, pending.agreed_words_version) == (1, 1)
        proposed = await repo.propose_edit(2, "name", "Bobby", by=500, by_name="Olga")
        assert proposed is not None and proposed.name == "Bob" and proposed.proposal is not None
        assert proposed.approvals == ()  # given to other words
        assert await repo.proposals_to_send() == [2]
        agreed = await repo.answer_proposal(2, proposed.proposal.rev, accept=True)
        assert agreed is not None and agreed.name == "Bobby" and agreed.agreed_words_version == 2
        published = await repo.get(3)
        assert published is not None and published.quote == "Mot."
        assert published.organisation == "A\nB" and published.channel_message_ids == (41,)
        assert [t.quote for t in await repo.list_for_book()] == ["Mot.", "Sur papier."]

        # It works on: the compare-and-set on version, and the submission.
        moved = await repo.update_draft(draft, consent_text="I agree")
        assert moved is not None and moved.version == 1
        assert await repo.update_draft(draft, name="stale") is None
        result, submitted = await repo.submit(
            1, max_pending=3, author_name="Ada", author_username=None
        )
        assert result is SubmitResult.SUBMITTED and submitted is not None
        assert submitted.quote == quote and submitted.quote_parts == ()
    finally:
        await db.close()


async def test_a_draft_stores_its_parts_and_the_submission_its_quote(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "new.db")
    try:
        repo = Repository(db)
        await repo.upsert_user(1, "Ada", None, None)
        started = await repo.start_draft(1, "en")
        draft = await repo.update_draft(started, name="Ada", quote_parts=["One.", "Two."])
        assert draft is not None and draft.quote == "One.\n\nTwo."
        with pytest.raises(ValueError, match="not a draft column: quote"):
            await repo.update_draft(draft, quote="Stored twice")
        select = "SELECT quote, quote_parts, answer_messages FROM testimonials WHERE id = ?"
        stored = await db.fetchone(select, (draft.id,))
        assert stored is not None and tuple(stored) == ("", '["One.", "Two."]', "{}")
        consented = await repo.update_draft(draft, consent_text="yes")
        assert consented is not None
        _, pending = await repo.submit(
            consented.id, max_pending=3, author_name="A", author_username=None
        )
        assert pending is not None and pending.quote == "One.\n\nTwo."
        stored = await db.fetchone(select, (draft.id,))
        assert stored is not None and tuple(stored) == ("One.\n\nTwo.", "[]", "{}")
    finally:
        await db.close()


async def test_a_draft_keeps_its_prompt_and_typed_addition_until_submission(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "new.db")
    try:
        repo = Repository(db)
        await repo.upsert_user(1, "Ada", None, None)
        started = await repo.start_draft(1, "en")
        draft = await repo.update_draft(
            started, name="Ada", quote_parts=["One."], consent_text="yes", step=Step.PREVIEW
        )
        assert draft is not None
        await repo.mark_asked(draft, 7, kind="preview")
        waiting = await repo.update_draft(draft, pending_addition="Two.")
        assert waiting is not None and waiting.pending_addition == "Two."
        assert (waiting.prompt_message_id, waiting.prompt_kind) == (7, "preview")
        assert waiting.quote == "One."  # not in the testimonial until the attendee says so
        _, pending = await repo.submit(
            waiting.id, max_pending=3, author_name="A", author_username=None
        )
        assert pending is not None and pending.quote == "One."
        assert pending.pending_addition is None and pending.prompt_kind is None
    finally:
        await db.close()


#: The step that adds how a testimonial is signed (found by content, like VERSION_STEP).
SIGNATURE_STEP = next(
    i for i, step in enumerate(MIGRATIONS) if any("ADD COLUMN signature" in s for s in step)
)


async def test_testimonials_written_before_the_signature_keep_their_full_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 24, item 2: a row written before the signature is signed with the name as given
    (as it was published), and only the known signatures can be stored."""
    path = tmp_path / "before-signature.db"
    with monkeypatch.context() as patch:
        patch.setattr(database_module, "MIGRATIONS", MIGRATIONS[:SIGNATURE_STEP])
        patch.setattr(database_module, "SCHEMA_VERSION", SIGNATURE_STEP)
        db = await Database.open(path)
        await db.execute(
            "INSERT INTO testimonials (id, status, language, name, organisation, quote,"
            " created_at, updated_at, approved_seq, source, import_key)"
            " VALUES (1, 'approved', 'fr', 'Florence', 'UnderConstruction', 'Extra !',"
            " ?, ?, 1, 'import', 'k')",
            (WHEN, WHEN),
        )
        await db.close()
    db = await Database.open(path)
    try:
        assert await db.schema_version() == SCHEMA_VERSION
        [book] = await Repository(db).list_for_book()
        assert (book.name, book.signature) == ("Florence", Signature.FULL)
        with pytest.raises(sqlite3.IntegrityError):
            await db.execute("UPDATE testimonials SET signature = 'nickname' WHERE id = 1")
    finally:
        await db.close()


async def test_the_step_remembering_questions_and_links_keeps_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = next(i for i, s in enumerate(MIGRATIONS) if any("asked_messages" in q for q in s))
    path = tmp_path / "before-asked.db"
    with monkeypatch.context() as patch:
        patch.setattr(database_module, "MIGRATIONS", MIGRATIONS[:step])
        patch.setattr(database_module, "SCHEMA_VERSION", step)
        db = await Database.open(path)
        await Repository(db).upsert_user(1, "Ada", None, None)
        await db.execute(
            "INSERT INTO testimonials (id, user_id, status, step, language, start_payload,"
            " created_at, updated_at) VALUES (5, 1, 'draft', 'name', 'en', 'session-keynote',"
            " ?, ?)",
            (WHEN, WHEN),
        )
        await db.close()
    db = await Database.open(path)
    try:
        repo = Repository(db)
        kept = await repo.get_draft(1)
        assert kept is not None and kept.id == 5
        assert (kept.start_payload, kept.link_payload) == ("session-keynote", None)
        await repo.mark_asked(kept, 7)
        assert await repo.asked_step(1, 7) is Step.NAME
    finally:
        await db.close()


async def test_the_step_keeping_offered_links_keeps_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = next(i for i, s in enumerate(MIGRATIONS) if any("offered_links" in q for q in s))
    path = tmp_path / "before-offered.db"
    with monkeypatch.context() as patch:
        patch.setattr(database_module, "MIGRATIONS", MIGRATIONS[:step])
        patch.setattr(database_module, "SCHEMA_VERSION", step)
        db = await Database.open(path)
        repo = Repository(db)
        await repo.upsert_user(1, "Ada", None, None)
        draft = await repo.start_draft(1, "en", "poster-b")
        await repo.mark_asked(draft, 7)
        await db.close()
    db = await Database.open(path)
    try:
        repo = Repository(db)
        assert await db.schema_version() == SCHEMA_VERSION
        kept = await repo.get_draft(1)
        assert kept is not None and kept.start_payload == "poster-b"
        assert await repo.asked_step(1, 7) is Step.NAME
        assert await repo.offered_link(1, 8) is None
        await repo.keep_offered_link(1, 8, "poster-c")
        assert await repo.offered_link(1, 8) == "poster-c"
        assert await repo.offered_link(2, 8) is None
    finally:
        await db.close()


def dump(path: Path) -> dict[str, object]:
    """What a database holds, as an independent connection reads it: its schema, the pragmas
    stored in the file, and every row of every table."""
    conn = sqlite3.connect(path)
    try:
        schema = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        pragmas = {
            name: conn.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("user_version", "application_id", "journal_mode", "auto_vacuum")
        }
        rows = {
            table: sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
            for type_, table, _, _ in schema
            if type_ == "table"
        }
        return {"schema": schema, "pragmas": pragmas, "rows": rows}
    finally:
        conn.close()


async def test_the_tests_new_database_is_a_freshly_migrated_file(tmp_path: Path) -> None:
    """The in-process tests take a copy of a database migrated once per process
    (``tests.support.new_database``): it holds what ``Database.open`` makes of a new file
    now, is private, is each caller's own, and a database already there is kept."""
    fresh = await Database.open(tmp_path / "fresh.db")
    await fresh.close()
    copy = await open_new_database(tmp_path / "copy.db")
    try:
        assert await copy.schema_version() == SCHEMA_VERSION
        await Repository(copy).upsert_user(1, "Ada", None, None)
    finally:
        await copy.close()
    other = await new_database(tmp_path / "other.db")
    assert other.stat().st_mode & 0o777 == 0o600
    assert dump(other) == dump(tmp_path / "fresh.db")
    assert dump(tmp_path / "copy.db")["rows"] != dump(other)["rows"]  # Ada is in hers only
    before = (tmp_path / "copy.db").read_bytes()
    assert await new_database(tmp_path / "copy.db") == tmp_path / "copy.db"
    assert (tmp_path / "copy.db").read_bytes() == before
