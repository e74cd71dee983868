"""/review's "Approve all": a kill -9 in the undo window loses nothing and posts nothing early.

The real `livredor run` against the fake over HTTP, two starts on one database: "Approve all"
pressed, the process killed in the window (nothing approved, nothing posted); started again
once the window has closed (a one-second window: it is measured from the press, stored in
the database), the list is posted once, in the order shown. That Undo still works after a
restart inside the window is tests/moderation/test_bulk.py's (in process: no third start)."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from storage.database import Database
from storage.models import Status
from storage.testimonials import Repository
from tests.e2e.cli_process import (
    CHANNEL_ID,
    ORGANISER,
    CliProcess,
    cli_env,
    fake_telegram,
    press,
    say,
    settle,
    submit,
    wait_until,
)


async def _statuses(database: Path) -> list[Status]:
    db = await Database.open(database, migrate=False)
    try:
        repo = Repository(db)
        rows = [await repo.get(tid) for tid in (1, 2)]
        return [t.status for t in rows if t is not None]
    finally:
        await db.close()


async def test_a_kill_in_the_undo_window(tmp_path: Path) -> None:
    database = tmp_path / "livredor.db"
    async with fake_telegram() as (fake, server):
        long_window = cli_env(server, database, review_undo_seconds="600")
        for i in range(2):
            fake.add_user(2001 + i, f"Person{i}")
        runs = [CliProcess(tmp_path, name) for name in ("first", "second")]
        try:
            await runs[0].start("run", env=long_window)
            for i in range(2):
                await submit(fake, 2001 + i, name=f"Person {i}", quote=f"Short number {i}.")
            review = await say(fake, ORGANISER, "/review")
            mid = int(review["message_id"])
            await press(fake, ORGANISER, "Short ones")
            await press(fake, ORGANISER, "Approve all 2 shown")

            def undo_shown() -> bool:
                return any("Undo" in label for label, _ in fake.buttons(ORGANISER, mid))

            await wait_until(undo_shown, what="the Undo button")
            runs[0].signal(signal.SIGKILL)
            assert await runs[0].wait(10) == -signal.SIGKILL
            assert await _statuses(database) == [Status.PENDING] * 2
            assert fake.messages(CHANNEL_ID) == []

            # Started after the window has closed: posted once each, in the order shown.
            await runs[1].start("run", env=cli_env(server, database, review_undo_seconds="1"))
            await wait_until(lambda: len(fake.messages(CHANNEL_ID)) == 2, what="two posts")
            await settle(fake, database)
            posts = [m["text"] for m in fake.messages(CHANNEL_ID)]
            assert [re.search(r"Short number (\d)", p).group(1) for p in posts] == ["0", "1"]  # type: ignore[union-attr]
            assert await _statuses(database) == [Status.PUBLISHED] * 2
            await wait_until(
                lambda: "2 testimonials approved by you" in fake.message(ORGANISER, mid)["text"],
                what="the list's message saying so",
            )
        finally:
            for run in runs:
                await run.kill()
