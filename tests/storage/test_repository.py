"""The repository: drafts, submission, the state machine, moderation races, the outbox,
withdrawal, forgetting a person, the book and imports, all on real SQLite files."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypedDict, TypeVar, Unpack

import pytest

from storage import models
from storage.database import Database
from storage.models import (
    TRANSITIONS,
    IllegalTransition,
    Status,
    Step,
    SubmitResult,
    check_transition,
)
from storage.testimonials import Repository
from tests.support import open_new_database

ORGANISER = 900
CHANNEL_IDS = (501, 502)
T = TypeVar("T")


class DraftFields(TypedDict, total=False):
    """The answers ``complete_draft`` may be given instead of its defaults."""

    name: str
    organisation: str
    quote: str


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A new database of the test's own (migrated once per process: ``new_database``)."""
    database = await open_new_database(tmp_path / "livredor.db")
    yield database
    await database.close()


@pytest.fixture
def repo(db: Database) -> Repository:
    return Repository(db)


# -- builders: every status reached through the public API -----------------------------------


async def complete_draft(
    repo: Repository,
    user_id: int,
    *,
    name: str = "Antonin LEONARD",
    organisation: str = "Université Lille 1\nLaboratoire",
    quote: str = "Un moment *fort* ☺\n\nSecond « paragraphe ».",
    consent: bool = True,
) -> models.Testimonial:
    await repo.upsert_user(user_id, f"First{user_id}", None, f"user{user_id}")
    draft = await repo.start_draft(user_id, "fr")
    updated = await repo.update_draft(draft, name=name, step=Step.ORGANISATION)
    assert updated is not None
    updated = await repo.update_draft(updated, organisation=organisation, step=Step.QUOTE)
    assert updated is not None
    updated = await repo.update_draft(
        updated,
        quote_parts=quote.split("\n\n"),
        answer_messages={"10": "name", "11": "organisation", "12": "quote"},
        step=Step.CONSENT,
    )
    assert updated is not None
    if consent:
        updated = await repo.update_draft(updated, consent_text="I agree", step=Step.PREVIEW)
        assert updated is not None
    return updated


async def make_pending(
    repo: Repository, user_id: int, **fields: Unpack[DraftFields]
) -> models.Testimonial:
    draft = await complete_draft(repo, user_id, **fields)
    result, pending = await repo.submit(
        draft.id, max_pending=100, author_name=f"First{user_id}", author_username=None
    )
    assert result is SubmitResult.SUBMITTED and pending is not None
    return pending


async def make_approved(
    repo: Repository, user_id: int, **fields: Unpack[DraftFields]
) -> models.Testimonial:
    pending = await make_pending(repo, user_id, **fields)
    decision = await repo.decide(pending.id, Status.APPROVED, by=ORGANISER, by_name="Orga")
    assert decision.won and decision.testimonial is not None
    return decision.testimonial


async def open_publish_item(repo: Repository, testimonial_id: int) -> int:
    item = await repo.next_outbox()
    assert item is not None
    outbox, testimonial = item
    assert (outbox.action, testimonial.id) == ("publish", testimonial_id)
    return outbox.id


async def make_publishing(repo: Repository, user_id: int) -> models.Testimonial:
    approved = await make_approved(repo, user_id)
    item_id = await open_publish_item(repo, approved.id)
    claimed = await repo.claim_for_publishing(item_id, approved.id)
    assert claimed is not None and claimed.status is Status.PUBLISHING
    return claimed


async def make_published(repo: Repository, user_id: int) -> models.Testimonial:
    approved = await make_approved(repo, user_id)
    item_id = await open_publish_item(repo, approved.id)
    assert await repo.claim_for_publishing(item_id, approved.id) is not None
    published = await repo.record_published(item_id, approved.id, CHANNEL_IDS)
    assert published is not None and published.status is Status.PUBLISHED
    return published


async def make_rejected(repo: Repository, user_id: int) -> models.Testimonial:
    pending = await make_pending(repo, user_id)
    decision = await repo.decide(
        pending.id, Status.REJECTED, by=ORGANISER, by_name="Orga", reason="off topic"
    )
    assert decision.won and decision.testimonial is not None
    return decision.testimonial


async def make_withdrawn(repo: Repository, user_id: int) -> models.Testimonial:
    pending = await make_pending(repo, user_id)
    withdrawn = await repo.withdraw(pending.id)
    assert withdrawn is not None
    return withdrawn


async def make_draft(repo: Repository, user_id: int) -> models.Testimonial:
    return await complete_draft(repo, user_id)


BUILDERS = {
    Status.DRAFT: make_draft,
    Status.PENDING: make_pending,
    Status.APPROVED: make_approved,
    Status.PUBLISHING: make_publishing,
    Status.PUBLISHED: make_published,
    Status.REJECTED: make_rejected,
    Status.WITHDRAWN: make_withdrawn,
}


async def outbox_rows(db: Database, testimonial_id: int | None = None) -> list[sqlite3.Row]:
    if testimonial_id is None:
        return await db.fetchall("SELECT * FROM outbox ORDER BY id")
    return await db.fetchall(
        "SELECT * FROM outbox WHERE testimonial_id = ? ORDER BY id", (testimonial_id,)
    )


async def drain_outbox(repo: Repository) -> list[tuple[str, int]]:
    """Close every open outbox item, in order, returning (action, testimonial id)."""
    seen: list[tuple[str, int]] = []
    while (item := await repo.next_outbox()) is not None:
        outbox, testimonial = item
        seen.append((outbox.action, testimonial.id))
        await repo.finish_outbox(outbox.id)
    return seen


