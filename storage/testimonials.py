"""The repository: the only place with SQL. Returns the dataclasses of ``storage.models``."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import aiosqlite

from storage.database import Database
from storage.models import (
    TRANSITIONS,
    OutboxItem,
    Status,
    Step,
    Testimonial,
    User,
    join_quote,
)


class IllegalTransition(Exception):
    """A status change the state machine does not allow."""

    def __init__(self, current: Status | None, target: Status) -> None:
        super().__init__(f"cannot go from {current} to {target}")
        self.current = current
        self.target = target


class SubmitResult(StrEnum):
    """What ``submit`` did."""

    SUBMITTED = "submitted"
    TOO_MANY_PENDING = "too_many_pending"
    NO_CONSENT = "no_consent"
    INCOMPLETE = "incomplete"
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of a compare-and-set moderation decision."""

    won: bool
    testimonial: Testimonial | None


@dataclass(frozen=True, slots=True)
class ModeratorPrompt:
    """An organiser's open prompt: the bot is waiting for their reason or correction."""

    chat_id: int
    user_id: int
    testimonial_id: int
    action: str
    message_id: int = 0
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReviewMessage:
    """A message of an organiser's private chat that shows a testimonial (/review)."""

    chat_id: int
    message_id: int
    testimonial_id: int
    live: bool
    lang: str


# Columns an organiser or attendee may edit, mapped to themselves: a whitelist, because the
# column name is interpolated into SQL (values never are).
EDITABLE = {"name": "name", "organisation": "organisation", "quote": "quote"}
# A draft's quote is not a column of its own: it is its quote_parts joined.
DRAFT_COLUMNS = {
    "name": "name",
    "organisation": "organisation",
    "quote_parts": "quote_parts",
    "answer_messages": "answer_messages",
    "step": "step",
    "consent_text": "consent_text",
    # The session the attendee picked when their link named none (bot/services/sessions.py).
    "start_payload": "start_payload",
}
PUBLISHABLE = (Status.APPROVED, Status.PUBLISHING, Status.PUBLISHED)
#: The testimonials a book holds (``list_for_book`` and ``storage.snapshot``).
BOOK_STATUSES = "status IN ('approved', 'publishing', 'published')"
EXPORT_ORDERS = {
    "date": "approved_seq",
    "name": "name COLLATE NOCASE, approved_seq",
    "organisation": "organisation COLLATE NOCASE, name COLLATE NOCASE, approved_seq",
}


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _ts(value: datetime | None = None) -> str:
    return (value or utcnow()).isoformat(timespec="microseconds")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _ids(value: str | None) -> tuple[int, ...]:
    return tuple(json.loads(value)) if value else ()


def _testimonial(row: sqlite3.Row) -> Testimonial:
    created = _dt(row["created_at"])
    updated = _dt(row["updated_at"])
    assert created is not None and updated is not None
    status = Status(row["status"])
    parts = tuple(json.loads(row["quote_parts"]))
    return Testimonial(
        id=row["id"],
        user_id=row["user_id"],
        status=status,
        step=Step(row["step"]) if row["step"] else None,
        language=row["language"],
        name=row["name"],
        organisation=row["organisation"],
        quote=join_quote(parts) if status is Status.DRAFT else row["quote"],
        created_at=created,
        updated_at=updated,
        version=row["version"],
        start_payload=row["start_payload"],
        consent_at=_dt(row["consent_at"]),
        consent_text=row["consent_text"],
        submitted_at=_dt(row["submitted_at"]),
        decided_at=_dt(row["decided_at"]),
        decided_by=row["decided_by"],
        decided_by_name=row["decided_by_name"],
        reject_reason=row["reject_reason"],
        reject_reason_key=row["reject_reason_key"],
        approved_seq=row["approved_seq"],
        published_at=_dt(row["published_at"]),
        channel_message_ids=_ids(row["channel_message_ids"]),
        card_message_ids=_ids(row["card_message_ids"]),
        card_done=bool(row["card_done"]),
        source=row["source"],
        import_key=row["import_key"],
        author_name=row["author_name"],
        author_username=row["author_username"],
        quote_parts=parts,
        answer_messages=json.loads(row["answer_messages"]),
        question_delivered=row["asked_version"] == row["version"],
        prompt_message_id=row["prompt_message_id"],
    )


def _user(row: sqlite3.Row, prefix: str = "") -> User:
    return User(
        user_id=row[f"{prefix}user_id"],
        language=row[f"{prefix}language"],
        banned=bool(row[f"{prefix}banned"]),
        blocked_bot=bool(row[f"{prefix}blocked_bot"]),
        first_name=row[f"{prefix}first_name"],
        last_name=row[f"{prefix}last_name"],
        username=row[f"{prefix}username"],
    )


