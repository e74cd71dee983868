"""Issue 21, item 3, through the real process: after a ``kill -9`` the testimonial step is
asked again saying what is kept, and the attendee who pastes it all again anyway does not get
it stored twice. One process start per situation: a crash that lost the bot's answer, then a
restart and /start → Continue."""

from __future__ import annotations

from pathlib import Path

from bot.services.pastes import Client, split
from storage.database import Database
from storage.testimonials import Repository
from tests.e2e.cli_process import fake_telegram, press, say, skip_photo
from tests.e2e.test_crash_recovery import ORGANISATION, USER, Bot

NAME = "Ada LOVELACE"
# A paste Telegram Desktop cut in two (4,319 characters).
TYPED = ("Nous avons adoré chaque intervention et nous reviendrons l’an prochain. " * 60).strip()
PART_1, PART_2 = split(TYPED, Client.DESKTOP)
SAYS_KEPT = (
    "J’ai déjà 4\u202f319 caractères de votre témoignage, qui commence par"
    " «\u00a0Nous avons adoré chaque intervention et…\u00a0»"
)
ENDS = "et finit par «\u00a0…et nous reviendrons l’an prochain.\u00a0»."
ALREADY = "Ce texte est déjà dans votre témoignage"


async def stored_quote(database: Path) -> str:
    db = await Database.open(database, migrate=False)
    try:
        draft = await Repository(db).get_draft(USER)
        assert draft is not None
        return draft.quote
    finally:
        await db.close()


async def test_after_a_crash_the_testimonial_step_says_what_is_kept(tmp_path: Path) -> None:
    async with fake_telegram() as (fake, server):
        fake.add_user(USER, "Ada", last_name="Lovelace", language_code="fr")
        bot = Bot(tmp_path, fake, server)
        try:
            await bot.start()
            await say(fake, USER, "/start")
            await say(fake, USER, NAME)
            assert "témoignage" in (await say(fake, USER, ORGANISATION))["text"]
            await say(fake, USER, PART_1)
            # The paste's second part is stored, but the bot dies before its "Bien reçu"
            # reaches the attendee (the call is lost on its way).
            fake.hold("sendMessage", chat_id=USER, effect=False)
            fake.user_sends(USER, PART_2)
            await fake.wait_held()
            await bot.kill9()
            fake.release()
            quote = await stored_quote(bot.database)
            assert quote == TYPED and len(quote) == 4_319
            seen = len(fake.messages(USER))
            await bot.start()  # returns once the open questions were asked again
            [asked] = fake.messages(USER)[seen:]
            assert asked["text"].startswith("J’ai redémarré")
            assert SAYS_KEPT in asked["text"] and ENDS in asked["text"]
            assert [b for b, _ in fake.buttons(USER, asked["message_id"])] == ["Terminé"]
            # The attendee pastes it all again anyway: each part is recognised.
            assert ALREADY in (await say(fake, USER, PART_1))["text"]
            assert ALREADY in (await say(fake, USER, PART_2))["text"]
            assert await stored_quote(bot.database) == quote

            # A restart, then /start and Continue: the same sentence, with Done.
            await bot.kill9()
            await bot.start()
            await say(fake, USER, "/start")
            await press(fake, USER, "Continuer")
            last = await fake.wait_for(
                lambda: [m for m in fake.messages(USER)[-1:] if SAYS_KEPT in m["text"]],
                15,
                what="the testimonial step asked again",
            )
            assert ENDS in last[0]["text"]
            await press(fake, USER, "Terminé")
            await skip_photo(fake, USER)  # pas de photo
            await fake.wait_for(
                lambda: "Acceptez-vous" in fake.messages(USER)[-1]["text"], 15, what="consent"
            )
            assert await stored_quote(bot.database) == quote
        finally:
            await bot.kill_all()
    assert fake.unknown_methods == []