async def gather_all(*calls: Awaitable[T]) -> list[T]:
    """Run ``calls`` concurrently; fail with one line per distinct error if any raised."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    # Messages only: a list of 200 exceptions with their tracebacks is no report.
    errors = sorted({f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)})
    assert errors == []
    return [r for r in results if not isinstance(r, BaseException)]


# -- the draft life ---------------------------------------------------------------------------


async def test_start_draft_opens_at_the_name_step(repo: Repository) -> None:
    await repo.upsert_user(1, "Ada", "Lovelace", "ada")
    draft = await repo.start_draft(1, "fr", start_payload="roumics2012")
    assert draft.status is Status.DRAFT
    assert draft.step is Step.NAME
    assert (draft.user_id, draft.language, draft.start_payload) == (1, "fr", "roumics2012")
    assert (draft.name, draft.organisation, draft.quote) == ("", "", "")
    assert draft.consent_at is None and draft.submitted_at is None
    assert draft.created_at.tzinfo is not None
    assert await repo.get_draft(1) == draft
    user, same = await repo.get_user_and_draft(1)
    assert user is not None and user.first_name == "Ada" and same == draft


async def test_get_user_and_draft_without_a_draft(repo: Repository) -> None:
    assert await repo.get_user_and_draft(1) == (None, None)
    await repo.upsert_user(1, "Ada", "Lovelace", "ada")
    user, draft = await repo.get_user_and_draft(1)
    assert draft is None
    assert user is not None
    assert (user.user_id, user.first_name, user.last_name, user.username) == (
        1,
        "Ada",
        "Lovelace",
        "ada",
    )
    assert (user.language, user.banned, user.blocked_bot) == (None, False, False)
    # A submitted testimonial is not the open draft.
    await make_pending(repo, 1)
    assert (await repo.get_user_and_draft(1))[1] is None
    await repo.set_language(1, "fr")
    assert await repo.set_banned(1, True) is True
    user, _ = await repo.get_user_and_draft(1)
    assert user is not None and (user.language, user.banned) == ("fr", True)


async def test_start_draft_needs_a_known_user(repo: Repository) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        await repo.start_draft(404, "en")


async def test_start_draft_again_replaces_the_open_draft(repo: Repository, db: Database) -> None:
    first = await complete_draft(repo, 1)
    second = await repo.start_draft(1, "en")
    assert second.step is Step.NAME and second.name == ""
    assert second.updated_at > first.updated_at
    assert await repo.get_draft(1) == second
    rows = await db.fetchall("SELECT id FROM testimonials WHERE user_id = 1")
    assert len(rows) == 1
    # The old object cannot write into the new draft.
    assert await repo.update_draft(first, name="old answer") is None


async def test_ids_of_deleted_testimonials_are_never_reused(repo: Repository) -> None:
    # Restarting a draft (start_draft deletes the old one) hands out a new id.
    first = await complete_draft(repo, 1)
    second = await repo.start_draft(1, "en")
    assert second.id != first.id
    # A forgotten person's pending testimonial (its card is still in the organisers' group,
    # with mod:approve:<id>) must not lend its id to the next submission.
    forgotten = await make_pending(repo, 2)
    await repo.forget_user(2)
    assert await repo.get(forgotten.id) is None
    newcomer = await make_pending(repo, 3)
    assert newcomer.id != forgotten.id


async def test_update_draft_walks_every_step(repo: Repository) -> None:
    await repo.upsert_user(1, "Ada", None, None)
    draft = await repo.start_draft(1, "en")
    versions = [draft.version]

    draft2 = await repo.update_draft(draft, name="Florence", step=Step.ORGANISATION)
    assert draft2 is not None
    assert (draft2.name, draft2.step) == ("Florence", Step.ORGANISATION)
    versions.append(draft2.version)

    draft3 = await repo.update_draft(draft2, organisation="A\nB\nC", step=Step.QUOTE)
    assert draft3 is not None
    assert draft3.organisation_lines == ["A", "B", "C"]
    versions.append(draft3.version)

    quote = "Premier.\n\nDeuxième, avec « guillemets » et http://example.org ☺"
    draft4 = await repo.update_draft(
        draft3,
        quote_parts=("Premier.", "Deuxième, avec « guillemets » et http://example.org ☺"),
        answer_messages={"7": "name", "8": "quote"},
        step=Step.CONSENT,
    )
    assert draft4 is not None
    assert draft4.quote == quote
    assert draft4.quote_parts == (
        "Premier.",
        "Deuxième, avec « guillemets » et http://example.org ☺",
    )
    assert draft4.answer_messages == {"7": "name", "8": "quote"}
    versions.append(draft4.version)

    for step in (Step.PREVIEW, Step.EDIT_NAME, Step.EDIT_ORGANISATION, Step.EDIT_QUOTE):
        moved = await repo.update_draft(draft4, step=step)
        assert moved is not None and moved.step is step
        versions.append(moved.version)
        draft4 = moved

    assert versions == list(range(len(versions)))
    stored = await repo.get_draft(1)
    assert stored == draft4
    assert stored is not None and stored.name == "Florence" and stored.quote == quote


async def test_update_draft_refuses_a_stale_object(repo: Repository) -> None:
    await repo.upsert_user(1, "Ada", None, None)
    original = await repo.start_draft(1, "en")
    fresh = await repo.update_draft(original, name="First answer", step=Step.ORGANISATION)
    assert fresh is not None
    # A replayed update still holding the original row: refused, nothing written.
    assert await repo.update_draft(original, name="Replayed", step=Step.NAME) is None
    stored = await repo.get_draft(1)
    assert stored == fresh
    assert stored is not None and stored.name == "First answer"
    # The fresh object still works, and then becomes stale itself.
    newer = await repo.update_draft(fresh, organisation="Org")
    assert newer is not None
    assert await repo.update_draft(fresh, organisation="Lost") is None
    assert (await repo.get_draft(1)) == newer


async def test_rapid_updates_never_reuse_a_version(repo: Repository) -> None:
    await repo.upsert_user(1, "Ada", None, None)
    draft = await repo.start_draft(1, "en")
    seen = {draft.version}
    stale: list[models.Testimonial] = [draft]
    for i in range(50):
        updated = await repo.update_draft(draft, name=f"n{i}")
        assert updated is not None
        assert updated.version == draft.version + 1
        seen.add(updated.version)
        draft = updated
        stale.append(draft)
    assert len(seen) == 51
    for old in stale[:-1]:
        assert await repo.update_draft(old, name="stale") is None
    assert (await repo.get_draft(1)) == draft


async def test_concurrent_updates_from_one_snapshot_make_one_winner(repo: Repository) -> None:
    await repo.upsert_user(1, "Ada", None, None)
    draft = await repo.start_draft(1, "en")
    results = await gather_all(*(repo.update_draft(draft, name=f"worker {i}") for i in range(10)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert await repo.get_draft(1) == winners[0]


async def test_update_draft_refuses_unknown_columns(repo: Repository) -> None:
    await repo.upsert_user(1, "Ada", None, None)
    draft = await repo.start_draft(1, "en")
    for column in ("status", "user_id", "approved_seq", "name = 'x', status"):
        with pytest.raises(ValueError):
            await repo.update_draft(draft, **{column: "approved"})
    assert await repo.get_draft(1) == draft


async def test_update_draft_does_not_touch_a_submitted_testimonial(repo: Repository) -> None:
    draft = await complete_draft(repo, 1)
    result, pending = await repo.submit(
        draft.id, max_pending=3, author_name="Ada", author_username="ada"
    )
    assert result is SubmitResult.SUBMITTED and pending is not None
    # Even with an up-to-date version, a non-draft row is not a draft to edit.
    assert await repo.update_draft(pending, name="Changed") is None
    assert (await repo.get(pending.id)) == pending


async def test_consent_stamps_time_and_text_and_can_be_cleared(repo: Repository) -> None:
    draft = await complete_draft(repo, 1, consent=False)
    assert draft.consent_at is None and draft.consent_text is None
    before = datetime.now(UTC)
    consented = await repo.update_draft(
        draft, consent_text="I agree to publication", step=Step.PREVIEW
    )
    after = datetime.now(UTC)
    assert consented is not None
    assert consented.consent_text == "I agree to publication"
    assert consented.consent_at is not None
    assert before <= consented.consent_at <= after
    assert consented.consent_at.tzinfo is not None

    cleared = await repo.update_draft(consented, consent_text=None, step=Step.CONSENT)
    assert cleared is not None
    assert cleared.consent_at is None and cleared.consent_text is None
    assert await repo.get_draft(1) == cleared


async def test_discard_draft(repo: Repository) -> None:
    draft = await complete_draft(repo, 1)
    assert await repo.discard_draft(draft.id) is True
    assert await repo.discard_draft(draft.id) is False
    assert await repo.get_draft(1) is None
    assert await repo.get(draft.id) is None


async def test_discard_draft_leaves_submitted_ones_alone(repo: Repository) -> None:
    pending = await make_pending(repo, 1)
    assert await repo.discard_draft(pending.id) is False
    stored = await repo.get(pending.id)
    assert stored is not None and stored.status is Status.PENDING


async def test_draft_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "restart.db"
    db = await Database.open(path)
    draft = await complete_draft(Repository(db), 1, consent=False)
    await db.close()  # the process dies here

    db = await Database.open(path)
    try:
        stored = await Repository(db).get_draft(1)
        assert stored == draft
        assert stored is not None and stored.step is Step.CONSENT
    finally:
        await db.close()


# -- submit -----------------------------------------------------------------------------------


async def test_submit_turns_a_complete_draft_into_pending(repo: Repository) -> None:
    draft = await complete_draft(repo, 1)
    result, pending = await repo.submit(
        draft.id, max_pending=3, author_name="Ada L.", author_username="ada"
    )
    assert result is SubmitResult.SUBMITTED
    assert pending is not None
    assert pending.id == draft.id
    assert pending.status is Status.PENDING
    assert pending.step is None
    assert pending.submitted_at is not None
    assert (pending.author_name, pending.author_username) == ("Ada L.", "ada")
    assert (pending.name, pending.quote, pending.consent_text) == (
        draft.name,
        draft.quote,
        "I agree",
    )
    assert await repo.get_draft(1) is None
    assert await repo.list_for_user(1) == [pending]
    assert await repo.list_by_status(Status.PENDING) == [pending]


@pytest.mark.parametrize(
    ("fields", "consent"),
    [
        ({"name": ""}, True),
        ({"quote": ""}, True),
        ({"name": "", "quote": ""}, False),
    ],
)
async def test_submit_refuses_an_incomplete_draft(
    repo: Repository, fields: DraftFields, consent: bool
) -> None:
    draft = await complete_draft(repo, 1, consent=consent, **fields)
    result, returned = await repo.submit(
        draft.id, max_pending=3, author_name="Ada", author_username=None
    )
    assert result is SubmitResult.INCOMPLETE
    assert returned == draft
    assert await repo.get_draft(1) == draft


async def test_submit_refuses_without_consent(repo: Repository) -> None:
    draft = await complete_draft(repo, 1, consent=False)
    result, returned = await repo.submit(
        draft.id, max_pending=3, author_name="Ada", author_username=None
    )
    assert result is SubmitResult.NO_CONSENT
    assert returned == draft
    assert await repo.get_draft(1) == draft


async def test_submit_refuses_when_consent_was_withdrawn(repo: Repository) -> None:
    draft = await complete_draft(repo, 1)
    cleared = await repo.update_draft(draft, consent_text=None)
    assert cleared is not None
    result, _ = await repo.submit(draft.id, max_pending=3, author_name="A", author_username=None)
    assert result is SubmitResult.NO_CONSENT


async def test_submit_too_many_pending(repo: Repository) -> None:
    for _ in range(2):
        draft = await complete_draft(repo, 1)
        result, _ = await repo.submit(
            draft.id, max_pending=2, author_name="A", author_username=None
        )
        assert result is SubmitResult.SUBMITTED

    third = await complete_draft(repo, 1)
    result, returned = await repo.submit(
        third.id, max_pending=2, author_name="A", author_username=None
    )
    assert result is SubmitResult.TOO_MANY_PENDING
    assert returned == third
    assert await repo.get_draft(1) == third  # still a draft, nothing lost
    assert (await repo.count_by_status())[Status.PENDING] == 2

    # The limit is per person.
    other = await complete_draft(repo, 2)
    result, _ = await repo.submit(other.id, max_pending=2, author_name="B", author_username=None)
    assert result is SubmitResult.SUBMITTED

    # A decision frees a slot.
    first_pending = (await repo.list_for_user(1))[-1]
    assert (await repo.decide(first_pending.id, Status.APPROVED, by=9, by_name="O")).won
    result, _ = await repo.submit(third.id, max_pending=2, author_name="A", author_username=None)
    assert result is SubmitResult.SUBMITTED


async def test_submit_a_gone_draft(repo: Repository) -> None:
    draft = await complete_draft(repo, 1)
    assert (await repo.submit(draft.id, max_pending=3, author_name="A", author_username=None))[
        0
    ] is SubmitResult.SUBMITTED
    # A replayed "send" press finds no draft any more.
    result, returned = await repo.submit(
        draft.id, max_pending=3, author_name="A", author_username=None
    )
    assert (result, returned) == (SubmitResult.GONE, None)
    assert (await repo.submit(9999, max_pending=3, author_name="A", author_username=None)) == (
        SubmitResult.GONE,
        None,
    )


async def test_concurrent_submits_of_one_draft_submit_once(repo: Repository) -> None:
    draft = await complete_draft(repo, 1)
    results = await gather_all(
        *(
            repo.submit(draft.id, max_pending=3, author_name="A", author_username=None)
            for _ in range(5)
        )
    )
    assert sorted(r for r, _ in results) == sorted(
        [SubmitResult.SUBMITTED] + [SubmitResult.GONE] * 4
    )


# -- the state machine: every (from, to) pair -------------------------------------------------

ALL_PAIRS = list(itertools.product(Status, Status))


def pair_id(pair: tuple[Status, Status]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


def test_transitions_table_covers_every_status() -> None:
    assert set(TRANSITIONS) == set(Status)
    for target in TRANSITIONS.values():
        assert target <= set(Status)
    assert TRANSITIONS[Status.REJECTED] == frozenset()
    assert TRANSITIONS[Status.WITHDRAWN] == frozenset()


async def test_transitions_drive_every_status_change(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The repository's moves read TRANSITIONS: take a move out and it is refused."""
    published = await BUILDERS[Status.PUBLISHED](repo, 1)
    pending = await BUILDERS[Status.PENDING](repo, 2)
    monkeypatch.setitem(TRANSITIONS, Status.PUBLISHED, frozenset())
    monkeypatch.setitem(TRANSITIONS, Status.PENDING, frozenset({Status.WITHDRAWN}))
    assert await repo.withdraw(published.id) is None
    with pytest.raises(IllegalTransition):
        await repo.decide(pending.id, Status.APPROVED, by=1, by_name="Olga")
    assert await repo.get(published.id) == published
    assert await repo.get(pending.id) == pending
    monkeypatch.undo()
    withdrawn = await repo.withdraw(published.id)
    assert withdrawn is not None and withdrawn.version == published.version + 1