def check_transition(current: Status | None, target: Status) -> None:
    """Raise ``IllegalTransition`` unless ``current -> target`` is in the state machine."""
    if current is None or target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)


async def _move(
    conn: aiosqlite.Connection,
    testimonial_id: int,
    target: Status,
    *,
    expected: Iterable[Status] | None = None,
    sets: str = "",
    params: Sequence[Any] = (),
) -> Testimonial | None:
    """Change a testimonial's status, the one way every status changes: a compare-and-set
    from the statuses ``TRANSITIONS`` allows (narrowed to ``expected``, each of which must be
    allowed). ``sets`` adds assignments (``", column = ?"``) whose values are ``params``.
    Return the row as written, or None if it was in none of those statuses."""
    if expected is None:
        sources = [s for s in Status if target in TRANSITIONS[s]]
    else:
        sources = list(expected)
        for source in sources:
            check_transition(source, target)
    marks = ", ".join("?" * len(sources))
    rows = list(
        await conn.execute_fetchall(
            f"UPDATE testimonials SET status = ?, version = version + 1, updated_at = ?{sets}"
            f" WHERE id = ? AND status IN ({marks}) RETURNING *",
            (target.value, _ts(), *params, testimonial_id, *(s.value for s in sources)),
        )
    )
    return _testimonial(rows[0]) if rows else None


