"""Drafts: the attendee's conversation, one committed write per step, until submission."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from storage.models import Status, Step, SubmitResult, Testimonial, User
from storage.rows import USER_AS_U, testimonial_from_row, to_ts, user_from_row
from storage.stores.asked import AskedStore
from storage.stores.base import move
from storage.stores.portraits import PortraitStore

# A draft's quote is not a column of its own: it is its quote_parts joined. The column name
# is interpolated into SQL (values never are): only these keys are accepted.
DRAFT_COLUMNS = {
    "name": "name",
    "organisation": "organisation",
    "quote_parts": "quote_parts",
    "answer_messages": "answer_messages",
    "step": "step",
    "consent_text": "consent_text",
    # The session the attendee picked when their link named none (bot/services/sessions.py).
    "start_payload": "start_payload",
    # Text typed at the preview, until the attendee says whether to add it (None: nothing).
    "pending_addition": "pending_addition",
    # How the attendee chose to sign in public, at the preview (Signature).
    "signature": "signature",
    "portrait": "portrait",
    "portrait_offer": "portrait_offer",
    "album_answered": "album_answered",
    "link_payload": "link_payload",  # a link opened since: until Continue or Start again
}


class DraftStore(PortraitStore, AskedStore):
    """Open drafts: the conversation state is the ``step`` column of the draft row."""

    async def get_draft(self, user_id: int) -> Testimonial | None:
        """Return the user's open draft, if any."""
        row = await self.db.fetchone(
            "SELECT * FROM testimonials WHERE user_id = ? AND status = 'draft'", (user_id,)
        )
        return testimonial_from_row(row) if row else None

    async def get_user_and_draft(self, user_id: int) -> tuple[User | None, Testimonial | None]:
        """Return the user and their open draft in one round trip (the hot path)."""
        row = await self.db.fetchone(
            f"SELECT t.*, {USER_AS_U}"
            " FROM users u LEFT JOIN testimonials t ON t.user_id = u.user_id"
            " AND t.status = 'draft' WHERE u.user_id = ?",
            (user_id,),
        )
        if row is None:
            return None, None
        draft = testimonial_from_row(row) if row["id"] is not None else None
        return user_from_row(row, "u_"), draft

    async def start_draft(
        self,
        user_id: int,
        language: str,
        start_payload: str | None = None,
        *,
        step: Step = Step.NAME,
        update_id: int | None = None,
    ) -> Testimonial:
        """Open a new draft at ``step``, discarding any open one (start again). ``update_id``:
        the update that opens it, recorded in the same transaction, so that this update
        handled again after a crash is recognised (it answers as the first time)."""
        now = to_ts()
        async with self.db.transaction() as conn:
            where = "user_id = ? AND status = 'draft'"
            _, dropped = await self._delete_drafts(conn, where, (user_id,))
            rows = await conn.execute_fetchall(
                "INSERT INTO testimonials (user_id, status, step, language, start_payload,"
                " created_by_update, created_at, updated_at)"
                " VALUES (?, 'draft', ?, ?, ?, ?, ?, ?) RETURNING *",
                (user_id, step.value, language, start_payload, update_id, now, now),
            )
        self._drop_files(dropped)
        return testimonial_from_row(next(iter(rows)))

    async def update_draft(self, draft: Testimonial, **changes: Any) -> Testimonial | None:
        """Write some fields of a draft as one committed step.

        A compare-and-set on ``version``: if the row changed since ``draft`` was read (a
        replayed update, another worker), nothing is written and None is returned.
        Allowed keys: name, organisation, quote_parts (the quote is their join),
        answer_messages, step, consent_text (which also stamps consent_at; None clears both),
        start_payload, pending_addition, signature, link_payload.
        """
        sets: list[str] = []
        params: list[Any] = []
        for key, value in changes.items():
            if key not in DRAFT_COLUMNS:
                raise ValueError(f"not a draft column: {key}")
            if key in ("quote_parts", "answer_messages"):
                value = json.dumps(list(value) if key == "quote_parts" else value)
            elif key in ("step", "signature"):
                value = value.value if value is not None else None
            elif key == "consent_text":
                sets.append("consent_at = ?")
                params.append(to_ts() if value is not None else None)
            sets.append(f"{DRAFT_COLUMNS[key]} = ?")
            params.append(value)
        rows = await self.db.write_returning(
            f"UPDATE testimonials SET {', '.join(sets)}, version = version + 1, updated_at = ?"
            " WHERE id = ? AND status = 'draft' AND version = ? RETURNING *",
            (*params, to_ts(), draft.id, draft.version),
        )
        saved = testimonial_from_row(rows[0]) if rows else None
        if saved is not None:
            self._drop_unnamed(draft, saved)  # a photo replaced, removed or not chosen
        return saved

    async def mark_asked(
        self,
        draft: Testimonial,
        prompt_message_id: int | None,
        *,
        asked: bool = True,
        kind: str | None = None,
    ) -> None:
        """Record that Telegram accepted the message asking ``draft``'s question (``asked``,
        kept as that message's too) and which one carries the live buttons, showing ``kind``:
        at that version only (not a new one), with the update's "done" mark while handled."""
        await self.db.execute_later(
            "UPDATE testimonials SET prompt_message_id = ?, prompt_kind = ?,"
            " asked_version = CASE WHEN ? THEN version ELSE asked_version END"
            " WHERE id = ? AND status = 'draft' AND version = ?",
            (prompt_message_id, kind, int(asked), draft.id, draft.version),
        )
        await self.remember_question(draft, prompt_message_id, asked)

    async def drafts_not_asked(self, since: datetime) -> list[tuple[Testimonial, User]]:
        """Drafts changed since ``since`` whose open question Telegram never confirmed, with
        their authors (oldest first)."""
        rows = await self.db.fetchall(
            f"SELECT t.*, {USER_AS_U}"
            " FROM testimonials t JOIN users u ON u.user_id = t.user_id"
            " WHERE t.status = 'draft' AND t.step IS NOT NULL AND t.updated_at >= ?"
            " AND (t.asked_version IS NULL OR t.asked_version != t.version)"
            " ORDER BY t.updated_at",
            (to_ts(since),),
        )
        return [(testimonial_from_row(r), user_from_row(r, "u_")) for r in rows]

    async def discard_draft(self, draft_id: int) -> bool:
        """Delete an open draft; return whether there was one."""
        async with self.db.transaction() as conn:
            where = "id = ? AND status = 'draft'"
            count, dropped = await self._delete_drafts(conn, where, (draft_id,))
        self._drop_files(dropped)
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
            # execute_fetchall: one round trip each (execute, then fetchone, are two).
            sql = "SELECT * FROM testimonials WHERE id = ? AND status = 'draft'"
            row = next(iter(await conn.execute_fetchall(sql, (draft_id,))), None)
            if row is None:
                return SubmitResult.GONE, None
            draft = testimonial_from_row(row)
            if not draft.name or not draft.quote:
                return SubmitResult.INCOMPLETE, draft
            if draft.consent_at is None:
                return SubmitResult.NO_CONSENT, draft
            counts = await conn.execute_fetchall(
                "SELECT count(*) FROM testimonials WHERE user_id = ? AND status = 'pending'",
                (draft.user_id,),
            )
            count_row = next(iter(counts), None)
            if count_row is not None and count_row[0] >= max_pending:
                return SubmitResult.TOO_MANY_PENDING, draft
            pending = await move(
                conn,
                draft_id,
                Status.PENDING,
                expected=(Status.DRAFT,),
                sets=", step = NULL, submitted_at = ?, author_name = ?, author_username = ?,"
                " quote = ?, quote_parts = '[]', answer_messages = '{}', pending_addition = NULL,"
                " prompt_kind = NULL, created_by_update = NULL, submission_confirmed = 0,"
                " portrait_offer = NULL, album_answered = NULL, link_payload = NULL",
                params=(to_ts(), author_name, author_username, draft.quote),
            )
        if pending is not None:
            self._drop_unnamed(draft, pending)  # a second photo never chosen
        return SubmitResult.SUBMITTED, pending
