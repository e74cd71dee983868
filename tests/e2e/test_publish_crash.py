"""The bot process dies between posting to the channel and recording it: never re-sent blindly."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from storage.database import Database
from storage.models import Status
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


async def _status(database: Path) -> tuple[Status, tuple[int, ...]]:
    db = await Database.open(database)
    try:
        [t] = await Repository(db).list_for_book()
        return t.status, t.channel_message_ids
    finally:
        await db.close()


@pytest.mark.parametrize("choice", ["Mark as posted", "Post again"])
async def test_kill_while_the_post_answer_is_held(tmp_path: Path, choice: str) -> None:
    database = tmp_path / "livredor.db"
    async with fake_telegram() as (fake, server):
        env = cli_env(server, database)
        fake.add_user(2001, "Ada", last_name="Lovelace")
        first = CliProcess(tmp_path, "first")
        second = CliProcess(tmp_path, "second")
        try:
            await first.start("run", env=env)
            await submit(fake, 2001)
            await wait_until(lambda: fake.messages(GROUP_ID), what="the card")
            # Telegram performs the post but its answer never reaches the bot.
            fake.hold("sendMessage", chat_id=CHANNEL_ID)
            await press(fake, ORGANISER, "Approve", chat_id=GROUP_ID)
            await fake.wait_held()
            assert len(fake.messages(CHANNEL_ID)) == 1
            first.signal(signal.SIGKILL)
            assert await first.wait(10) == -signal.SIGKILL
            fake.release()

            assert (await _status(database))[0] is Status.PUBLISHING
            calls_before = len(fake.calls("getUpdates"))
            await second.start("run", env=env)
            warning = await wait_until(
                lambda: next(
                    (m for m in fake.messages(GROUP_ID) if "half-posted" in m["text"]), None
                ),
                what="the half-published card",
            )
            await wait_until(lambda: len(fake.calls("getUpdates")) > calls_before)
            # Not re-sent blindly: still the one post once the bot has nothing left to do.
            await settle(fake, database)
            assert len(fake.messages(CHANNEL_ID)) == 1
            assert [b for b, _ in fake.buttons(GROUP_ID, warning["message_id"])] == [
                "Post again",
                "Mark as posted",
            ]
            await press(fake, ORGANISER, choice, chat_id=GROUP_ID)
            expected_posts = 1 if choice == "Mark as posted" else 2
            await wait_until(lambda: len(fake.messages(CHANNEL_ID)) == expected_posts)

            async def published() -> bool:  # the handler answers the press, then writes
                return (await _status(database))[0] is Status.PUBLISHED

            await wait_until(published, what="the testimonial marked published")
            await settle(fake, database)
            assert len(fake.messages(CHANNEL_ID)) == expected_posts
        finally:
            await first.kill()
            await second.kill()
