"""Moderation: the organisers' decisions, corrections and cards, and what waits for them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from storage.models import Decision, IllegalTransition, Status, Testimonial
from storage.rows import from_ts, testimonial_from_row, to_ts
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
        # An edit still waiting for the author is dropped: the words decided on are theirs.
        sets = ", decided_at = ?, decided_by = ?, decided_by_name = ?, proposal = NULL"
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

    async def edit_pending(self, testimonial_id: int, field: str, value: str) -> Testimonial | None:
        """Correct one field of a pending testimonial (organisers' Edit). The approvals given
        so far are cleared: they were given to other words."""
        column = EDITABLE[field]
        rows = await self.db.write_returning(
            f"UPDATE testimonials SET {column} = ?, approvals = '[]', version = version + 1,"
            " words_version = words_version + 1, updated_at = ?"
            " WHERE id = ? AND status = 'pending' RETURNING *",
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
