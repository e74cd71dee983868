"""Moderation: the organisers' decisions, corrections and cards, and what waits for them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from storage.models import Approval, Decision, IllegalTransition, Status, Testimonial, utcnow
from storage.rows import approvals_to_json, from_ts, testimonial_from_row, to_ts
from storage.stores.base import Store, move

# Columns an organiser may edit, mapped to themselves: a whitelist, because the column name
# is interpolated into SQL (values never are).
EDITABLE = {"name": "name", "organisation": "organisation", "quote": "quote"}


class ModerationStore(Store):
    """Pending testimonials: decided by a compare-and-set, shown on cards in the group."""

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
        now = to_ts()
        sets = ", decided_at = ?, decided_by = ?, decided_by_name = ?"
        if target is Status.APPROVED:
            sets += ", approved_seq = (SELECT coalesce(max(approved_seq), 0) + 1 FROM testimonials)"
            params: tuple[Any, ...] = (now, by, by_name)
        else:
            sets += ", reject_reason = ?, reject_reason_key = ?"
            params = (now, by, by_name, reason, reason_key)
        async with self.db.transaction() as conn:
            won = await move(
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
        return Decision(False, testimonial_from_row(row) if row else None)

    async def add_approval(
        self, testimonial_id: int, by: int, by_name: str
    ) -> tuple[Testimonial | None, bool]:
        """Record that organiser ``by`` approves a pending testimonial (once: a second press
        adds nothing) and give back their /review claim on it, so that another organiser
        gets it. Return the testimonial as it is now and whether the approval was new."""
        async with self.db.transaction() as conn:
            testimonial = await _read(conn, testimonial_id)
            if testimonial is None or testimonial.status is not Status.PENDING:
                return testimonial, False
            if any(a.user_id == by for a in testimonial.approvals):
                return testimonial, False
            approvals = [*testimonial.approvals, Approval(by, by_name, utcnow())]
            rows = list(
                await conn.execute_fetchall(
                    "UPDATE testimonials SET approvals = ?, version = version + 1,"
                    " claimed_by = CASE WHEN claimed_by = ? THEN NULL ELSE claimed_by END,"
                    " claimed_until = CASE WHEN claimed_by = ? THEN NULL ELSE claimed_until END"
                    " WHERE id = ? RETURNING *",
                    (approvals_to_json(approvals), by, by, testimonial_id),
                )
            )
        return testimonial_from_row(rows[0]), True

    async def drop_approvals(
        self, user_id: int, testimonial_ids: Sequence[int] | None = None
    ) -> list[Testimonial]:
        """Take back ``user_id``'s approvals of pending testimonials (they no longer
        organise): of those in ``testimonial_ids``, or of all. Return the testimonials
        changed, as they are now."""
        changed = []
        async with self.db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "SELECT t.* FROM testimonials t WHERE t.status = 'pending'"
                " AND EXISTS (SELECT 1 FROM json_each(t.approvals) j"
                " WHERE json_extract(j.value, '$.id') = ?)",
                (user_id,),
            )
            for row in rows:
                testimonial = testimonial_from_row(row)
                if testimonial_ids is not None and testimonial.id not in testimonial_ids:
                    continue
                kept = [a for a in testimonial.approvals if a.user_id != user_id]
                written = list(
                    await conn.execute_fetchall(
                        "UPDATE testimonials SET approvals = ?, version = version + 1"
                        " WHERE id = ? RETURNING *",
                        (approvals_to_json(kept), testimonial.id),
                    )
                )
                changed.append(testimonial_from_row(written[0]))
        return changed

    async def edit_pending(self, testimonial_id: int, field: str, value: str) -> Testimonial | None:
        """Correct one field of a pending testimonial (organisers' Edit). The approvals given
        so far are cleared: they were given to other words."""
        column = EDITABLE[field]
        rows = await self.db.write_returning(
            f"UPDATE testimonials SET {column} = ?, approvals = '[]', version = version + 1,"
            " updated_at = ? WHERE id = ? AND status = 'pending' RETURNING *",
            (value, to_ts(), testimonial_id),
        )
        return testimonial_from_row(rows[0]) if rows else None

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

    async def find_by_card(self, message_id: int) -> Testimonial | None:
        """Return the testimonial whose card includes ``message_id``."""
        row = await self.db.fetchone(
            "SELECT t.* FROM testimonials t, json_each(t.card_message_ids) j"
            " WHERE j.value = ? LIMIT 1",
            (message_id,),
        )
        return testimonial_from_row(row) if row else None

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
        return int(row[0]), from_ts(row[1])


async def _read(conn: aiosqlite.Connection, testimonial_id: int) -> Testimonial | None:
    """Read one testimonial inside the caller's transaction."""
    rows = list(
        await conn.execute_fetchall("SELECT * FROM testimonials WHERE id = ?", (testimonial_id,))
    )
    return testimonial_from_row(rows[0]) if rows else None