@pytest.mark.parametrize("pair", ALL_PAIRS, ids=[pair_id(p) for p in ALL_PAIRS])
def test_check_transition(pair: tuple[Status, Status]) -> None:
    current, target = pair
    if target in TRANSITIONS[current]:
        check_transition(current, target)
    else:
        with pytest.raises(IllegalTransition) as caught:
            check_transition(current, target)
        assert (caught.value.current, caught.value.target) == (current, target)


@pytest.mark.parametrize("target", list(Status))
def test_check_transition_from_nothing_is_illegal(target: Status) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(None, target)


def test_legal_moves_are_exactly_the_documented_ones() -> None:
    legal = {(a, b) for a, b in ALL_PAIRS if b in TRANSITIONS[a]}
    assert legal == {
        (Status.DRAFT, Status.PENDING),
        (Status.PENDING, Status.APPROVED),
        (Status.PENDING, Status.REJECTED),
        (Status.PENDING, Status.WITHDRAWN),
        (Status.APPROVED, Status.PUBLISHING),
        (Status.APPROVED, Status.WITHDRAWN),
        (Status.PUBLISHING, Status.PUBLISHED),
        (Status.PUBLISHING, Status.APPROVED),
        (Status.PUBLISHING, Status.WITHDRAWN),
        (Status.PUBLISHED, Status.WITHDRAWN),
    }


