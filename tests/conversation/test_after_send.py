"""After Send (issue 21, item 4): whoever has a testimonial waiting for review is told so,
and where to see it, before being offered a new one; a Send whose "Sent, thank you" never
reached Telegram is confirmed, once, by the next press of Send or after a restart; Send on a
testimonial already sent says it is with the organisers, or, once they decided or it was
withdrawn, what its author was told then (published with its link, not published and why,
withdrawn). (A kill -9 right after Send, in
polling and webhook mode: tests/e2e/test_replays.py.)"""

from __future__ import annotations

from typing import Any

from storage.models import Status
from tests.conversation.test_french import FR, publish, submit_fr
from tests.support import CHANNEL_ID, CHANNEL_USERNAME, GROUP_ID, ORGANISER_ID, Harness, Person

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


async def _sent_with_preview_live(h: Harness, p: Person, *, french: bool = False) -> int:
    """Reach the preview and Send, with the thanks failing on its way (the preview keeps
    its buttons; the next start says "Sent" in a new message): return the testimonial."""
    if french:
        use_name, skip, done, agree, _ = FR
        await p.start()
        await p.press(use_name)
        await p.press(skip)
        await p.send("Une belle journée.")
        await p.press(done)
        await p.press(skip)
        await p.press(agree)
    else:
        await p.reach_preview()
    h.fake.fail("editMessageText", chat_id=p.id)
    await p.press(FR[-1] if french else "Send")
    [t] = await h.repo.list_for_user(p.id)
    return t.id


async def _card_press(h: Harness, tid: int, data: str) -> None:
    await h.settle()
    t = await h.repo.get(tid)
    assert t is not None and t.card_message_ids
    h.fake.user_presses(ORGANISER_ID, GROUP_ID, t.card_message_ids[0], data)
    await h.settle()


async def test_send_on_a_decided_testimonial_says_what_became_of_it(harness: Harness) -> None:
    h = harness
    ada, bob, cleo, dan = (h.person(n) for n in ("Ada", "Bob", "Cleo", "Dan"))
    camille = h.person("Camille", last_name="Durand", language_code="fr")
    previews: dict[int, int] = {}
    tids: dict[int, int] = {}
    for p in (ada, bob, cleo, dan, camille):
        tids[p.id] = await _sent_with_preview_live(h, p, french=p is camille)
        [previews[p.id]] = [
            m["message_id"]
            for m in h.fake.messages(p.id)
            if any(
                data and data.startswith("in:send:")
                for _, data in h.fake.buttons(p.id, m["message_id"])
            )
        ]
    await h.restart()  # each is told "Sent" in a new message: the preview keeps Send
    await h.settle()

    # Ada's is published: the notice gave her the link; Send says it again, on the preview.
    await publish(h, tids[ada.id])
    link = f"https://t.me/{CHANNEL_USERNAME}/{h.channel_messages()[-1]['message_id']}"
    notice = f"🎉 Your testimonial #1 is published: {link}"
    await h.wait(lambda: notice in ada.texts())
    # Bob's is rejected with a reason: he was told it; Camille's in French, the same reason.
    for p in (bob, camille):
        await _card_press(h, tids[p.id], f"mod:reject:{tids[p.id]}")
        await _card_press(h, tids[p.id], f"mod:reason:{tids[p.id]}:0")
    rejected_en = "Your testimonial #1 was not published. The organisers' reason: Off-topic"
    assert rejected_en in bob.texts()
    [rejected_fr] = [t for t in camille.texts() if "Hors sujet" in t]
    # Cleo withdraws hers with /mine.
    await cleo.send("/mine")
    await cleo.press("Withdraw #1")
    await cleo.press("Yes, withdraw it")
    assert "Testimonial #1 is withdrawn." in cleo.texts()
    # Dan's is approved, but the channel refuses it for now: it stays approved.
    h.fake.fail("sendMessage", CHANNEL_ID, code=400, description="Bad Request: chat not found")
    await _card_press(h, tids[dan.id], f"mod:approve:{tids[dan.id]}")
    approved = await h.repo.get(tids[dan.id])
    assert approved is not None and approved.status is Status.APPROVED

    told = {
        ada.id: notice,
        bob.id: rejected_en,
        camille.id: rejected_fr,
        cleo.id: "Testimonial #1 is withdrawn.",
    }
    for p in (ada, bob, camille, cleo):
        preview = previews[p.id]
        before = h.fake.message(p.id, preview)["text"]
        send = next(d for _, d in h.fake.buttons(p.id, preview) if d and d.startswith("in:send:"))
        pressed: list[dict[str, Any]] = await p.press_data(preview, send)
        # Answered in place: the preview stays, its buttons go, what they were told follows.
        assert [m["message_id"] for m in pressed] == [preview], p.texts()[-1]
        assert pressed[0]["text"] == f"{before}\n\n{told[p.id]}"
        assert h.fake.buttons(p.id, preview) == []
        assert p.last_answer is not None and p.last_answer["text"] is None  # no toast
        # The same press delivered again (a double tap, a replay): nothing new, no error.
        assert await p.press_data(preview, send, forge=True) == []
    assert link in h.fake.message(ada.id, previews[ada.id])["html"]
    # Dan's, approved, is on its way to the channel: a toast, in /mine's words.
    assert await dan.press("Send") == []
    assert dan.last_answer is not None and dan.last_answer["text"] == (
        "This testimonial has already been sent: it is approved, about to be published."
        " /mine shows where it is."
    )