class Repository:
    """Testimonials, users, the publication outbox and organisers' prompts."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- users ---------------------------------------------------------------------------

    async def upsert_user(
        self, user_id: int, first_name: str, last_name: str | None, username: str | None
    ) -> None:
        """Record (or refresh) a Telegram user's profile."""
        now = _ts()
        await self.db.execute(
            "INSERT INTO users (user_id, first_name, last_name, username, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
            " first_name = excluded.first_name, last_name = excluded.last_name,"
            " username = excluded.username, updated_at = excluded.updated_at",
            (user_id, first_name, last_name, username, now, now),
        )

    async def get_user(self, user_id: int) -> User | None:
        """Return a user, or None if the bot never saw them."""
        row = await self.db.fetchone("SELECT * FROM users WHERE user_id = ?", (user_id,))
        return _user(row) if row else None

    async def get_user_and_draft(self, user_id: int) -> tuple[User | None, Testimonial | None]:
        """Return the user and their open draft in one round trip (the hot path)."""
        row = await self.db.fetchone(
            "SELECT t.*, u.user_id AS u_user_id, u.language AS u_language, u.banned AS u_banned,"
            " u.blocked_bot AS u_blocked_bot, u.first_name AS u_first_name,"
            " u.last_name AS u_last_name, u.username AS u_username"
            " FROM users u LEFT JOIN testimonials t ON t.user_id = u.user_id"
            " AND t.status = 'draft' WHERE u.user_id = ?",
            (user_id,),
        )
        if row is None:
            return None, None
        return _user(row, "u_"), _testimonial(row) if row["id"] is not None else None

    async def set_language(self, user_id: int, language: str) -> None:
        """Store the language a user chose with /language."""
        await self.db.execute(
            "UPDATE users SET language = ?, updated_at = ? WHERE user_id = ?",
            (language, _ts(), user_id),
        )

    async def set_banned(self, user_id: int, banned: bool) -> bool:
        """Ban or unban a user; return False if the user is unknown."""
        count = await self.db.execute(
            "UPDATE users SET banned = ?, updated_at = ? WHERE user_id = ?",
            (int(banned), _ts(), user_id),
        )
        return count == 1

    async def set_blocked_bot(self, user_id: int, blocked: bool) -> None:
        """Remember that a user blocked (or unblocked) the bot."""
        await self.db.execute(
            "UPDATE users SET blocked_bot = ?, updated_at = ? WHERE user_id = ?",
            (int(blocked), _ts(), user_id),
        )

    # -- drafts: one committed write per step ---------------------------------------------

    async def get(self, testimonial_id: int) -> Testimonial | None:
        """Return a testimonial by id."""
        row = await self.db.fetchone("SELECT * FROM testimonials WHERE id = ?", (testimonial_id,))
        return _testimonial(row) if row else None

    async def get_draft(self, user_id: int) -> Testimonial | None:
        """Return the user's open draft, if any."""
        row = await self.db.fetchone(
            "SELECT * FROM testimonials WHERE user_id = ? AND status = 'draft'", (user_id,)
        )
        return _testimonial(row) if row else None

    async def start_draft(
        self, user_id: int, language: str, start_payload: str | None = None
    ) -> Testimonial:
        """Open a new draft at the name step, discarding any open one (start again)."""
        now = _ts()
        async with self.db.transaction() as conn:
            await conn.execute(
                "DELETE FROM testimonials WHERE user_id = ? AND status = 'draft'", (user_id,)
            )
            rows = await conn.execute_fetchall(
                "INSERT INTO testimonials (user_id, status, step, language, start_payload,"
                " created_at, updated_at) VALUES (?, 'draft', ?, ?, ?, ?, ?) RETURNING *",
                (user_id, Step.NAME.value, language, start_payload, now, now),
            )
        return _testimonial(next(iter(rows)))

    async def update_draft(self, draft: Testimonial, **changes: Any) -> Testimonial | None:
        """Write some fields of a draft as one committed step.

        A compare-and-set on ``version``: if the row changed since ``draft`` was read (a
        replayed update, another worker), nothing is written and None is returned.
        Allowed keys: name, organisation, quote_parts (the quote is their join),
        answer_messages, step, consent_text (which also stamps consent_at; None clears both),
        start_payload.
        """
        sets: list[str] = []
        params: list[Any] = []
        for key, value in changes.items():
            if key not in DRAFT_COLUMNS:
                raise ValueError(f"not a draft column: {key}")
            if key in ("quote_parts", "answer_messages"):
                value = json.dumps(list(value) if key == "quote_parts" else value)
            elif key == "step":
                value = value.value if value is not None else None
            elif key == "consent_text":
                sets.append("consent_at = ?")
                params.append(_ts() if value is not None else None)
            sets.append(f"{DRAFT_COLUMNS[key]} = ?")
            params.append(value)
        rows = await self.db.write_returning(
            f"UPDATE testimonials SET {', '.join(sets)}, version = version + 1, updated_at = ?"
            " WHERE id = ? AND status = 'draft' AND version = ? RETURNING *",
            (*params, _ts(), draft.id, draft.version),
        )
        return _testimonial(rows[0]) if rows else None

    async def mark_asked(
        self, draft: Testimonial, prompt_message_id: int | None, *, asked: bool = True
    ) -> None:
        """Record that Telegram accepted the message asking ``draft``'s question (``asked``)
        and which message carries the live buttons. Not a new version of the draft: only if
        the draft is still at that version. While an update is handled, this is written
        with the update's "done" mark (``InboxUpdateProcessor``: one round trip less)."""
        await self.db.execute_later(
            "UPDATE testimonials SET prompt_message_id = ?,"
            " asked_version = CASE WHEN ? THEN version ELSE asked_version END"
            " WHERE id = ? AND status = 'draft' AND version = ?",
            (prompt_message_id, int(asked), draft.id, draft.version),
        )

    async def drafts_not_asked(self, since: datetime) -> list[tuple[Testimonial, User]]:
        """Drafts changed since ``since`` whose open question Telegram never confirmed, with
        their authors (oldest first)."""
        rows = await self.db.fetchall(
            "SELECT t.*, u.user_id AS u_user_id, u.language AS u_language, u.banned AS u_banned,"
            " u.blocked_bot AS u_blocked_bot, u.first_name AS u_first_name,"
            " u.last_name AS u_last_name, u.username AS u_username"
            " FROM testimonials t JOIN users u ON u.user_id = t.user_id"
            " WHERE t.status = 'draft' AND t.step IS NOT NULL AND t.updated_at >= ?"
            " AND (t.asked_version IS NULL OR t.asked_version != t.version)"
            " ORDER BY t.updated_at",
            (_ts(since),),
        )
        return [(_testimonial(r), _user(r, "u_")) for r in rows]

    async def discard_draft(self, draft_id: int) -> bool:
        """Delete an open draft; return whether there was one."""
        count = await self.db.execute(
            "DELETE FROM testimonials WHERE id = ? AND status = 'draft'", (draft_id,)
        )
        return count == 1

    async def submit(
        self,
        draft_id: int,
        *,
        max_pending: int,
        author_name: str,
        author_username: str | None,
    ) -> tuple[SubmitResult, Testimonial | None]:
        """Turn a complete, consented draft into a pending testimonial: its quote is stored,
        its draft bookkeeping cleared."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT * FROM testimonials WHERE id = ? AND status = 'draft'", (draft_id,)
            )
            row = await cursor.fetchone()
            if row is None:
                return SubmitResult.GONE, None
            draft = _testimonial(row)
            if not draft.name or not draft.quote:
                return SubmitResult.INCOMPLETE, draft
            if draft.consent_at is None:
                return SubmitResult.NO_CONSENT, draft
            cursor = await conn.execute(
                "SELECT count(*) FROM testimonials WHERE user_id = ? AND status = 'pending'",
                (draft.user_id,),
            )
            count_row = await cursor.fetchone()
            if count_row is not None and count_row[0] >= max_pending:
                return SubmitResult.TOO_MANY_PENDING, draft
            pending = await _move(
                conn,
                draft_id,
                Status.PENDING,
                expected=(Status.DRAFT,),
                sets=", step = NULL, submitted_at = ?, author_name = ?, author_username = ?,"
                " quote = ?, quote_parts = '[]', answer_messages = '{}'",
                params=(_ts(), author_name, author_username, draft.quote),
            )
        return SubmitResult.SUBMITTED, pending

    async def list_for_user(self, user_id: int) -> list[Testimonial]:
        """Return a user's testimonials that left the draft stage, newest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM testimonials WHERE user_id = ? AND status != 'draft' ORDER BY id DESC",
            (user_id,),
        )
        return [_testimonial(r) for r in rows]

    async def own_numbers(self, user_id: int) -> dict[int, int]:
        """Number a user's testimonials 1, 2, 3 in the order they were written, by id: what
        the author reads (the id is global: one testimonial should not be "no. 47")."""
        rows = await self.db.fetchall(
            "SELECT id FROM testimonials WHERE user_id = ? AND status != 'draft' ORDER BY id",
            (user_id,),
        )
        return {int(row["id"]): n for n, row in enumerate(rows, start=1)}

    # -- moderation ------------------------------------------------------------------------

    async def decide(
        self,
        testimonial_id: int,
        target: Status,
        *,
        by: int,
        by_name: str,
        reason: str | None = None,
        reason_key: str | None = None,
    ) -> Decision:
        """Approve or reject a pending testimonial: a compare-and-set whose row count says
        who won. Approval queues the publication in the same transaction. A ready-made
        reason comes with its text key (``reason_key``), a typed one without."""
        if target not in (Status.APPROVED, Status.REJECTED):
            raise IllegalTransition(Status.PENDING, target)
        now = _ts()
        sets = ", decided_at = ?, decided_by = ?, decided_by_name = ?"
        if target is Status.APPROVED:
            sets += ", approved_seq = (SELECT coalesce(max(approved_seq), 0) + 1 FROM testimonials)"
            params: tuple[Any, ...] = (now, by, by_name)
        else:
            sets += ", reject_reason = ?, reject_reason_key = ?"
            params = (now, by, by_name, reason, reason_key)
        async with self.db.transaction() as conn:
            won = await _move(
                conn, testimonial_id, target, expected=(Status.PENDING,), sets=sets, params=params
            )
            if won and target is Status.APPROVED:
                await conn.execute(
                    "INSERT INTO outbox (testimonial_id, action, created_at)"
                    " VALUES (?, 'publish', ?)",
                    (testimonial_id, now),
                )
            if won:
                return Decision(True, won)
            cursor = await conn.execute(
                "SELECT * FROM testimonials WHERE id = ?", (testimonial_id,)
            )
            row = await cursor.fetchone()
        return Decision(False, _testimonial(row) if row else None)

    async def edit_pending(self, testimonial_id: int, field: str, value: str) -> Testimonial | None:
        """Correct one field of a pending testimonial (organisers' Edit)."""
        column = EDITABLE[field]
        rows = await self.db.write_returning(
            f"UPDATE testimonials SET {column} = ?, version = version + 1, updated_at = ?"
            " WHERE id = ? AND status = 'pending' RETURNING *",
            (value, _ts(), testimonial_id),
        )
        return _testimonial(rows[0]) if rows else None

    async def set_card_messages(
        self, testimonial_id: int, message_ids: Sequence[int], *, done: bool = True
    ) -> None:
        """Remember the organisers' card message(s) of a testimonial; ``done=False`` while
        a multi-part card is half-sent (it is resumed from there)."""
        await self.db.execute(
            "UPDATE testimonials SET card_message_ids = ?, card_done = ?, version = version + 1"
            " WHERE id = ?",
            (json.dumps(list(message_ids)), int(done), testimonial_id),
        )

    async def cards_to_send(self, limit: int = 100_000) -> list[int]:
        """Return the ids of pending testimonials whose card is missing or half-sent, oldest
        first (an index keeps this cheap however many testimonials are stored)."""
        rows = await self.db.fetchall(
            "SELECT id FROM testimonials WHERE status = 'pending' AND card_done = 0"
            " ORDER BY id LIMIT ?",
            (limit,),
        )
        return [int(r[0]) for r in rows]

    async def pending_ids(self, limit: int = 1000) -> list[int]:
        """Return the ids of the testimonials waiting for review, oldest first."""
        rows = await self.db.fetchall(
            "SELECT id FROM testimonials WHERE status = 'pending' ORDER BY id LIMIT ?", (limit,)
        )
        return [int(r[0]) for r in rows]

    async def backlog(self) -> tuple[int, datetime | None]:
        """Return how many testimonials wait for review and when the oldest was sent."""
        row = await self.db.fetchone(
            "SELECT count(*), min(submitted_at) FROM testimonials WHERE status = 'pending'"
        )
        if row is None:
            return 0, None
        return int(row[0]), _dt(row[1])

    # -- the review queue (/review in organisers' private chats) ------------------------------

    async def claim_next(
        self, user_id: int, *, now: datetime, until: datetime
    ) -> Testimonial | None:
        """Claim for ``user_id`` the next testimonial waiting for review, in one statement
        (two organisers never get the same one): the one they already hold if its claim is
        still live, else the oldest that nobody holds (or whose claim lapsed), those they
        skipped last, in the order they skipped them. None when nothing is left."""
        rows = await self.db.write_returning(
            "UPDATE testimonials SET claimed_by = ?, claimed_until = ?"
            " WHERE id = (SELECT id FROM testimonials WHERE status = 'pending'"
            "  AND (claimed_until IS NULL OR claimed_until <= ? OR claimed_by = ?)"
            "  ORDER BY (claimed_by IS ? AND claimed_until > ?) DESC,"
            "   skipped_by IS ?, CASE WHEN skipped_by IS ? THEN skipped_at END, id"
            "  LIMIT 1)"
            " RETURNING *",
            (user_id, _ts(until), _ts(now), user_id, user_id, _ts(now), user_id, user_id),
        )
        return _testimonial(rows[0]) if rows else None

    async def release_claim(
        self, testimonial_id: int, user_id: int, *, skipped_at: datetime | None = None
    ) -> bool:
        """Give back a claim ``user_id`` holds (Stop, or Skip with ``skipped_at``: it then
        comes last in their queue). Return whether they held it."""
        count = await self.db.execute(
            "UPDATE testimonials SET claimed_by = NULL, claimed_until = NULL,"
            " skipped_by = CASE WHEN ? IS NULL THEN skipped_by ELSE claimed_by END,"
            " skipped_at = coalesce(?, skipped_at)"
            " WHERE id = ? AND claimed_by = ?",
            (
                _ts(skipped_at) if skipped_at else None,
                _ts(skipped_at) if skipped_at else None,
                testimonial_id,
                user_id,
            ),
        )
        return count > 0

    async def show_review(
        self, chat_id: int, message_id: int, testimonial_id: int, *, live: bool, lang: str
    ) -> bool:
        """Record that a message shows a testimonial (replacing what it showed before).
        Return False, recording nothing, if the testimonial is gone or withdrawn meanwhile:
        its erasure has run already, so the caller erases that message itself."""
        count = await self.db.execute(
            "INSERT OR REPLACE INTO review_messages (chat_id, message_id, testimonial_id, live,"
            " lang) SELECT ?, ?, id, ?, ? FROM testimonials WHERE id = ? AND status != 'withdrawn'",
            (chat_id, message_id, int(live), lang, testimonial_id),
        )
        return count > 0

    async def unshow_review(self, chat_id: int, message_id: int) -> None:
        """Forget a message that no longer shows a testimonial."""
        await self.db.execute(
            "DELETE FROM review_messages WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )

    async def take_review_messages(self, testimonial_ids: Sequence[int]) -> list[ReviewMessage]:
        """Remove and return the messages that show these testimonials (to erase them)."""
        if not testimonial_ids:
            return []
        marks = ", ".join("?" * len(testimonial_ids))
        rows = await self.db.write_returning(
            f"DELETE FROM review_messages WHERE testimonial_id IN ({marks}) RETURNING *",
            tuple(testimonial_ids),
        )
        return [
            ReviewMessage(
                int(r["chat_id"]),
                int(r["message_id"]),
                int(r["testimonial_id"]),
                bool(r["live"]),
                str(r["lang"]),
            )
            for r in rows
        ]

    async def get_state(self, key: str) -> str | None:
        """Return a value the bot keeps across restarts (``bot_state``)."""
        row = await self.db.fetchone("SELECT value FROM bot_state WHERE key = ?", (key,))
        return str(row[0]) if row else None

    async def set_state(self, key: str, value: str | None) -> None:
        """Store (or, with None, forget) a value the bot keeps across restarts."""
        if value is None:
            await self.db.execute("DELETE FROM bot_state WHERE key = ?", (key,))
        else:
            await self.db.execute(
                "INSERT INTO bot_state (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def find_by_card(self, message_id: int) -> Testimonial | None:
        """Return the testimonial whose card includes ``message_id``."""
        row = await self.db.fetchone(
            "SELECT t.* FROM testimonials t, json_each(t.card_message_ids) j"
            " WHERE j.value = ? LIMIT 1",
            (message_id,),
        )
        return _testimonial(row) if row else None

    async def list_by_status(self, status: Status, *, limit: int = 1000) -> list[Testimonial]:
        """Return testimonials in one status, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM testimonials WHERE status = ? ORDER BY id LIMIT ?",
            (status.value, limit),
        )
        return [_testimonial(r) for r in rows]

    async def count_by_status(self) -> dict[Status, int]:
        """Return how many testimonials are in each status (zeros included)."""
        rows = await self.db.fetchall("SELECT status, count(*) FROM testimonials GROUP BY status")
        counts = {status: 0 for status in Status}
        for row in rows:
            counts[Status(row[0])] = int(row[1])
        return counts

    async def count_sent_by_payload(self) -> dict[str | None, int]:
        """Return how many testimonials were sent for review (not drafts), by deep-link
        payload (None: no payload)."""
        rows = await self.db.fetchall(
            "SELECT start_payload, count(*) FROM testimonials WHERE status != 'draft'"
            " GROUP BY start_payload"
        )
        return {row[0]: int(row[1]) for row in rows}

    async def set_prompt(
        self,
        chat_id: int,
        user_id: int,
        testimonial_id: int,
        action: str,
        *,
        message_id: int,
        expires_at: datetime,
    ) -> None:
        """Remember what an organiser is asked to type, keyed on the bot's prompt message
        (the answer must reply to it); their earlier prompts for the same card go."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "DELETE FROM moderator_prompts WHERE chat_id = ? AND user_id = ?"
                " AND testimonial_id = ?",
                (chat_id, user_id, testimonial_id),
            )
            await conn.execute(
                "INSERT OR REPLACE INTO moderator_prompts (chat_id, message_id, user_id,"
                " testimonial_id, action, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (chat_id, message_id, user_id, testimonial_id, action, _ts(expires_at)),
            )

    async def get_prompt(self, chat_id: int, message_id: int) -> ModeratorPrompt | None:
        """Return the prompt a message of the bot asked (None if there is none)."""
        row = await self.db.fetchone(
            "SELECT * FROM moderator_prompts WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        if row is None:
            return None
        return ModeratorPrompt(
            row["chat_id"],
            row["user_id"],
            row["testimonial_id"],
            row["action"],
            row["message_id"],
            _dt(row["expires_at"]),
        )

    async def drop_prompt(self, chat_id: int, message_id: int) -> bool:
        """Delete a prompt; return whether this call deleted it (two answers: one wins)."""
        count = await self.db.execute(
            "DELETE FROM moderator_prompts WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        return count > 0

    async def drop_prompts_of(self, chat_id: int, user_id: int) -> None:
        """Delete every open prompt of someone who is no longer an organiser."""
        await self.db.execute(
            "DELETE FROM moderator_prompts WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
        )

    # -- publishing ------------------------------------------------------------------------

    async def transition(
        self, testimonial_id: int, target: Status, *, expected: Status
    ) -> Testimonial | None:
        """Move ``expected -> target`` (refusing illegal moves); None if the row was not in
        ``expected`` any more."""
        published = target is Status.PUBLISHED
        async with self.db.transaction() as conn:
            return await _move(
                conn,
                testimonial_id,
                target,
                expected=(expected,),
                sets=", published_at = ?" if published else "",
                params=(_ts(),) if published else (),
            )

    async def next_outbox(self) -> tuple[OutboxItem, Testimonial] | None:
        """Return the oldest open outbox item with its testimonial."""
        row = await self.db.fetchone(
            "SELECT o.id AS o_id, o.action AS o_action, o.created_at AS o_created_at,"
            " o.attempts AS o_attempts, t.* FROM outbox o JOIN testimonials t"
            " ON t.id = o.testimonial_id WHERE o.done_at IS NULL ORDER BY o.id LIMIT 1"
        )
        if row is None:
            return None
        created = _dt(row["o_created_at"])
        assert created is not None
        item = OutboxItem(row["o_id"], row["id"], row["o_action"], created, row["o_attempts"])
        return item, _testimonial(row)

    async def claim_for_publishing(self, item_id: int, testimonial_id: int) -> Testimonial | None:
        """approved -> publishing, counting the attempt; None if no longer approved (the
        outbox item is then closed, as there is nothing left to do)."""
        async with self.db.transaction() as conn:
            claimed = await _move(
                conn, testimonial_id, Status.PUBLISHING, expected=(Status.APPROVED,)
            )
            if claimed:
                await conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", (item_id,)
                )
            else:
                await conn.execute("UPDATE outbox SET done_at = ? WHERE id = ?", (_ts(), item_id))
        return claimed

    async def record_published(
        self, item_id: int | None, testimonial_id: int, message_ids: Sequence[int]
    ) -> Testimonial | None:
        """publishing -> published with the channel message ids; closes the outbox item."""
        now = _ts()
        async with self.db.transaction() as conn:
            published = await _move(
                conn,
                testimonial_id,
                Status.PUBLISHED,
                expected=(Status.PUBLISHING,),
                sets=", published_at = ?, channel_message_ids = ?",
                params=(now, json.dumps(list(message_ids))),
            )
            if item_id is not None:
                await conn.execute("UPDATE outbox SET done_at = ? WHERE id = ?", (now, item_id))
        return published

    async def record_parts(self, testimonial_id: int, message_ids: Sequence[int]) -> None:
        """Remember the channel parts of a post confirmed so far (still ``publishing``)."""
        await self.db.execute(
            "UPDATE testimonials SET channel_message_ids = ?, version = version + 1"
            " WHERE id = ? AND status = 'publishing'",
            (json.dumps(list(message_ids)), testimonial_id),
        )

    async def publishing_failed(self, item_id: int, testimonial_id: int) -> Testimonial | None:
        """publishing -> approved and close the outbox item: the channel refused the post and
        an organiser must fix it and press Retry (which queues it again). The parts already
        out were deleted by the publisher: their ids are forgotten."""
        async with self.db.transaction() as conn:
            approved = await _move(
                conn,
                testimonial_id,
                Status.APPROVED,
                expected=(Status.PUBLISHING,),
                sets=", channel_message_ids = '[]'",
            )
            await conn.execute("UPDATE outbox SET done_at = ? WHERE id = ?", (_ts(), item_id))
        return approved

    async def requeue(self, testimonial_id: int, *, from_status: Status) -> Testimonial | None:
        """Queue an approved (or stuck publishing) testimonial for publication again."""
        if from_status not in (Status.APPROVED, Status.PUBLISHING):
            # Only a decided testimonial can be queued: never a pending one.
            raise IllegalTransition(from_status, Status.APPROVED)
        now = _ts()
        async with self.db.transaction() as conn:
            if from_status is Status.PUBLISHING:
                queued = await _move(conn, testimonial_id, Status.APPROVED, expected=(from_status,))
            else:  # already approved: no status change, only the outbox entry
                cursor = await conn.execute(
                    "SELECT * FROM testimonials WHERE id = ? AND status = ?",
                    (testimonial_id, from_status.value),
                )
                row = await cursor.fetchone()
                queued = _testimonial(row) if row else None
            if queued:
                cursor = await conn.execute(
                    "SELECT 1 FROM outbox WHERE testimonial_id = ? AND action = 'publish'"
                    " AND done_at IS NULL",
                    (testimonial_id,),
                )
                if await cursor.fetchone() is None:
                    # Reopen its own publish item rather than queueing a new one: the item
                    # keeps its place, so approval order survives a refusal and Retry.
                    cursor = await conn.execute(
                        "UPDATE outbox SET done_at = NULL WHERE id = (SELECT max(id) FROM outbox"
                        " WHERE testimonial_id = ? AND action = 'publish')",
                        (testimonial_id,),
                    )
                    if cursor.rowcount == 0:
                        await conn.execute(
                            "INSERT INTO outbox (testimonial_id, action, created_at)"
                            " VALUES (?, 'publish', ?)",
                            (testimonial_id, now),
                        )
        return queued

    async def withdraw(self, testimonial_id: int) -> Testimonial | None:
        """Withdraw a pending, approved, publishing or published testimonial; queue the
        deletion of its channel posts if there are any. None if it was not withdrawable."""
        now = _ts()
        async with self.db.transaction() as conn:
            # From every status TRANSITIONS allows (pending, approved, publishing, published).
            withdrawn = await _move(conn, testimonial_id, Status.WITHDRAWN)
            if withdrawn is None:
                return None
            # A queued publication has nothing left to do.
            await conn.execute(
                "UPDATE outbox SET done_at = ? WHERE testimonial_id = ? AND action = 'publish'"
                " AND done_at IS NULL",
                (now, testimonial_id),
            )
            if withdrawn.channel_message_ids:
                await conn.execute(
                    "INSERT INTO outbox (testimonial_id, action, created_at)"
                    " VALUES (?, 'unpublish', ?)",
                    (testimonial_id, now),
                )
        return withdrawn

    async def finish_outbox(self, item_id: int) -> None:
        """Close an outbox item."""
        await self.db.execute("UPDATE outbox SET done_at = ? WHERE id = ?", (_ts(), item_id))

    async def forget_user(self, user_id: int) -> list[Testimonial]:
        """Erase everything held about a person; return their testimonials that had channel
        posts (now queued for deletion). Texts are blanked, the user row is deleted."""
        now = _ts()
        async with self.db.transaction() as conn:
            rows = list(
                await conn.execute_fetchall(
                    "SELECT * FROM testimonials WHERE user_id = ?", (user_id,)
                )
            )
            posted = [_testimonial(r) for r in rows if _ids(r["channel_message_ids"])]
            await conn.execute(
                "UPDATE outbox SET done_at = ? WHERE done_at IS NULL AND action = 'publish'"
                " AND testimonial_id IN (SELECT id FROM testimonials WHERE user_id = ?)",
                (now, user_id),
            )
            for testimonial in posted:
                await conn.execute(
                    "INSERT INTO outbox (testimonial_id, action, created_at)"
                    " VALUES (?, 'unpublish', ?)",
                    (testimonial.id, now),
                )
            await conn.execute(
                "DELETE FROM testimonials WHERE user_id = ? AND id NOT IN"
                " (SELECT testimonial_id FROM outbox WHERE done_at IS NULL)",
                (user_id,),
            )
            # An erasure, not a move of the state machine: what is left (posts still to
            # delete) is blanked and marked withdrawn, whatever its status was.
            await conn.execute(
                "UPDATE testimonials SET status = 'withdrawn', name = '', organisation = '',"
                " quote = '', quote_parts = '[]', answer_messages = '{}', consent_text = NULL,"
                " author_name = NULL, author_username = NULL, start_payload = NULL,"
                " user_id = NULL, version = version + 1, updated_at = ? WHERE user_id = ?",
                (now, user_id),
            )
            await conn.execute("DELETE FROM users WHERE user_id = ?", (user_id,))
            # Handled updates keep their raw JSON a while (the inbox); theirs hold the
            # person's words and name, and organisers' presses hold the card's text. Keep the
            # ids (a redelivered update must still be recognised), drop every handled payload.
            await conn.execute("UPDATE inbox SET payload = '' WHERE done_at IS NOT NULL")
        # The erased text must not stay readable in the -wal file while the bot runs.
        await self.db.checkpoint()
        return posted

    # -- the book --------------------------------------------------------------------------

    async def list_for_book(self, order: str = "date") -> list[Testimonial]:
        """Return approved testimonials (published or not) in the requested order."""
        order_by = EXPORT_ORDERS[order]
        rows = await self.db.fetchall(
            f"SELECT * FROM testimonials WHERE {BOOK_STATUSES} ORDER BY {order_by}"
        )
        return [_testimonial(r) for r in rows]

    async def import_entries(
        self,
        entries: Iterable[tuple[str, str, str, str]],
        *,
        language: str,
        publish: bool,
    ) -> tuple[int, int]:
        """Store ``(import_key, name, organisation, quote)`` entries as approved, in one
        transaction; skip keys already present. Returns (added, skipped)."""
        now = _ts()
        added = skipped = 0
        async with self.db.transaction() as conn:
            for key, name, organisation, quote in entries:
                rows = list(
                    await conn.execute_fetchall(
                        "INSERT INTO testimonials (status, language, name, organisation, quote,"
                        " created_at, updated_at, decided_at, source, import_key, approved_seq)"
                        " VALUES ('approved', ?, ?, ?, ?, ?, ?, ?, 'import', ?,"
                        " (SELECT coalesce(max(approved_seq), 0) + 1 FROM testimonials))"
                        " ON CONFLICT (import_key) DO NOTHING RETURNING id",
                        (language, name, organisation, quote, now, now, now, key),
                    )
                )
                if not rows:
                    skipped += 1
                    continue
                added += 1
                if publish:
                    await conn.execute(
                        "INSERT INTO outbox (testimonial_id, action, created_at)"
                        " VALUES (?, 'publish', ?)",
                        (rows[0][0], now),
                    )
        return added, skipped
