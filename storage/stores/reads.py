"""Testimonials looked up by id, author or status, and the counts of /stats."""

from __future__ import annotations

from storage.models import Status, Testimonial
from storage.rows import testimonial_from_row
from storage.stores.base import Store


class ReadStore(Store):
    """Reads of ``testimonials`` that belong to no single step of its life."""

    async def get(self, testimonial_id: int) -> Testimonial | None:
        """Return a testimonial by id."""
        row = await self.db.fetchone("SELECT * FROM testimonials WHERE id = ?", (testimonial_id,))
        return testimonial_from_row(row) if row else None

    async def list_for_user(self, user_id: int) -> list[Testimonial]:
        """Return a user's testimonials that left the draft stage, newest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM testimonials WHERE user_id = ? AND status != 'draft' ORDER BY id DESC",
            (user_id,),
        )
        return [testimonial_from_row(r) for r in rows]

    async def own_numbers(self, user_id: int) -> dict[int, int]:
        """Number a user's testimonials 1, 2, 3 in the order they were written, by id: what
        the author reads (the id is global: one testimonial should not be "no. 47")."""
        rows = await self.db.fetchall(
            "SELECT id FROM testimonials WHERE user_id = ? AND status != 'draft' ORDER BY id",
            (user_id,),
        )
        return {int(row["id"]): n for n, row in enumerate(rows, start=1)}

    async def list_by_status(self, status: Status, *, limit: int = 1000) -> list[Testimonial]:
        """Return testimonials in one status, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM testimonials WHERE status = ? ORDER BY id LIMIT ?",
            (status.value, limit),
        )
        return [testimonial_from_row(r) for r in rows]

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
