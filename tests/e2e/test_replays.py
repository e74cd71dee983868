"""An update handled again after a crash answers as it did the first time (issue 21, items 4
and 5). The real ``livredor run``, in long polling and in webhook mode, killed with kill -9
at one chosen moment for two people at once: an attendee's Send is committed and its "Sent,
thank you" is on its way, and a new attendee's very first /start has opened their draft and
its greeting is on its way; the fake Telegram holds both and they never take effect.
After the restart: the thanks is given (on the preview, as the first time), the greeting
once; the Send pressed again says the testimonial is with the organisers; a question says
where it is; /start offers another one, explicitly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import models
from storage.database import Database
from storage.models import Status
from storage.testimonials import Repository
from tests.e2e.cli_process import GROUP_ID, fake_telegram, press, say, skip_photo
from tests.e2e.test_durable_updates import MODES, TIMEOUT, Bot, until_all_done

SENDER = 2101  # Camille, in French: she presses Send
NEWCOMER = 2102  # Ada, in English: her first /start

SENT_FR = "✅ Envoyé.\n\nMerci\u202f! Votre témoignage est entre les mains des organisateurs."
ALREADY_SENT_FR = (
    "Ce témoignage est déjà envoyé\u00a0: il est entre les mains des organisateurs."
    " /mine montre où il en est."
)
WAITING_FR = (
    "Votre témoignage est entre les mains des organisateurs, qui vont le relire\u00a0:"
    " /mine montre où il en est. Pour en écrire un autre, envoyez /start."
)
ANOTHER_FR = "Voulez-vous en écrire un autre\u202f?"
GREETING_EN = "Hello! Let's write a testimonial about ROUMICS 2012."
# What a replay must not say: that the draft it just opened is "in progress", that the bot
# was restarted (the question is not asked a second time), "/start" to someone who sent.
NOT_SAID = ("in progress", "en cours", "restarted", "redémarré", "Send /start", "Envoyez /start")


async def read(
    database: Path, user_id: int
) -> tuple[models.Testimonial | None, list[models.Testimonial]]:
    db = await Database.open(database, migrate=False)
    try:
        repo = Repository(db)
        return await repo.get_draft(user_id), await repo.list_for_user(user_id)
    finally:
        await db.close()


@pytest.mark.parametrize("mode", MODES)
async def test_a_send_and_a_first_start_cut_by_a_crash_answer_as_the_first_time(
    tmp_path: Path, mode: str
) -> None:
    async with fake_telegram() as (fake, server):
        fake.add_user(SENDER, "Camille", last_name="Durand", language_code="fr")
        fake.add_user(NEWCOMER, "Ada", last_name="Lovelace")
        bot = Bot(tmp_path, fake, server, mode)
        try:
            await bot.start()
            await say(fake, SENDER, "/start")
            await say(fake, SENDER, "Camille DURAND")
            await press(fake, SENDER, "Passer")
            await say(fake, SENDER, "Une belle journée.")
            await press(fake, SENDER, "Terminé")
            await skip_photo(fake, SENDER)  # pas de photo
            await press(fake, SENDER, "Oui, j’accepte")

            def send_button() -> tuple[int, str] | None:
                for message in fake.messages(SENDER):
                    for label, data in fake.buttons(SENDER, message["message_id"]):
                        if label == "Envoyer" and data is not None:
                            return int(message["message_id"]), data
                return None

            found = await fake.wait_for(send_button, TIMEOUT, what="the preview")
            assert found is not None  # wait_for returns a truthy value
            preview_id, send = found

            # The moment: both are committed, neither answer reaches Telegram, and the bot dies.
            fake.hold("editMessageText", chat_id=SENDER, effect=False)  # the thanks, in place
            fake.hold("sendMessage", chat_id=NEWCOMER, effect=False)  # the greeting
            fake.user_presses(SENDER, SENDER, preview_id, send)
            fake.user_sends(NEWCOMER, "/start")
            await fake.wait_held(2, timeout=TIMEOUT)
            await bot.kill9()
            fake.release()
            _, [sent] = await read(bot.database, SENDER)
            assert sent.status is Status.PENDING and not sent.submission_confirmed
            opened, _ = await read(bot.database, NEWCOMER)
            assert opened is not None and opened.created_by_update is not None
            assert fake.messages(NEWCOMER) == []  # the greeting never took effect

            # While the bot is down, Camille presses Send again, then asks.
            again = fake.user_presses(SENDER, SENDER, preview_id, send)
            fake.user_sends(SENDER, "C’est envoyé\u202f?")
            seen = len(fake.messages(SENDER))
            await bot.start()
            await fake.wait_for(
                lambda: WAITING_FR in [m["text"] for m in fake.messages(SENDER)],
                TIMEOUT,
                what="the answer to Camille's question",
            )
            # Told once, by the replayed press, on the preview: nothing left to say again.
            await bot.processes[-1].wait_log("asked 0 open question(s) again", TIMEOUT)
            assert "confirmed 0 submission(s) again" in bot.processes[-1].stderr
            thanked = fake.message(SENDER, preview_id)
            assert SENT_FR in thanked["text"] and fake.buttons(SENDER, preview_id) == []
            assert fake.callback_answers[again]["text"] == ALREADY_SENT_FR
            assert [m["text"] for m in fake.messages(SENDER)[seen:]] == [WAITING_FR]
            # Ada's first messages: the greeting and the first question, once.
            [greeting] = fake.messages(NEWCOMER)
            assert greeting["text"].startswith(GREETING_EN)
            assert "What name should appear" in greeting["text"]
            everything = [m["text"] for c in (SENDER, NEWCOMER) for m in fake.messages(c)]
            assert not [t for t in everything if any(s in t for s in NOT_SAID)], everything
            await until_all_done(bot.database)
            _, [sent] = await read(bot.database, SENDER)
            assert sent.submission_confirmed
            opened, _ = await read(bot.database, NEWCOMER)
            assert opened is not None and opened.question_delivered

            # Both go on: Ada answers the question she was asked; Camille's /start offers
            # another testimonial, explicitly, and opens it only when she says so.
            reply = await say(fake, NEWCOMER, "Ada LOVELACE")
            assert "Your role and organisation" in reply["text"]
            offer = await say(fake, SENDER, "/start")
            assert offer["text"].endswith(ANOTHER_FR)
            assert await read(bot.database, SENDER) == (None, [sent])
            await press(fake, SENDER, "En écrire un autre")
            await fake.wait_for(
                lambda: "Quel nom" in fake.message(SENDER, offer["message_id"])["text"],
                TIMEOUT,
                what="the first question, in place of the offer's button",
            )
            draft, _ = await read(bot.database, SENDER)
            assert draft is not None and draft.id != sent.id
            # The organisers got Camille's card once.
            await fake.wait_for(
                lambda: any("Camille DURAND" in m["text"] for m in fake.messages(GROUP_ID)),
                TIMEOUT,
                what="the card",
            )
            cards = [m for m in fake.messages(GROUP_ID) if "Camille DURAND" in m["text"]]
            assert len(cards) == 1
        finally:
            fake.release()
            await bot.kill_all()
    assert fake.unknown_methods == [], bot.log()
