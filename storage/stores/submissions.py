"""Submissions: whether the author of a testimonial sent for review was told it is sent.

Send is committed (``DraftStore.submit``) before "Sent, thank you" goes out; that Telegram
accepted it is recorded afterwards, so that a restart in between tells the author then."""

from __future__ import annotations

from datetime import datetime

from storage.models import Testimonial, User
from storage.rows import USER_AS_U, testimonial_from_row, to_ts, user_from_row
from storage.stores.base import Store


class SubmissionStore(Store):
    """The ``submission_confirmed`` mark of testimonials sent for review."""

    async def confirm_submission(self, testimonial_id: int) -> None:
        """Record that Telegram accepted the "Sent, thank you" of a submission. While an
        update is handled, written with its "done" mark (as ``mark_asked``)."""
        await self.db.execute_later(
            "UPDATE testimonials SET submission_confirmed = 1"
            " WHERE id = ? AND submission_confirmed = 0",
            (testimonial_id,),
        )

    async def submissions_not_confirmed(self, since: datetime) -> list[tuple[Testimonial, User]]:
        """Testimonials sent for review since ``since``, still pending, whose "Sent, thank
        you" Telegram never confirmed, with their authors (oldest first). (Once decided, the
        author was told the decision: no thanks then.)"""
        rows = await self.db.fetchall(
            f"SELECT t.*, {USER_AS_U}"
            " FROM testimonials t JOIN users u ON u.user_id = t.user_id"
            " WHERE t.submission_confirmed = 0 AND t.status = 'pending'"
            " AND t.submitted_at >= ? ORDER BY t.submitted_at",
            (to_ts(since),),
        )
        return [(testimonial_from_row(r), user_from_row(r, "u_")) for r in rows]
