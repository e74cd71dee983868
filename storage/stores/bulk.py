"""Bulk approval in /review: the lists of short testimonials shown, pressed, undone, committed."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from storage.models import BulkItem, BulkList
from storage.rows import from_ts, to_ts
from storage.stores.base import Store


def _list_from_rows(row: sqlite3.Row, items: Sequence[sqlite3.Row]) -> BulkList:
    return BulkList(
        id=int(row["id"]),
        chat_id=int(row["chat_id"]),
        message_id=int(row["message_id"]),
        user_id=int(row["user_id"]),
        user_name=str(row["user_name"]),
        lang=str(row["lang"]),
        state=str(row["state"]),
        pressed_at=from_ts(row["pressed_at"]),
        items=tuple(
            BulkItem(
                int(i["position"]), int(i["testimonial_id"]), str(i["digest"]), bool(i["left_out"])
            )
            for i in items
        ),
    )


class BulkStore(Store):
    """The ``bulk_lists`` and ``bulk_items`` tables (the claims are ``ReviewStore``'s)."""

    async def open_bulk_list(
        self,
        chat_id: int,
        message_id: int,
        *,
        user_id: int,
        user_name: str,
        lang: str,
        items: Sequence[tuple[int, str]],
    ) -> int:
        """Record a list shown on a message (``items``: testimonial id and digest, in order);
        any list the message showed before is closed. Return the list's id."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE bulk_lists SET state = 'closed' WHERE chat_id = ? AND message_id = ?"
                " AND state = 'shown'",
                (chat_id, message_id),
            )
            cursor = await conn.execute(
                "INSERT INTO bulk_lists (chat_id, message_id, user_id, user_name, lang, state,"
                " created_at) VALUES (?, ?, ?, ?, ?, 'shown', ?)",
                (chat_id, message_id, user_id, user_name, lang, to_ts()),
            )
            list_id = cursor.lastrowid
            assert list_id is not None
            await conn.executemany(
                "INSERT INTO bulk_items (list_id, position, testimonial_id, digest)"
                " VALUES (?, ?, ?, ?)",
                [(list_id, i, tid, digest) for i, (tid, digest) in enumerate(items)],
            )
        return int(list_id)

    async def close_bulk_lists(self, chat_id: int, message_id: int) -> None:
        """The message shows something else now: a list still shown there is closed."""
        await self.db.execute(
            "UPDATE bulk_lists SET state = 'closed' WHERE chat_id = ? AND message_id = ?"
            " AND state = 'shown'",
            (chat_id, message_id),
        )

    async def get_bulk_list(self, list_id: int) -> BulkList | None:
        """Return a list with its items, in the order shown."""
        row = await self.db.fetchone("SELECT * FROM bulk_lists WHERE id = ?", (list_id,))
        if row is None:
            return None
        items = await self.db.fetchall(
            "SELECT * FROM bulk_items WHERE list_id = ? ORDER BY position", (list_id,)
        )
        return _list_from_rows(row, items)

    async def press_bulk(
        self, list_id: int, user_id: int, *, now: datetime, left_out: Sequence[int]
    ) -> bool:
        """ "Approve all": a compare-and-set from shown to waiting (a second press loses),
        the items at ``left_out`` positions marked. Return whether this press won."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE bulk_lists SET state = 'waiting', pressed_at = ?"
                " WHERE id = ? AND user_id = ? AND state = 'shown'",
                (to_ts(now), list_id, user_id),
            )
            if cursor.rowcount == 0:
                return False
            await conn.executemany(
                "UPDATE bulk_items SET left_out = 1 WHERE list_id = ? AND position = ?",
                [(list_id, p) for p in left_out],
            )
        return True

    async def undo_bulk(self, list_id: int, user_id: int, *, pressed_after: datetime) -> bool:
        """Undo: a compare-and-set from waiting to undone, only while the window is open
        (pressed after ``pressed_after``). Return whether it won (else it is committed)."""
        count = await self.db.execute(
            "UPDATE bulk_lists SET state = 'undone' WHERE id = ? AND user_id = ?"
            " AND state = 'waiting' AND pressed_at > ?",
            (list_id, user_id, to_ts(pressed_after)),
        )
        return count > 0

    async def start_bulk_commit(self, list_id: int, *, pressed_before: datetime) -> bool:
        """The window closed: a compare-and-set from waiting to committing (an Undo that
        came first wins). True also for a list already committing (resumed after a crash)."""
        count = await self.db.execute(
            "UPDATE bulk_lists SET state = 'committing' WHERE id = ?"
            " AND (state = 'committing' OR (state = 'waiting' AND pressed_at <= ?))",
            (list_id, to_ts(pressed_before)),
        )
        return count > 0

    async def finish_bulk(self, list_id: int) -> None:
        """Every approval of a list is made."""
        await self.db.execute(
            "UPDATE bulk_lists SET state = 'done' WHERE id = ? AND state = 'committing'",
            (list_id,),
        )

    async def bulk_due(self, *, pressed_before: datetime) -> list[int]:
        """Return the lists to commit: committing (resumed), or waiting whose window closed,
        in the order they were pressed."""
        rows = await self.db.fetchall(
            "SELECT id FROM bulk_lists WHERE state = 'committing'"
            " OR (state = 'waiting' AND pressed_at <= ?) ORDER BY pressed_at, id",
            (to_ts(pressed_before),),
        )
        return [int(r[0]) for r in rows]

    async def next_bulk_press(self) -> datetime | None:
        """Return when the oldest list still in its undo window was pressed."""
        row = await self.db.fetchone(
            "SELECT min(pressed_at) FROM bulk_lists WHERE state = 'waiting'"
        )
        return from_ts(row[0]) if row else None

    async def bulk_shown(self, testimonial_ids: Sequence[int]) -> list[BulkList]:
        """Return the lists still shown that show one of these testimonials (its author
        withdrew it or asked to be forgotten), or one no longer in the database (a /forget
        that stopped before erasing them): their messages are to be erased, then the lists
        closed (``close_bulk_shown``); a crash in between erases them again at the replay."""
        marks = ", ".join("?" * len(testimonial_ids))
        rows = await self.db.fetchall(
            "SELECT * FROM bulk_lists WHERE state = 'shown' AND id IN"
            f" (SELECT list_id FROM bulk_items i WHERE i.testimonial_id IN ({marks})"
            "  OR NOT EXISTS (SELECT 1 FROM testimonials t WHERE t.id = i.testimonial_id))"
            " ORDER BY id",
            tuple(testimonial_ids),
        )
        return [_list_from_rows(r, ()) for r in rows]

    async def close_bulk_shown(
        self, list_ids: Sequence[int], testimonial_ids: Sequence[int]
    ) -> None:
        """Close these lists, their messages erased; and drop the digests of these
        testimonials' words: nothing derived from the words stays (none is approved now)."""
        lists = ", ".join("?" * len(list_ids))
        marks = ", ".join("?" * len(testimonial_ids))
        async with self.db.transaction() as conn:
            await conn.execute(
                f"UPDATE bulk_lists SET state = 'closed' WHERE state = 'shown' AND id IN ({lists})",
                tuple(list_ids),
            )
            await conn.execute(
                f"UPDATE bulk_items SET digest = '' WHERE testimonial_id IN ({marks})",
                tuple(testimonial_ids),
            )
