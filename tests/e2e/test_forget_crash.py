"""The bot process dies in the middle of a /forget: the replay erases everything all the same."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from bot.sandbox.fake import FakeTelegram
from storage.database import Database
from storage.testimonials import Repository
from tests.e2e.cli_process import (
    GROUP_ID,
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

QUOTE = "Crash-proof-marker-7c1e was the best talk."
NAME = "Ada LOVELACE"


def _holding(fake: FakeTelegram, chat_id: int) -> list[str]:
    """The texts of the bot's messages in a chat that still show the person's words or name."""
    texts = [str(m["text"]) for m in fake.messages(chat_id)]
    return [t for t in texts if "Crash-proof-marker" in t or "LOVELACE" in t]


async def _shown_in_the_group_and_review(fake: FakeTelegram) -> None:
    """An attendee's testimonial submitted: its card in the group, an organiser's /review."""
    await submit(fake, 2001, name=NAME, quote=QUOTE)
    await wait_until(lambda: _holding(fake, GROUP_ID), what="the card")
    await say(fake, ORGANISER, "/review")
    await wait_until(lambda: _holding(fake, ORGANISER), what="/review's message")


async def _killed_once_held(fake: FakeTelegram, process: CliProcess) -> None:
    """Kill -9 the bot while the call ``fake.hold`` catches waits for its answer."""
    await fake.wait_held()
    process.signal(signal.SIGKILL)
    assert await process.wait(10) == -signal.SIGKILL
    fake.release()


@pytest.mark.parametrize(
    ("method", "chat_id"),
    [("deleteMessage", GROUP_ID), ("editMessageText", ORGANISER)],
    ids=["the card's deletion", "the /review message's edit"],
)
async def test_kill_while_an_erasure_is_lost(tmp_path: Path, method: str, chat_id: int) -> None:
    """A kill -9 after the "Yes, erase everything" press, while the card's deletion (or,
    the card gone already, the /review message's edit) is on its way: the second start
    replays the press and erases the card, the /review message and the database's rows, and
    the attendee gets the answer."""
    database = tmp_path / "livredor.db"
    async with fake_telegram() as (fake, server):
        env = cli_env(server, database)
        fake.add_user(2001, "Ada", last_name="Lovelace")
        first = CliProcess(tmp_path, "first")
        second = CliProcess(tmp_path, "second")
        try:
            await first.start("run", env=env)
            await _shown_in_the_group_and_review(fake)

            # The call is lost on its way: the bot waits for an answer, and dies.
            fake.hold(method, chat_id=chat_id, effect=False)
            await say(fake, 2001, "/forget")
            await press(fake, 2001, "Yes, erase everything")
            await _killed_once_held(fake, first)
            assert _holding(fake, chat_id)  # the call never took effect

            await second.start("run", env=env)
            await wait_until(
                lambda: any("I hold nothing about you" in m["text"] for m in fake.messages(2001)),
                what="the answer to the replayed press",
            )
            await settle(fake, database)
            assert _holding(fake, GROUP_ID) == []
            assert _holding(fake, ORGANISER) == []
            db = await Database.open(database)
            try:
                assert await Repository(db).list_for_user(2001) == []
            finally:
                await db.close()
        finally:
            await first.kill()
            await second.kill()
        for file in (database, Path(f"{database}-wal")):
            if file.exists():
                content = file.read_bytes()
                assert b"Crash-proof-marker" not in content, file
                assert b"LOVELACE" not in content.upper(), file


async def test_kill_while_a_withdrawal_erases_the_review_message(tmp_path: Path) -> None:
    """The same for a withdrawal from /mine: killed while the /review message showing the
    words is being erased, the replayed press finishes the erasure (the testimonial is
    withdrawn already in the database, so the press finds nothing left to withdraw)."""
    database = tmp_path / "livredor.db"
    async with fake_telegram() as (fake, server):
        env = cli_env(server, database)
        fake.add_user(2001, "Ada", last_name="Lovelace")
        first = CliProcess(tmp_path, "first")
        second = CliProcess(tmp_path, "second")
        try:
            await first.start("run", env=env)
            await _shown_in_the_group_and_review(fake)

            fake.hold("editMessageText", chat_id=ORGANISER, effect=False)
            await say(fake, 2001, "/mine")
            await press(fake, 2001, "Withdraw #1")
            await press(fake, 2001, "Yes, withdraw it")
            await _killed_once_held(fake, first)
            assert _holding(fake, ORGANISER)  # the edit never took effect

            await second.start("run", env=env)
            await settle(fake, database)
            assert _holding(fake, ORGANISER) == []
            said = [m["text"] for m in fake.messages(2001)]
            assert "Testimonial #1 is withdrawn." in said
            assert not any("can no longer be withdrawn" in t for t in said)
        finally:
            await first.kill()
            await second.kill()
