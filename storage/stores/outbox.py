"""The outbox: approved testimonials on their way to the channel, and withdrawals.

One publisher task works through it (``bot/services/publishing.py``): a row ``publishing``
at start-up died between the send and its record, and is never re-sent blindly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from storage.models import IllegalTransition, OutboxItem, Status, Testimonial
from storage.rows import from_ts, testimonial_from_row, to_ts
from storage.stores.base import move
from storage.stores.portraits import PortraitStore, portrait_names


class OutboxStore(PortraitStore):
    """The ``outbox`` table and the publishing statuses it drives."""

    async def transition(
        self, testimonial_id: int, target: Status, *, expected: Status
    ) -> Testimonial | None:
        """Move ``expected -> target`` (refusing illegal moves); None if the row was not in
        ``expected`` any more."""
        published = target is Status.PUBLISHED
        async with self.db.transaction() as conn:
            return await move(
                conn,
                testimonial_id,
                target,
                expected=(expected,),
                sets=", published_at = ?" if published else "",
                params=(to_ts(),) if published else (),
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
        created = from_ts(row["o_created_at"])
        assert created is not None
        item = OutboxItem(row["o_id"], row["id"], row["o_action"], created, row["o_attempts"])
        return item, testimonial_from_row(row)

    async def claim_for_publishing(self, item_id: int, testimonial_id: int) -> Testimonial | None:
        """approved -> publishing, counting the attempt; None if no longer approved (the
        outbox item is then closed, as there is nothing left to do)."""
        async with self.db.transaction() as conn:
            claimed = await move(
                conn, testimonial_id, Status.PUBLISHING, expected=(Status.APPROVED,)
            )
            if claimed:
                await conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", (item_id,)
                )
            else:
                await conn.execute("UPDATE outbox SET done_at = ? WHERE id = ?", (to_ts(), item_id))
        return claimed

    async def record_published(
        self, item_id: int | None, testimonial_id: int, message_ids: Sequence[int]
    ) -> Testimonial | None:
        """publishing -> published with the channel message ids; closes the outbox item."""
        now = to_ts()
        async with self.db.transaction() as conn:
            published = await move(
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
            approved = await move(
                conn,
                testimonial_id,
                Status.APPROVED,
                expected=(Status.PUBLISHING,),
                sets=", channel_message_ids = '[]'",
            )
            await conn.execute("UPDATE outbox SET done_at = ? WHERE id = ?", (to_ts(), item_id))
        return approved

    async def requeue(self, testimonial_id: int, *, from_status: Status) -> Testimonial | None:
        """Queue an approved (or stuck publishing) testimonial for publication again."""
        if from_status not in (Status.APPROVED, Status.PUBLISHING):
            # Only a decided testimonial can be queued: never a pending one.
            raise IllegalTransition(from_status, Status.APPROVED)
        now = to_ts()
        async with self.db.transaction() as conn:
            if from_status is Status.PUBLISHING:
                queued = await move(conn, testimonial_id, Status.APPROVED, expected=(from_status,))
            else:  # already approved: no status change, only the outbox entry
                cursor = await conn.execute(
                    "SELECT * FROM testimonials WHERE id = ? AND status = ?",
                    (testimonial_id, from_status.value),
                )
                row = await cursor.fetchone()
                queued = testimonial_from_row(row) if row else None
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

    async def withdraw(
        self, testimonial_id: int, *, expected: Iterable[Status] | None = None
    ) -> Testimonial | None:
        """Withdraw a pending, approved, publishing or published testimonial (only from
        ``expected`` when given: Unpublish takes back only what is published); queue the
        deletion of its channel posts if there are any. None if it was not withdrawable."""
        now = to_ts()
        async with self.db.transaction() as conn:
            # From every status TRANSITIONS allows (pending, approved, publishing, published).
            dropped = await portrait_names(conn, "id = ?", (testimonial_id,))
            # Withdrawn: its photo goes with it (the file, then the card's and the post's).
            withdrawn = await move(
                conn,
                testimonial_id,
                Status.WITHDRAWN,
                expected=expected,
                sets=", portrait = NULL, portrait_offer = NULL",
            )
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
        self._drop_files(dropped)
        return withdrawn

    async def finish_outbox(self, item_id: int) -> None:
        """Close an outbox item."""
        await self.db.execute("UPDATE outbox SET done_at = ? WHERE id = ?", (to_ts(), item_id))

    async def close_unpublish(self, testimonial_id: int) -> bool:
        """Close the removal still queued for a testimonial's posts: an organiser says they
        are gone (deleted by hand, or with the channel). False if none was queued."""
        closed = await self.db.execute(
            "UPDATE outbox SET done_at = ? WHERE testimonial_id = ? AND action = 'unpublish'"
            " AND done_at IS NULL",
            (to_ts(), testimonial_id),
        )
        return closed > 0
