"""The inbox: added once, done, replayed until given up, pruned after two days."""

from __future__ import annotations

from pathlib import Path

from storage.inbox import KEEP_DONE, MAX_ATTEMPTS, Inbox
from tests.support import open_new_database


async def test_add_done_replay_and_give_up(tmp_path: Path) -> None:
    db = await open_new_database(tmp_path / "x.db")
    try:
        inbox = Inbox(db)
        assert await inbox.add(1, '{"update_id": 1}')
        assert not await inbox.add(1, '{"update_id": 1}')  # a redelivery
        assert await inbox.add(2, '{"update_id": 2}')
        await inbox.done(1)
        assert await inbox.is_done(1) and not await inbox.is_done(2)
        for _ in range(MAX_ATTEMPTS):
            replay, given_up = await inbox.take_unfinished()
            assert [i.update_id for i in replay] == [2] and given_up == []
        replay, given_up = await inbox.take_unfinished()
        assert replay == [] and [i.update_id for i in given_up] == [2]
        assert await inbox.count_unfinished() == 0
    finally:
        await db.close()


async def test_prune_forgets_old_handled_updates_only(tmp_path: Path) -> None:
    db = await open_new_database(tmp_path / "x.db")
    try:
        inbox = Inbox(db)
        for update_id in (1, 2, 3):
            await inbox.add(update_id, "{}")
        await inbox.done(1)
        await inbox.done(2)
        await db.execute(
            "UPDATE inbox SET done_at = datetime('now', ?) WHERE update_id = 1",
            (f"-{KEEP_DONE.days + 1} days",),
        )
        assert await inbox.prune() == 1
        assert await inbox.add(1, "{}")  # forgotten: a new update with that id is taken
        assert not await inbox.add(2, "{}")  # still remembered
        assert await inbox.count_unfinished() == 2  # 3, and the new 1
    finally:
        await db.close()