@pytest.mark.parametrize("pair", ALL_PAIRS, ids=[pair_id(p) for p in ALL_PAIRS])
async def test_repository_transition(repo: Repository, pair: tuple[Status, Status]) -> None:
    current, target = pair
    row = await BUILDERS[current](repo, 1)
    assert row.status is current
    if target in TRANSITIONS[current]:
        moved = await repo.transition(row.id, target, expected=current)
        assert moved is not None
        assert moved.status is target
        assert moved.updated_at >= row.updated_at
        assert moved.version == row.version + 1
        if target is Status.PUBLISHED:
            assert moved.published_at is not None
        assert await repo.get(row.id) == moved
        # Compare-and-set: replaying the same move finds the row gone from `current`.
        assert await repo.transition(row.id, target, expected=current) is None
        assert await repo.get(row.id) == moved
    else:
        with pytest.raises(IllegalTransition):
            await repo.transition(row.id, target, expected=current)
        assert await repo.get(row.id) == row


@pytest.mark.parametrize("pair", ALL_PAIRS, ids=[pair_id(p) for p in ALL_PAIRS])
async def test_transition_with_a_wrong_expectation_changes_nothing(
    repo: Repository, pair: tuple[Status, Status]
) -> None:
    actual, expected = pair
    if actual is expected:
        return
    row = await BUILDERS[actual](repo, 1)
    for target in TRANSITIONS[expected]:
        assert await repo.transition(row.id, target, expected=expected) is None
    assert await repo.get(row.id) == row


async def test_transition_of_an_unknown_id(repo: Repository) -> None:
    assert await repo.transition(12345, Status.APPROVED, expected=Status.PENDING) is None


# -- moderation: compare-and-set decisions ----------------------------------------------------


async def test_decide_approves_and_queues_publication(repo: Repository, db: Database) -> None:
    pending = await make_pending(repo, 1)
    decision = await repo.decide(pending.id, Status.APPROVED, by=ORGANISER, by_name="Camille")
    assert decision.won
    approved = decision.testimonial
    assert approved is not None
    assert approved.status is Status.APPROVED
    assert (approved.decided_by, approved.decided_by_name) == (ORGANISER, "Camille")
    assert approved.decided_at is not None
    assert approved.approved_seq == 1
    rows = await outbox_rows(db, pending.id)
    assert [(r["action"], r["done_at"], r["attempts"]) for r in rows] == [("publish", None, 0)]


async def test_decide_rejects_with_a_reason_and_queues_nothing(
    repo: Repository, db: Database
) -> None:
    pending = await make_pending(repo, 1)
    decision = await repo.decide(
        pending.id, Status.REJECTED, by=ORGANISER, by_name="Camille", reason="duplicate"
    )
    assert decision.won and decision.testimonial is not None
    assert decision.testimonial.status is Status.REJECTED
    assert decision.testimonial.reject_reason == "duplicate"
    assert decision.testimonial.approved_seq is None
    assert await outbox_rows(db) == []


@pytest.mark.parametrize(
    "target", [s for s in Status if s not in (Status.APPROVED, Status.REJECTED)]
)
async def test_decide_only_approves_or_rejects(repo: Repository, target: Status) -> None:
    pending = await make_pending(repo, 1)
    with pytest.raises(IllegalTransition):
        await repo.decide(pending.id, target, by=ORGANISER, by_name="O")
    assert await repo.get(pending.id) == pending


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.PENDING])
async def test_decide_on_a_non_pending_row_loses(
    repo: Repository, db: Database, status: Status
) -> None:
    row = await BUILDERS[status](repo, 1)
    before = await outbox_rows(db)
    for target in (Status.APPROVED, Status.REJECTED):
        decision = await repo.decide(row.id, target, by=ORGANISER, by_name="O")
        assert not decision.won
        assert decision.testimonial == row
    assert await outbox_rows(db) == before


async def test_decide_on_an_unknown_id(repo: Repository) -> None:
    decision = await repo.decide(777, Status.APPROVED, by=1, by_name="O")
    assert (decision.won, decision.testimonial) == (False, None)


async def test_two_concurrent_approvals_make_one_winner(repo: Repository, db: Database) -> None:
    pending = await make_pending(repo, 1)
    results = await gather_all(
        repo.decide(pending.id, Status.APPROVED, by=1, by_name="One"),
        repo.decide(pending.id, Status.APPROVED, by=2, by_name="Two"),
    )
    assert sorted(r.won for r in results) == [False, True]
    winner = next(r for r in results if r.won).testimonial
    loser = next(r for r in results if not r.won).testimonial
    assert winner is not None and loser is not None
    # The loser is shown the row as the winner left it.
    assert loser.status is Status.APPROVED
    assert loser.decided_by == winner.decided_by
    assert len(await outbox_rows(db, pending.id)) == 1


@pytest.mark.parametrize("connections", [2, 3])
async def test_concurrent_approvals_over_separate_connections(
    tmp_path: Path, connections: int
) -> None:
    path = tmp_path / "race.db"
    dbs = [await Database.open(path) for _ in range(connections)]
    repos = [Repository(d) for d in dbs]
    try:
        ids = [(await make_pending(repos[0], uid)).id for uid in range(1, 21)]
        decisions = await gather_all(
            *(
                r.decide(tid, Status.APPROVED, by=n, by_name=f"organiser {n}")
                for tid in ids
                for n, r in enumerate(repos)
            )
        )
        for index, tid in enumerate(ids):
            mine = decisions[index * connections : (index + 1) * connections]
            assert [d.won for d in mine].count(True) == 1, tid
            assert all(d.testimonial is not None for d in mine)
        for tid in ids:
            assert len(await outbox_rows(dbs[1], tid)) == 1
        seqs = [
            r["approved_seq"]
            for r in await dbs[0].fetchall("SELECT approved_seq FROM testimonials")
        ]
        assert sorted(seqs) == list(range(1, 21))
    finally:
        for d in dbs:
            await d.close()


