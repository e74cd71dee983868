"""Issue 21, items 6, 7 and 9 through the real ``livredor run`` after a ``kill -9``: a reply
to an earlier question, an edit of an earlier answer and a session link opened on an open
draft act the same after the restart (which message asked what, which answer each message
gave and the link opened are in the database). One process killed, one started: each
attendee checks one thing."""

from __future__ import annotations

from pathlib import Path

from bot.sandbox import FakeTelegram
from storage.database import Database
from storage.models import Step
from storage.testimonials import Repository
from tests.e2e.cli_process import fake_telegram, press, say, settle, wait_until
from tests.e2e.test_crash_recovery import USER
from tests.e2e.test_durable_updates import Bot
from tests.test_sessions import SESSIONS_TOML

EDITOR = 2002
TIMEOUT = 15.0


def latest(fake: FakeTelegram, user_id: int, words: str) -> int:
    """The id of the bot's latest message to ``user_id`` containing ``words``."""
    return int([m for m in fake.messages(user_id) if words in m["text"]][-1]["message_id"])


async def answer_after(fake: FakeTelegram, user_id: int, mine: int, words: str) -> str:
    """Wait for a message of the bot after ``mine`` containing ``words``; return its text."""

    def found() -> str | None:
        for m in fake.messages(user_id):
            if m["message_id"] > mine and words in m["text"]:
                return str(m["text"])
        return None

    text: str = await wait_until(found, TIMEOUT, repr(words))
    return text


async def test_replies_edits_and_links_after_a_kill_9(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions.toml"
    sessions.write_text(SESSIONS_TOML, encoding="utf-8")
    async with fake_telegram() as (fake, server):
        fake.add_user(USER, "Ada", language_code="en")
        fake.add_user(EDITOR, "Bob", language_code="en")
        bot = Bot(tmp_path, fake, server, "polling")
        bot.env["LIVREDOR_SESSIONS"] = str(sessions)
        try:
            await bot.start()
            # Ada: a draft for the keynote, up to her first paragraph; then the workshop's
            # link, whose offer she has not answered yet.
            await say(fake, USER, "/start session-keynote")
            name_question = latest(fake, USER, "What name")
            await say(fake, USER, "Ada")
            await say(fake, USER, "Org")
            await say(fake, USER, "Words.")
            assert (
                "“Workshop 3: open data”"
                in (await say(fake, USER, "/start session-atelier-3"))["text"]
            )
            # Bob: his name given, the organisation question open.
            await say(fake, EDITOR, "/start keynote")
            bob_name = int(fake.user_sends(EDITOR, "Bob")["message_id"])
            await answer_after(fake, EDITOR, bob_name, "Your role")
            await settle(fake, bot.database)
            await bot.kill9()
            await bot.start()

            await press(fake, USER, "Continue")
            await answer_after(fake, USER, 0, "now about the session “Workshop 3: open data”")
            mine = int(fake.user_sends(USER, "Ada LOVELACE", reply_to=name_question)["message_id"])
            assert await answer_after(fake, USER, mine, "Name corrected: Ada LOVELACE")
            fake.user_edits(EDITOR, bob_name, "Bob KING")
            said = await answer_after(fake, EDITOR, bob_name, "Name corrected: Bob KING")
            assert "Your role" in said
            await settle(fake, bot.database)
        finally:
            await bot.kill_all()
        db = await Database.open(bot.database, migrate=False)
        try:
            ada, bob = [await Repository(db).get_draft(u) for u in (USER, EDITOR)]
        finally:
            await db.close()
        assert ada is not None and bob is not None
        assert (ada.name, ada.quote) == ("Ada LOVELACE", "Words.")
        assert (ada.start_payload, ada.link_payload) == ("session-atelier-3", None)
        assert (bob.name, bob.step) == ("Bob KING", Step.ORGANISATION)
