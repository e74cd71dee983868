"""Issue 26 through the real process: what moderation waits for (several approvals, the
author's answer to an edit) is in the database, so a ``kill -9`` in between loses nothing."""

from __future__ import annotations

import signal
from pathlib import Path

from bot.sandbox.fake import FakeTelegram
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


async def _carded(database: Path, user_id: int) -> Row:
    """Wait until the author's testimonial has its card recorded; return it."""

    async def found() -> Row | None:
        rows = [t for t in await _testimonials(database) if t.user_id == user_id]
        return rows[0] if rows and rows[0].card_message_ids else None

    return await wait_until(found, what=f"the card of {user_id}'s testimonial")  # type: ignore[no-any-return]


async def _press(fake: FakeTelegram, user_id: int, chat_id: int, message_id: int, data: str) -> str:
    """Press a button by its data; return the bot's answer to the press."""
    query = fake.user_presses(user_id, chat_id, message_id, data)
    await fake.wait_for(lambda: query in fake.callback_answers, 15, what=f"{data} answered")
    return str(fake.callback_answers[query]["text"])


async def test_approvals_and_an_edit_for_the_author_survive_kill_9(tmp_path: Path) -> None:
    """Two approvals needed, edits wait for the author (the default). The bot is killed
    after one approval of #1, and after recording an edit of #2 whose message to the author
    Telegram took but never confirmed; the next run finishes both."""
    database = tmp_path / "livredor.db"
    async with fake_telegram() as (fake, server):
        env = cli_env(server, database, approvals="2")
        fake.add_user(BRUNO, "Bruno")
        fake.set_member(GROUP_ID, BRUNO, "administrator")
        fake.add_user(2001, "Ada", last_name="Lovelace")
        fake.add_user(2002, "Grace", last_name="Hopper")
        first = CliProcess(tmp_path, "first")
        second = CliProcess(tmp_path, "second")
        try:
            await first.start("run", env=env)
            await submit(fake, 2001, quote="Deux avis valent mieux qu'un.")
            one = await _carded(database, 2001)
            card1 = one.card_message_ids[0]
            counted = await _press(fake, ORGANISER, GROUP_ID, card1, f"mod:approve:{one.id}")
            assert counted.startswith("Your approval is counted (1 of 2 needed)")

            await submit(fake, 2002, quote="Une jounée parfaite.")
            two = await _carded(database, 2002)
            card2 = two.card_message_ids[0]
            await _press(fake, ORGANISER, GROUP_ID, card2, f"mod:edit:{two.id}")
            field = f"mod:field:{two.id}:quote"
            await wait_until(
                lambda: field in [d for _, d in fake.buttons(GROUP_ID, card2)], what="the fields"
            )
            await _press(fake, ORGANISER, GROUP_ID, card2, field)
            prompt = await wait_until(
                lambda: next(
                    (m for m in fake.messages(GROUP_ID) if "corrected quote" in m["text"]), None
                ),
                what="the correction prompt",
            )
            # Telegram shows the author the edit, but its answer never reaches the bot.
            fake.hold("sendMessage", chat_id=2002)
            fake.user_sends(
                ORGANISER, "Une journée parfaite.", chat_id=GROUP_ID, reply_to=prompt["message_id"]
            )
            await fake.wait_held()
            first.signal(signal.SIGKILL)
            assert await first.wait(10) == -signal.SIGKILL
            fake.release()
            rows = {t.user_id: t for t in await _testimonials(database)}
            assert [a.user_id for a in rows[2001].approvals] == [ORGANISER]
            waiting = rows[2002]
            assert waiting.quote == "Une jounée parfaite." and waiting.proposal is not None
            assert waiting.proposal_message_id is None  # shown, but not known to be
            shown_before = len(fake.messages(2002))

            await second.start("run", env=env)
            # The edit is shown to the author again: they cannot have been sure to see it.
            await wait_until(lambda: len(fake.messages(2002)) > shown_before, what="the edit")
            assert "<b>journée</b>" in fake.messages(2002)[-1]["html"]
            await settle(fake, database)
            # #1: Olga again counts once; Bruno's approval publishes it.
            again = await _press(fake, ORGANISER, GROUP_ID, card1, f"mod:approve:{one.id}")
            assert again.startswith("You approved it already")
            assert not fake.messages(CHANNEL_ID)
            await _press(fake, BRUNO, GROUP_ID, card1, f"mod:approve:{one.id}")
            await wait_until(lambda: fake.messages(CHANNEL_ID), what="the first post")
            # #2: the author approves the change; two organisers publish the edited words.
            await press(fake, 2002, "Approve the change")
            await _press(fake, ORGANISER, GROUP_ID, card2, f"mod:approve:{two.id}")
            await _press(fake, BRUNO, GROUP_ID, card2, f"mod:approve:{two.id}")
            await wait_until(lambda: len(fake.messages(CHANNEL_ID)) == 2, what="the second post")
            await settle(fake, database)
            rows = {t.user_id: t for t in await _testimonials(database)}
            assert rows[2001].status is Status.PUBLISHED
            assert rows[2001].decided_by_name == "Olga Organiser, Bruno"
            assert rows[2002].status is Status.PUBLISHED
            assert rows[2002].quote == "Une journée parfaite."
            assert rows[2002].agreed_words_version == rows[2002].words_version == 2
            posts = [m["text"] for m in fake.messages(CHANNEL_ID)]
            assert "Deux avis" in posts[0] and "Une journée parfaite." in posts[1]
        finally:
            await first.kill()
            await second.kill()
