"""The inbox: every update, committed before Telegram may consider it delivered.

An update is written here by the queue PTB puts it into (``bot.services.inbox``), handled,
then marked done. At start the bot replays what is not done, oldest first. Done rows are kept
two days, so that an update Telegram delivers again is recognised and dropped, then pruned
(Telegram picks update ids at random after a week without updates: a kept old id could
otherwise hide a new update).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from storage.database import Database, Statement
from storage.models import utcnow
from storage.rows import to_ts

#: How long a handled update is remembered (to drop it if Telegram delivers it again).
KEEP_DONE = timedelta(days=2)
#: An update whose handling was cut short this many times (a crash each time) is given up.
MAX_ATTEMPTS = 3
#: Updates per INSERT (3 values each: far below SQLite's limit on variables; a getUpdates
#: answer holds at most 100).
ADD_AT_ONCE = 200


@dataclass(frozen=True, slots=True)
class InboxItem:
    """An update received but not marked done."""

    update_id: int
    payload: str  # the update's JSON, as Telegram sent it
    attempts: int  # replays so far


class Inbox:
    """SQL of the ``inbox`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, update_id: int, payload: str) -> bool:
        """Commit an update; return False if it was received before (a redelivery)."""
        return update_id in await self.add_many({update_id: payload})

    async def add_many(self, updates: Mapping[int, str], *, first: bool = False) -> set[int]:
        """Commit updates (id: JSON, at most ``ADD_AT_ONCE``) in one statement: one commit
        and one round trip for a whole ``getUpdates`` answer. Return the ids that are new
        (the others were received before: redeliveries). With ``first``, the commit goes
        ahead of the statements queued for the connection
        (``Database.write_returning_first``)."""
        if not updates:
            return set()
        if len(updates) > ADD_AT_ONCE:
            raise ValueError(f"at most {ADD_AT_ONCE} updates at once")
        now = to_ts()
        write = self.db.write_returning_first if first else self.db.write_returning
        rows = await write(
            "INSERT INTO inbox (update_id, payload, received_at) VALUES "
            + ", ".join(["(?, ?, ?)"] * len(updates))
            + " ON CONFLICT (update_id) DO NOTHING RETURNING update_id",
            [value for item in updates.items() for value in (*item, now)],
        )
        return {int(row[0]) for row in rows}

    async def add_unreadable(self, update_id: int, payload: str, error: str) -> bool:
        """Keep an update that cannot be read, already done (nothing will handle it), with
        why; return False if it was received before."""
        now = to_ts()
        count = await self.db.execute(
            "INSERT INTO inbox (update_id, payload, received_at, done_at, unreadable)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (update_id) DO NOTHING",
            (update_id, payload, now, now, error),
        )
        return count == 1

    async def mark_unreadable(self, update_id: int, error: str) -> None:
        """Mark a received update as one that cannot be read (found so at a replay)."""
        await self.db.execute(
            "UPDATE inbox SET done_at = ?, unreadable = ? WHERE update_id = ?",
            (to_ts(), error, update_id),
        )

    async def unreadable(self) -> list[tuple[int, str]]:
        """The updates kept as unreadable (for ``livredor check``): (update id, why)."""
        rows = await self.db.fetchall(
            "SELECT update_id, unreadable FROM inbox WHERE unreadable IS NOT NULL"
            " ORDER BY update_id"
        )
        return [(int(row[0]), str(row[1])) for row in rows]

    async def done(self, update_id: int, with_: Sequence[Statement] = ()) -> None:
        """Mark an update handled, in one transaction with the writes ``with_`` (those its
        handlers left for the end, see ``Database.deferring``)."""
        # Only the id is kept (to recognise a redelivery): the JSON held the person's words
        # and Telegram identity, which /forget must be able to erase, its own press included.
        mark = (
            "UPDATE inbox SET done_at = ?, payload = '' WHERE update_id = ? AND done_at IS NULL",
            (to_ts(), update_id),
        )
        await self.db.run_deferred(with_, mark)

    async def is_done(self, update_id: int) -> bool:
        """Whether an update was handled."""
        row = await self.db.fetchone(
            "SELECT done_at IS NOT NULL FROM inbox WHERE update_id = ?", (update_id,)
        )
        return bool(row and row[0])

    async def take_unfinished(self) -> tuple[list[InboxItem], list[InboxItem]]:
        """Return (to replay, given up): updates not done, oldest first. Counts one more
        attempt on each replayed one; those at ``MAX_ATTEMPTS`` are marked done, given up."""
        now = to_ts()
        async with self.db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "SELECT update_id, payload, attempts FROM inbox WHERE done_at IS NULL"
                " ORDER BY update_id"
            )
            items = [InboxItem(r[0], r[1], r[2]) for r in rows]
            replay = [i for i in items if i.attempts < MAX_ATTEMPTS]
            given_up = [i for i in items if i.attempts >= MAX_ATTEMPTS]
            await conn.executemany(
                "UPDATE inbox SET attempts = attempts + 1 WHERE update_id = ?",
                [(i.update_id,) for i in replay],
            )
            await conn.executemany(
                "UPDATE inbox SET done_at = ?, payload = '' WHERE update_id = ?",
                [(now, i.update_id) for i in given_up],
            )
        return replay, given_up

    async def prune(self) -> int:
        """Forget handled updates older than ``KEEP_DONE``; return how many."""
        return await self.db.execute(
            "DELETE FROM inbox WHERE done_at IS NOT NULL AND done_at < ?",
            (to_ts(utcnow() - KEEP_DONE),),
        )

    async def count_unfinished(self) -> int:
        """How many updates are received but not done (for tests and `check`)."""
        row = await self.db.fetchone("SELECT count(*) FROM inbox WHERE done_at IS NULL")
        return int(row[0]) if row else 0
