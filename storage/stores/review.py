"""The review queue (/review in organisers' private chats): claims, and what each chat shows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.models import ReviewMessage, Testimonial
from storage.rows import testimonial_from_row, to_ts
from storage.stores.base import Store

#: A condition on a testimonial: the organiser (``?``) has not approved it already.
_NOT_APPROVED_BY = (
    "NOT EXISTS (SELECT 1 FROM json_each(approvals) j WHERE json_extract(j.value, '$.id') = ?)"
)


class ReviewStore(Store):
    """Claims on pending testimonials (``claimed_by``) and the ``review_messages`` table."""

    async def claim_next(
        self, user_id: int, *, now: datetime, until: datetime
    ) -> Testimonial | None:
        """Claim for ``user_id`` the next testimonial waiting for review, in one statement
        (two organisers never get the same one): the one they already hold if its claim is
        still live, else the oldest that nobody holds (or whose claim lapsed), those they
        skipped last, in the order they skipped them; never one they approved already (it waits
        for other organisers). None when nothing is left."""
        rows = await self.db.write_returning(
            "UPDATE testimonials SET claimed_by = ?, claimed_until = ?"
            " WHERE id = (SELECT id FROM testimonials WHERE status = 'pending'"
            "  AND (claimed_until IS NULL OR claimed_until <= ? OR claimed_by = ?)"
            "  AND NOT EXISTS (SELECT 1 FROM json_each(approvals) j"
            "   WHERE json_extract(j.value, '$.id') = ?)"
            "  ORDER BY (claimed_by IS ? AND claimed_until > ?) DESC,"
            "   skipped_by IS ?, CASE WHEN skipped_by IS ? THEN skipped_at END, id"
            "  LIMIT 1)"
            " RETURNING *",
            (
                user_id,
                to_ts(until),
                to_ts(now),
                user_id,
                user_id,
                user_id,
                to_ts(now),
                user_id,
                user_id,
            ),
        )
        return testimonial_from_row(rows[0]) if rows else None

    async def release_claim(
        self, testimonial_id: int, user_id: int, *, skipped_at: datetime | None = None
    ) -> bool:
        """Give back a claim ``user_id`` holds (Stop, or Skip with ``skipped_at``: it then
        comes last in their queue). Return whether they held it."""
        skipped = to_ts(skipped_at) if skipped_at else None
        count = await self.db.execute(
            "UPDATE testimonials SET claimed_by = NULL, claimed_until = NULL,"
            " skipped_by = CASE WHEN ? IS NULL THEN skipped_by ELSE claimed_by END,"
            " skipped_at = coalesce(?, skipped_at)"
            " WHERE id = ? AND claimed_by = ?",
            (skipped, skipped, testimonial_id, user_id),
        )
        return count > 0

    async def claim_short(
        self, user_id: int, *, now: datetime, until: datetime, max_chars: int, limit: int
    ) -> list[Testimonial]:
        """Claim for ``user_id`` up to ``limit`` testimonials waiting for review whose quote
        has at most ``max_chars`` characters, oldest first, in one statement: those nobody
        else holds (theirs included), never one they approved already, one whose edit waits
        for its author, nor one with a photo (each is decided alone, on its card or in
        /review, where the photo is shown: a list shows words only)."""
        rows = await self.db.write_returning(
            "UPDATE testimonials SET claimed_by = ?, claimed_until = ?"
            " WHERE id IN (SELECT id FROM testimonials WHERE status = 'pending'"
            "  AND length(quote) <= ? AND proposal IS NULL AND portrait IS NULL"
            "  AND (claimed_until IS NULL OR claimed_until <= ? OR claimed_by = ?)"
            f"  AND {_NOT_APPROVED_BY} ORDER BY id LIMIT ?)"
            " RETURNING *",
            (user_id, to_ts(until), max_chars, to_ts(now), user_id, user_id, limit),
        )
        return sorted((testimonial_from_row(r) for r in rows), key=lambda t: t.id)

    async def count_short(self, user_id: int, *, now: datetime, max_chars: int) -> int:
        """Count the testimonials ``claim_short`` could give ``user_id`` now."""
        row = await self.db.fetchone(
            "SELECT count(*) FROM testimonials WHERE status = 'pending' AND length(quote) <= ?"
            " AND proposal IS NULL AND portrait IS NULL"
            " AND (claimed_until IS NULL OR claimed_until <= ? OR claimed_by = ?)"
            f" AND {_NOT_APPROVED_BY}",
            (max_chars, to_ts(now), user_id, user_id),
        )
        return int(row[0]) if row else 0

    async def claim_until(
        self, testimonial_ids: Sequence[int], user_id: int, until: datetime
    ) -> None:
        """Extend ``user_id``'s claims on these testimonials (still pending) to ``until``."""
        if not testimonial_ids:
            return
        marks = ", ".join("?" * len(testimonial_ids))
        await self.db.execute(
            f"UPDATE testimonials SET claimed_by = ?, claimed_until = ? WHERE id IN ({marks})"
            " AND status = 'pending' AND (claimed_by = ? OR claimed_by IS NULL"
            " OR claimed_until <= ?)",
            (user_id, to_ts(until), *testimonial_ids, user_id, to_ts()),
        )

    async def release_claims(self, testimonial_ids: Sequence[int], user_id: int) -> None:
        """Give back ``user_id``'s claims on these testimonials."""
        if not testimonial_ids:
            return
        marks = ", ".join("?" * len(testimonial_ids))
        await self.db.execute(
            "UPDATE testimonials SET claimed_by = NULL, claimed_until = NULL"
            f" WHERE id IN ({marks}) AND claimed_by = ?",
            (*testimonial_ids, user_id),
        )

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

    async def review_messages_of(self, testimonial_ids: Sequence[int]) -> list[ReviewMessage]:
        """Return the messages that show these testimonials, and those that show one no
        longer in the database (a /forget that stopped between erasing its rows and erasing
        these messages): all to erase. Each row stays until ``drop_review_message`` (its
        message erased): a crash in between erases it again at the replay."""
        marks = ", ".join("?" * len(testimonial_ids))
        rows = await self.db.fetchall(
            f"SELECT * FROM review_messages WHERE testimonial_id IN ({marks}) OR NOT EXISTS"
            " (SELECT 1 FROM testimonials t WHERE t.id = review_messages.testimonial_id)"
            " ORDER BY chat_id, message_id",
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

    async def drop_review_message(self, shown: ReviewMessage) -> None:
        """Forget a message erased (unless it was moved to another testimonial meanwhile)."""
        await self.db.execute(
            "DELETE FROM review_messages WHERE chat_id = ? AND message_id = ?"
            " AND testimonial_id = ?",
            (shown.chat_id, shown.message_id, shown.testimonial_id),
        )