async def test_approve_against_reject_race(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    one, two = await Database.open(path), await Database.open(path)
    repo_one, repo_two = Repository(one), Repository(two)
    try:
        ids = [(await make_pending(repo_one, uid)).id for uid in range(1, 21)]
        calls = []
        for i, tid in enumerate(ids):
            approve = (repo_one if i % 2 else repo_two).decide(
                tid, Status.APPROVED, by=1, by_name="Approver"
            )
            reject = (repo_two if i % 2 else repo_one).decide(
                tid, Status.REJECTED, by=2, by_name="Rejecter", reason="no"
            )
            calls.extend([approve, reject] if i % 3 else [reject, approve])
        await gather_all(*calls)

        approved = 0
        for tid in ids:
            row = await repo_two.get(tid)
            assert row is not None
            outbox = await outbox_rows(one, tid)
            if row.status is Status.APPROVED:
                approved += 1
                assert row.decided_by == 1 and row.reject_reason is None
                assert row.approved_seq is not None
                assert len(outbox) == 1
            else:
                assert row.status is Status.REJECTED
                assert row.decided_by == 2 and row.reject_reason == "no"
                assert row.approved_seq is None
                assert outbox == []
        total = await one.fetchone("SELECT count(*) FROM outbox")
        assert total is not None and total[0] == approved
    finally:
        await one.close()
        await two.close()


@pytest.mark.parametrize("first", [Status.APPROVED, Status.REJECTED])
async def test_approve_against_reject_on_one_connection(
    repo: Repository, db: Database, first: Status
) -> None:
    pending = await make_pending(repo, 1)
    second = Status.REJECTED if first is Status.APPROVED else Status.APPROVED
    a, b = await gather_all(
        repo.decide(pending.id, first, by=1, by_name="First", reason="r"),
        repo.decide(pending.id, second, by=2, by_name="Second", reason="r"),
    )
    assert [a.won, b.won].count(True) == 1
    winner_target = first if a.won else second
    stored = await repo.get(pending.id)
    assert stored is not None and stored.status is winner_target
    expected = 1 if winner_target is Status.APPROVED else 0
    assert len(await outbox_rows(db, pending.id)) == expected


async def test_edit_pending(repo: Repository) -> None:
    pending = await make_pending(repo, 1)
    edited = await repo.edit_pending(pending.id, "name", "Florence")
    assert edited is not None and edited.name == "Florence"
    assert (await repo.decide(pending.id, Status.APPROVED, by=1, by_name="O")).won
    assert await repo.edit_pending(pending.id, "quote", "late") is None
    with pytest.raises(KeyError):
        await repo.edit_pending(pending.id, "status", "draft")


# -- 200 attendees at once --------------------------------------------------------------------


def answers_for(user_id: int) -> dict[str, object]:
    quote = f"Témoignage {user_id} « cité ».\n\n" + "x" * (user_id % 7 * 100)
    return {
        "name": f"Person {user_id}",
        "organisation": f"Org {user_id}\nTeam {user_id % 5}",
        "quote": quote,
        "quote_parts": tuple(quote.split("\n\n")),
        "answer_messages": {str(user_id * 10): "name", str(user_id * 10 + 1): "quote"},
        "consent_text": f"consent {user_id}",
    }


async def one_attendee(repo: Repository, user_id: int) -> None:
    await repo.upsert_user(user_id, f"First{user_id}", None, None)
    draft = await repo.start_draft(user_id, "fr", start_payload=f"p{user_id}")
    answers = answers_for(user_id)
    steps: list[dict[str, object]] = [
        {"name": answers["name"], "step": Step.ORGANISATION},
        {"organisation": answers["organisation"], "step": Step.QUOTE},
        {
            "quote_parts": answers["quote_parts"],
            "answer_messages": answers["answer_messages"],
            "step": Step.CONSENT,
        },
        {"consent_text": answers["consent_text"], "step": Step.PREVIEW},
    ]
    current: models.Testimonial | None = draft
    for changes in steps:
        assert current is not None
        await asyncio.sleep(0)  # let the other attendees interleave
        current = await repo.update_draft(current, **changes)
    assert current is not None


@pytest.mark.parametrize("connections", [1, 2, 4])
async def test_200_concurrent_drafts_all_persist(tmp_path: Path, connections: int) -> None:
    path = tmp_path / "crowd.db"
    dbs = [await Database.open(path) for _ in range(connections)]
    repos = [Repository(d) for d in dbs]
    users = range(1, 201)
    try:
        await gather_all(*(one_attendee(repos[uid % connections], uid) for uid in users))
    finally:
        for d in dbs:
            await d.close()

    db = await Database.open(path)
    try:
        repo = Repository(db)
        for uid in users:
            draft = await repo.get_draft(uid)
            assert draft is not None, uid
            answers = answers_for(uid)
            assert draft.step is Step.PREVIEW
            assert draft.start_payload == f"p{uid}"
            assert draft.name == answers["name"]
            assert draft.organisation == answers["organisation"]
            assert draft.quote == answers["quote"]
            assert draft.quote_parts == answers["quote_parts"]
            assert draft.answer_messages == answers["answer_messages"]
            assert draft.consent_text == answers["consent_text"]
            assert draft.consent_at is not None
        count = await db.fetchone("SELECT count(*) FROM testimonials")
        assert count is not None and count[0] == 200
    finally:
        await db.close()


# -- the outbox -------------------------------------------------------------------------------


async def test_outbox_order_follows_approval_order(repo: Repository) -> None:
    pending = [await make_pending(repo, uid) for uid in range(1, 6)]
    order = [pending[i].id for i in (3, 0, 4, 2, 1)]
    for tid in order:
        assert (await repo.decide(tid, Status.APPROVED, by=1, by_name="O")).won

    published: list[int] = []
    while (item := await repo.next_outbox()) is not None:
        outbox, testimonial = item
        assert outbox.action == "publish"
        claimed = await repo.claim_for_publishing(outbox.id, testimonial.id)
        assert claimed is not None
        assert await repo.record_published(outbox.id, testimonial.id, [len(published)])
        published.append(testimonial.id)
    assert published == order

    book = await repo.list_for_book()
    assert [t.id for t in book] == order
    assert [t.approved_seq for t in book] == [1, 2, 3, 4, 5]


async def test_claim_record_published(repo: Repository, db: Database) -> None:
    approved = await make_approved(repo, 1)
    item = await repo.next_outbox()
    assert item is not None
    outbox, testimonial = item
    assert (outbox.testimonial_id, outbox.action, outbox.attempts) == (approved.id, "publish", 0)
    assert testimonial == approved

    claimed = await repo.claim_for_publishing(outbox.id, approved.id)
    assert claimed is not None and claimed.status is Status.PUBLISHING
    # Still open while the post is in flight, with the attempt counted.
    again = await repo.next_outbox()
    assert again is not None and again[0].id == outbox.id and again[0].attempts == 1
    # A second claim (another publisher) gets nothing.
    assert await repo.claim_for_publishing(outbox.id, approved.id) is None

    published = await repo.record_published(outbox.id, approved.id, [11, 12, 13])
    assert published is not None
    assert published.status is Status.PUBLISHED
    assert published.channel_message_ids == (11, 12, 13)
    assert published.published_at is not None
    assert await repo.next_outbox() is None
    assert (await repo.get(approved.id)) == published
    # Recording twice changes nothing.
    assert await repo.record_published(outbox.id, approved.id, [99]) is None
    assert (await repo.get(approved.id)) == published


async def test_claim_of_a_no_longer_approved_row_closes_the_item(repo: Repository) -> None:
    approved = await make_approved(repo, 1)
    item = await repo.next_outbox()
    assert item is not None
    # Withdrawn between the approval and the publisher getting to it.
    assert await repo.transition(approved.id, Status.WITHDRAWN, expected=Status.APPROVED)
    assert await repo.claim_for_publishing(item[0].id, approved.id) is None
    assert await repo.next_outbox() is None


async def test_publishing_failed_then_requeue(repo: Repository, db: Database) -> None:
    approved = await make_approved(repo, 1)
    item = await repo.next_outbox()
    assert item is not None
    assert await repo.claim_for_publishing(item[0].id, approved.id) is not None

    failed = await repo.publishing_failed(item[0].id, approved.id)
    assert failed is not None and failed.status is Status.APPROVED
    assert await repo.next_outbox() is None  # waits for an organiser's Retry

    requeued = await repo.requeue(approved.id, from_status=Status.APPROVED)
    assert requeued is not None and requeued.status is Status.APPROVED
    retry = await repo.next_outbox()
    # The same item, reopened: it keeps its place in approval order (issue 13).
    assert retry is not None and retry[0].id == item[0].id
    assert retry[0].action == "publish" and retry[0].attempts == 1
    # Retry pressed twice: still one open item.
    assert await repo.requeue(approved.id, from_status=Status.APPROVED) is not None
    open_items = await db.fetchall("SELECT id FROM outbox WHERE done_at IS NULL")
    assert [r["id"] for r in open_items] == [retry[0].id]


async def test_requeue_a_row_stuck_in_publishing(repo: Repository, db: Database) -> None:
    stuck = await make_publishing(repo, 1)  # the process died between send and record
    requeued = await repo.requeue(stuck.id, from_status=Status.PUBLISHING)
    assert requeued is not None and requeued.status is Status.APPROVED
    open_items = await db.fetchall(
        "SELECT action FROM outbox WHERE done_at IS NULL AND testimonial_id = ?", (stuck.id,)
    )
    assert [r["action"] for r in open_items] == ["publish"]
    # The compare-and-set: a second press finds it no longer publishing.
    assert await repo.requeue(stuck.id, from_status=Status.PUBLISHING) is None


@pytest.mark.parametrize(
    "status",
    [
        Status.DRAFT,
        Status.PENDING,
        Status.PUBLISHED,
        Status.REJECTED,
        Status.WITHDRAWN,
    ],
)
async def test_requeue_refuses_other_statuses(
    repo: Repository, db: Database, status: Status
) -> None:
    row = await BUILDERS[status](repo, 1)
    before = await outbox_rows(db)
    with pytest.raises(IllegalTransition):
        await repo.requeue(row.id, from_status=status)
    assert await repo.get(row.id) == row
    assert await outbox_rows(db) == before


async def test_requeue_with_a_wrong_expectation(repo: Repository, db: Database) -> None:
    published = await make_published(repo, 1)
    before = await outbox_rows(db)
    assert await repo.requeue(published.id, from_status=Status.APPROVED) is None
    assert await repo.requeue(published.id, from_status=Status.PUBLISHING) is None
    assert await repo.get(published.id) == published
    assert await outbox_rows(db) == before


# -- withdrawal -------------------------------------------------------------------------------


async def test_withdraw_published_queues_an_unpublish(repo: Repository) -> None:
    published = await make_published(repo, 1)
    withdrawn = await repo.withdraw(published.id)
    assert withdrawn is not None
    assert withdrawn.status is Status.WITHDRAWN
    assert withdrawn.channel_message_ids == CHANNEL_IDS
    item = await repo.next_outbox()
    assert item is not None
    assert (item[0].action, item[1].id) == ("unpublish", published.id)
    assert item[1].channel_message_ids == CHANNEL_IDS
    await repo.finish_outbox(item[0].id)
    assert await repo.next_outbox() is None
    assert await repo.withdraw(published.id) is None


async def test_withdraw_approved_cancels_the_queued_publication(repo: Repository) -> None:
    approved = await make_approved(repo, 1)
    withdrawn = await repo.withdraw(approved.id)
    assert withdrawn is not None and withdrawn.status is Status.WITHDRAWN
    assert await repo.next_outbox() is None


async def test_withdraw_pending_queues_nothing(repo: Repository, db: Database) -> None:
    pending = await make_pending(repo, 1)
    withdrawn = await repo.withdraw(pending.id)
    assert withdrawn is not None and withdrawn.status is Status.WITHDRAWN
    assert await outbox_rows(db) == []


@pytest.mark.parametrize("status", [Status.DRAFT, Status.REJECTED, Status.WITHDRAWN])
async def test_withdraw_refuses_what_cannot_be_withdrawn(
    repo: Repository, db: Database, status: Status
) -> None:
    row = await BUILDERS[status](repo, 1)
    before = await outbox_rows(db)
    assert await repo.withdraw(row.id) is None
    assert await repo.get(row.id) == row
    assert await outbox_rows(db) == before


# -- forgetting a person ----------------------------------------------------------------------

SECRETS: DraftFields = {
    "name": "Zéphyrine SECRETNAME",
    "organisation": "Secret Org Ltd\nSecret Lab",
    "quote": "My very secret quote.\n\nSecond secret paragraph.",
}
SECRET_MARKERS = (
    "Zéphyrine",
    "SECRETNAME",
    "Secret Org",
    "secret quote",
    "secret paragraph",
    "zephy@",
)


async def test_forget_user(repo: Repository, db: Database) -> None:
    bystander = await make_published(repo, 2)
    await drain_outbox(repo)
    await repo.upsert_user(1, "Zéphyrine", "Secret", "zephy@")
    published = await make_published(repo, 1)
    rejected = await make_rejected(repo, 1)
    approved = await make_approved(repo, 1)  # its publish item is still open
    pending = await make_pending(repo, 1)
    draft = await complete_draft(repo, 1, **SECRETS)

    forgotten = await repo.forget_user(1)

    assert [t.id for t in forgotten.posted] == [published.id]
    # As they were when erased: a card put up meanwhile is still to erase.
    assert sorted(t.id for t in forgotten.held) == sorted(
        t.id for t in (published, rejected, approved, pending, draft)
    )
    assert await repo.get_user(1) is None
    assert await repo.get_draft(1) is None
    assert await repo.list_for_user(1) == []
    for gone in (rejected, approved, pending, draft):
        assert await repo.get(gone.id) is None
    kept = await repo.get(published.id)
    assert kept is not None
    assert kept.status is Status.WITHDRAWN
    assert kept.user_id is None
    assert (kept.name, kept.organisation, kept.quote) == ("", "", "")
    assert kept.consent_text is None and kept.author_name is None and kept.author_username is None
    assert kept.start_payload is None
    assert kept.channel_message_ids == CHANNEL_IDS  # needed to delete the posts

    # Only the deletion of the channel posts is left to do.
    assert await drain_outbox(repo) == [("unpublish", published.id)]
    # Nobody else is touched.
    assert await repo.get(bystander.id) == bystander
    assert await repo.get_user(2) is not None
    assert await repo.list_for_book() == [bystander]


async def test_forget_an_unknown_user(repo: Repository) -> None:
    forgotten = await repo.forget_user(31337)
    assert (forgotten.held, forgotten.posted) == ([], [])


async def test_forget_user_leaves_no_text_anywhere(repo: Repository, db: Database) -> None:
    await repo.upsert_user(1, "Zéphyrine", "Secret", "zephy@")
    draft = await complete_draft(repo, 1, **SECRETS)
    result, pending = await repo.submit(
        draft.id, max_pending=3, author_name="Zéphyrine Secret", author_username="zephy@"
    )
    assert result is SubmitResult.SUBMITTED and pending is not None
    assert (await repo.decide(pending.id, Status.APPROVED, by=1, by_name="O")).won
    item = await repo.next_outbox()
    assert item is not None
    assert await repo.claim_for_publishing(item[0].id, pending.id)
    assert await repo.record_published(item[0].id, pending.id, CHANNEL_IDS)
    await complete_draft(repo, 1, **SECRETS)

    await repo.forget_user(1)

    leftovers = []
    for table in ("users", "testimonials", "outbox", "moderator_prompts"):
        for row in await db.fetchall(f"SELECT * FROM {table}"):
            for column, value in dict(row).items():
                if isinstance(value, str) and any(m in value for m in SECRET_MARKERS):
                    leftovers.append(f"{table}.{column}={value!r}")
    assert leftovers == []


# -- the book and imports ---------------------------------------------------------------------


async def test_list_for_book_filters_and_orders(repo: Repository) -> None:
    # Not in the book.
    await make_draft(repo, 1)
    await make_pending(repo, 2)
    await make_rejected(repo, 3)
    await make_withdrawn(repo, 4)
    withdrawn_after_approval = await make_approved(repo, 5)
    assert await repo.withdraw(withdrawn_after_approval.id)
    await drain_outbox(repo)
    # In the book, in approval order.
    charlie = await make_published(repo, 6)
    await drain_outbox(repo)
    bob = await make_approved(repo, 7, name="bob", organisation="Zeta")
    alice = await make_approved(repo, 8, name="Alice", organisation="zeta")
    dave = await make_approved(repo, 9, name="Dave", organisation="alpha")
    item = await repo.next_outbox()
    assert item is not None and item[1].id == bob.id
    assert await repo.claim_for_publishing(item[0].id, bob.id)  # publishing

    by_date = await repo.list_for_book()
    assert [t.id for t in by_date] == [charlie.id, bob.id, alice.id, dave.id]
    assert {t.status for t in by_date} == {Status.PUBLISHED, Status.PUBLISHING, Status.APPROVED}
    assert await repo.list_for_book("date") == by_date

    by_name = await repo.list_for_book("name")
    assert [t.name for t in by_name] == ["Alice", "Antonin LEONARD", "bob", "Dave"]

    by_org = await repo.list_for_book("organisation")
    assert [t.id for t in by_org] == [dave.id, charlie.id, alice.id, bob.id]

    with pytest.raises(KeyError):
        await repo.list_for_book("id; DROP TABLE testimonials")


ENTRIES = [
    ("roumics-1", "Antonin LEONARD", "OuiShare", "Un « grand » moment.\n\nMerci ☺"),
    ("roumics-2", "Florence", "", "Bravo."),
    ("roumics-3", "A - B - C", "Lille\nFrance\nEurope", "*Trois* noms."),
]


async def test_import_entries_stores_approved_rows(repo: Repository, db: Database) -> None:
    added, skipped = await repo.import_entries(ENTRIES, language="fr", publish=False)
    assert (added, skipped) == (3, 0)
    book = await repo.list_for_book()
    assert [(t.import_key, t.name, t.organisation, t.quote) for t in book] == ENTRIES
    for t in book:
        assert t.status is Status.APPROVED
        assert t.source == "import"
        assert t.user_id is None
        assert t.language == "fr"
    assert [t.approved_seq for t in book] == [1, 2, 3]
    assert await outbox_rows(db) == []


async def test_import_entries_is_idempotent_on_the_key(repo: Repository, db: Database) -> None:
    assert await repo.import_entries(ENTRIES, language="fr", publish=True) == (3, 0)
    assert await repo.import_entries(ENTRIES, language="fr", publish=True) == (0, 3)
    extra = ("roumics-4", "Nouveau", "", "Encore.")
    changed = ("roumics-1", "Someone else", "", "Overwritten?")
    assert await repo.import_entries([changed, extra, extra], language="fr", publish=True) == (
        1,
        2,
    )
    book = await repo.list_for_book()
    assert [t.import_key for t in book] == ["roumics-1", "roumics-2", "roumics-3", "roumics-4"]
    assert book[0].name == "Antonin LEONARD"
    # One publish item per added entry, in import order; nothing for the skipped ones.
    rows = await outbox_rows(db)
    assert [(r["testimonial_id"], r["action"]) for r in rows] == [(t.id, "publish") for t in book]


async def test_import_entries_with_publish_joins_the_outbox_order(repo: Repository) -> None:
    first = await make_approved(repo, 1)
    await repo.import_entries(ENTRIES[:2], language="en", publish=True)
    order = await drain_outbox(repo)
    book = await repo.list_for_book()
    assert order == [("publish", t.id) for t in book]
    assert book[0].id == first.id
    assert [t.approved_seq for t in book] == [1, 2, 3]


async def test_import_entries_is_all_or_nothing(repo: Repository, db: Database) -> None:
    assert await repo.import_entries(ENTRIES[:1], language="fr", publish=True) == (1, 0)
    before_rows = await db.fetchall("SELECT * FROM testimonials ORDER BY id")
    before_outbox = await outbox_rows(db)

    class Interrupted(Exception):
        pass

    def entries() -> Iterator[tuple[str, str, str, str]]:
        yield ENTRIES[1]
        yield ENTRIES[2]
        raise Interrupted

    with pytest.raises(Interrupted):
        await repo.import_entries(entries(), language="fr", publish=True)
    assert [tuple(r) for r in await db.fetchall("SELECT * FROM testimonials ORDER BY id")] == [
        tuple(r) for r in before_rows
    ]
    assert [tuple(r) for r in await outbox_rows(db)] == [tuple(r) for r in before_outbox]

    # A database error half-way (a NULL name) also leaves nothing behind.
    bad = [ENTRIES[1], ("roumics-x", None, "", "q")]
    with pytest.raises(sqlite3.IntegrityError):
        await repo.import_entries(bad, language="fr", publish=True)  # type: ignore[arg-type]
    assert len(await db.fetchall("SELECT id FROM testimonials")) == 1
    assert len(await outbox_rows(db)) == 1

    # And the same entries go in cleanly afterwards.
    assert await repo.import_entries(ENTRIES, language="fr", publish=False) == (2, 1)


# -- the review queue's claims ------------------------------------------------------------------


async def test_claims_hand_each_organiser_a_different_testimonial_and_lapse(
    repo: Repository,
) -> None:
    a, b = (await make_pending(repo, 100)).id, (await make_pending(repo, 101)).id
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    until = now + timedelta(minutes=5)
    # Claimed at once by three organisers: never the same one twice.
    claims = await asyncio.gather(*(repo.claim_next(u, now=now, until=until) for u in (1, 2, 3)))
    got = [c.id if c else None for c in claims]
    assert sorted(x for x in got if x is not None) == [a, b] and got.count(None) == 1
    first_holder = 1 if got[0] == a else 2
    # Asking again gives an organiser the one they hold.
    again = await repo.claim_next(first_holder, now=now, until=until)
    assert again is not None and again.id == a
    # The claim lapses: someone else gets it after its end, not before.
    assert await repo.claim_next(3, now=until - timedelta(seconds=1), until=until) is None
    lapsed = await repo.claim_next(3, now=until, until=until + timedelta(minutes=5))
    assert lapsed is not None and lapsed.id == a
    # A decided testimonial is never handed out.
    await repo.decide(b, Status.APPROVED, by=ORGANISER, by_name="Orga")
    later = until + timedelta(minutes=10)  # every claim has lapsed
    free = await repo.claim_next(4, now=later, until=later + timedelta(minutes=5))
    assert free is not None and free.id == a
    assert await repo.claim_next(5, now=later, until=later + timedelta(minutes=5)) is None
    assert (await repo.backlog())[0] == 1


async def test_skip_comes_last_for_whoever_skipped_it(repo: Repository) -> None:
    a, b = (await make_pending(repo, 100)).id, (await make_pending(repo, 101)).id
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    until = now + timedelta(minutes=5)
    claimed = await repo.claim_next(1, now=now, until=until)
    assert claimed is not None and claimed.id == a
    assert await repo.release_claim(a, 1, skipped_at=now)
    assert not await repo.release_claim(a, 1)  # not held any more
    nxt = await repo.claim_next(1, now=now, until=until)
    assert nxt is not None and nxt.id == b
    # Another organiser is not affected by organiser 1's skip: the oldest free one.
    other = await repo.claim_next(2, now=now, until=until)
    assert other is not None and other.id == a


async def test_review_messages_move_and_stay_until_erased_and_never_for_a_withdrawn_one(
    repo: Repository,
) -> None:
    a, b = (await make_pending(repo, 100)).id, (await make_pending(repo, 101)).id
    assert await repo.show_review(7, 1, a, live=True, lang="fr")
    assert await repo.show_review(8, 1, a, live=False, lang="en")
    # The live message moves on to the next one: one row per message.
    assert await repo.show_review(7, 1, b, live=True, lang="fr")
    assert await repo.show_review(7, 2, a, live=False, lang="fr")
    shown = await repo.review_messages_of([a])
    assert [(m.chat_id, m.message_id, m.live, m.lang) for m in shown] == [
        (7, 2, False, "fr"),
        (8, 1, False, "en"),
    ]
    # Read, not taken: each row stays until its message is erased (a crash erases it again).
    assert await repo.review_messages_of([a]) == shown
    for message in shown:
        await repo.drop_review_message(message)
    assert await repo.review_messages_of([a]) == []
    # Withdrawn (or erased) meanwhile: nothing is recorded, the caller erases the message.
    assert await repo.withdraw(b) is not None
    assert not await repo.show_review(9, 1, b, live=True, lang="en")
    assert not await repo.show_review(9, 1, 12345, live=True, lang="en")
    await repo.unshow_review(7, 1)
    assert await repo.review_messages_of([a, b]) == []


async def test_review_messages_of_a_testimonial_gone_are_found_without_its_id(
    repo: Repository,
) -> None:
    """A /forget that stopped after its rows went: its replay no longer knows the ids."""
    await repo.upsert_user(1, "Ada", None, None)
    gone, kept = (await make_pending(repo, 1)).id, (await make_pending(repo, 2)).id
    assert await repo.show_review(7, 1, gone, live=True, lang="en")
    assert await repo.show_review(7, 2, kept, live=True, lang="en")
    await repo.forget_user(1)
    assert [(m.message_id, m.testimonial_id) for m in await repo.review_messages_of([])] == [
        (1, gone)
    ]


async def test_asked_questions_outlive_the_draft_and_go_with_forget(repo: Repository) -> None:
    await repo.upsert_user(1, "Ada", None, None)
    draft = await repo.start_draft(1, "en")
    await repo.mark_asked(draft, 10)
    await repo.mark_asked(draft, 11, asked=False)  # an offer (continue or restart): no question
    moved = await repo.update_draft(draft, step=models.Step.ORGANISATION)
    assert moved is not None
    await repo.mark_asked(moved, 10)  # the same message, edited to ask the next question
    await repo.start_draft(1, "en")  # started again: the old questions still ask the same
    assert await repo.asked_step(1, 10) is models.Step.ORGANISATION
    assert await repo.asked_step(1, 11) is None
    assert await repo.asked_step(2, 10) is None
    await repo.forget_user(1)
    assert await repo.asked_step(1, 10) is None


async def test_a_link_offered_on_a_draft_is_kept_without_a_new_version(repo: Repository) -> None:
    await repo.upsert_user(1, "Ada", None, None)
    draft = await repo.start_draft(1, "en", "session-keynote")
    await repo.offer_link(draft, "session-atelier-3")
    stored = await repo.get_draft(1)
    assert stored is not None and stored.link_payload == "session-atelier-3"
    assert stored.version == draft.version and stored.start_payload == "session-keynote"
