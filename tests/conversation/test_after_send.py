"""After Send (issue 21, item 4): whoever has a testimonial waiting for review is told so,
and where to see it, before being offered a new one; a Send whose "Sent, thank you" never
reached Telegram is confirmed, once, by the next press of Send or after a restart; Send on a
testimonial already sent says it is with the organisers. (A kill -9 right after Send, in
polling and webhook mode: tests/e2e/test_replays.py.)"""

from __future__ import annotations

from storage.models import Status
from tests.conversation.test_french import submit_fr
from tests.support import Harness

WAITING_FR = (
    "Votre témoignage est entre les mains des organisateurs, qui vont le relire\u00a0:"
    " /mine montre où il en est. Pour en écrire un autre, envoyez /start."
)
START_WAITING_FR = (
    "Votre témoignage est entre les mains des organisateurs, qui vont le relire\u00a0:"
    " /mine montre où il en est.\n\nVoulez-vous en écrire un autre\u202f?"
)
WAITING_EN_2 = (
    "Your 2 testimonials are with the organisers, waiting for their review: /mine shows"
    " where they are. To write another one, send /start."
)
SENT_EN = "✅ Sent.\n\nThank you! Your testimonial is with the organisers."
REASKED_EN = "I was restarted and can't be sure my last message reached you"
ALREADY_SENT_EN = (
    "This testimonial has already been sent: it is with the organisers. /mine shows where it is."
)


async def test_whoever_waits_for_review_is_told_so_before_a_new_one(harness: Harness) -> None:
    h = harness
    p = h.person("Camille", last_name="Durand", language_code="fr")
    sent = await submit_fr(h, p, "Une belle journée.")
    # A question, a sticker, /cancel: each says where the testimonial is (not "/start").
    assert [m["text"] for m in await p.send("C’est envoyé\u202f?")] == [WAITING_FR]
    assert [m["text"] for m in await p.send(kind="sticker")] == [WAITING_FR]
    assert [m["text"] for m in await p.send("/cancel")] == [WAITING_FR]
    # /start offers another one, explicitly: no second testimonial is opened by itself.
    [offer] = await p.send("/start")
    assert offer["text"] == START_WAITING_FR
    assert h.fake.buttons(p.id, offer["message_id"]) == [
        ("En écrire un autre", f"in:another:{sent}")
    ]
    assert await h.repo.get_draft(p.id) is None
    [answered] = await p.press("En écrire un autre")
    assert answered["message_id"] == offer["message_id"]  # answered in place
    assert "✅ En écrire un autre\n\nQuel nom" in answered["text"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.created_by_update is not None
    [waiting] = await h.repo.list_for_user(p.id)
    assert waiting.id == sent and waiting.status is Status.PENDING

    # Two waiting, in English: the count, in words that agree with it.
    q = h.person("Quentin", last_name=None)
    for _ in range(2):
        await q.reach_preview()
        await q.press("Send")
    assert [m["text"] for m in await q.send("Is it sent?")] == [WAITING_EN_2]


async def test_a_send_whose_thanks_failed_is_confirmed_once(harness: Harness) -> None:
    h = harness
    ada, bob = h.person("Ada"), h.person("Bob")
    for p in (ada, bob):
        await p.reach_preview()
        # Send is committed; the thanks (the preview edited in place) fails on its way.
        h.fake.fail("editMessageText", chat_id=p.id)
        await p.press("Send")
        [t] = await h.repo.list_for_user(p.id)
        assert t.status is Status.PENDING and not t.submission_confirmed
    # Ada presses Send again: told it is sent, as the first time would have, on the preview.
    [thanked] = await ada.press("Send")
    assert SENT_EN in thanked["text"] and h.fake.buttons(ada.id, thanked["message_id"]) == []
    [t] = await h.repo.list_for_user(ada.id)
    assert t.submission_confirmed
    # Bob does nothing: after a restart he is told, once; Ada is not told again.
    seen = {p.id: len(p.texts()) for p in (ada, bob)}
    await h.restart()
    assert h.services.reasking is not None and await h.services.reasking == 0
    await h.settle()
    assert ada.texts()[seen[ada.id] :] == []
    [told] = bob.texts()[seen[bob.id] :]
    assert told.startswith(REASKED_EN) and told.endswith(
        SENT_EN + " I'll tell you as soon as it is published."
    )
    [t] = await h.repo.list_for_user(bob.id)
    assert t.submission_confirmed
    # Send on the old preview now: it is with the organisers (not "an older message").
    assert await bob.press("Send") == []
    assert bob.last_answer is not None and bob.last_answer["text"] == ALREADY_SENT_EN
    await h.restart()
    assert h.services.reasking is not None and await h.services.reasking == 0
    await h.settle()
    assert len(bob.texts()) == seen[bob.id] + 1
    # Each card reached the organisers once.
    assert len(h.group_messages()) == 2
