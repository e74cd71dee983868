"""Issue 26 through the real process: what moderation waits for (several approvals, the
author's answer to an edit) is in the database, so a ``kill -9`` in between loses nothing."""

from __future__ import annotations

import signal
from pathlib import Path

from storage.database import Database
from storage.models import Status
from storage.models import Testimonial as Row
from storage.testimonials import Repository
from tests.e2e.cli_process import (
    CHANNEL_ID,
    GROUP_ID,
    ORGANISER,
    CliProcess,
    cli_env,
    fake_telegram,
    press,
    settle,
    submit,
    wait_until,
)

BRUNO = 501


async def _testimonials(database: Path) -> list[Row]:
    db = await Database.open(database, migrate=False)
    try:
        repo = Repository(db)
        return [t for status in Status for t in await repo.list_by_status(status)]
    finally:
        await db.close()


async def test_approvals_survive_kill_9(tmp_path: Path) -> None:
    database = tmp_path / "livredor.db"
    async with fake_telegram() as (fake, server):
        env = cli_env(server, database, approvals="2")
        fake.add_user(BRUNO, "Bruno")
        fake.set_member(GROUP_ID, BRUNO, "administrator")
        fake.add_user(2001, "Ada", last_name="Lovelace")
        first = CliProcess(tmp_path, "first")
        second = CliProcess(tmp_path, "second")
        try:
            await first.start("run", env=env)
            await submit(fake, 2001, quote="Deux avis valent mieux qu'un.")
            await wait_until(lambda: fake.messages(GROUP_ID), what="the card")
            await press(fake, ORGANISER, "Approve", chat_id=GROUP_ID)
            counted = list(fake.callback_answers.values())[-1]
            assert counted["text"].startswith("Your approval is counted (1 of 2)")
            first.signal(signal.SIGKILL)
            assert await first.wait(10) == -signal.SIGKILL
            [waiting] = await _testimonials(database)
            assert waiting.status is Status.PENDING
            assert [a.user_id for a in waiting.approvals] == [ORGANISER]

            await second.start("run", env=env)
            await settle(fake, database)
            # Olga again after the restart: still one approval, nothing posted.
            await press(fake, ORGANISER, "Approve", chat_id=GROUP_ID)
            again = list(fake.callback_answers.values())[-1]
            assert again["text"].startswith("You approved it already")
            assert not fake.messages(CHANNEL_ID)
            await press(fake, BRUNO, "Approve", chat_id=GROUP_ID)
            await wait_until(lambda: fake.messages(CHANNEL_ID), what="the post")
            await settle(fake, database)
            [published] = await _testimonials(database)
            assert published.status is Status.PUBLISHED
            assert published.decided_by_name == "Olga Organiser, Bruno"
            assert len(fake.messages(CHANNEL_ID)) == 1
        finally:
            await first.kill()
            await second.kill()
