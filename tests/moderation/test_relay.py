"""The organisers write to an author through the bot, and the answer comes back under the card
(issue 26 item 4)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from storage.models import Status, Step
from tests.moderation.test_moderation import answer_prompt, card_of, make_admin, press, submit
from tests.support import GROUP_ID, ORGANISER_ID, Harness

JSON = dict[str, Any]
QUESTION = "Which session was it? We would like to tag it."
ANSWER = "The one on Tuesday morning, about <graphs> & maps."


def reply_target(message: JSON) -> int | None:
    replied = message["json"].get("reply_to_message")
    return int(replied["message_id"]) if replied else None


async def test_a_reply_to_the_author_and_back(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # what `livredor run` logs (bot/cli/logs.py)
    h = harness
    make_admin(h, "Bruno", 501)
    ada = h.person("Ada", language_code="en")
    tid = await submit(h, ada, quote="A day of maps and graphs.")
    card = await card_of(h, tid)
    last_part = card.card_message_ids[-1]
    answer = await press(h, ORGANISER_ID, last_part, f"mod:write:{tid}")
    assert answer["text"].startswith("Reply to my message in the group")
    prompt = h.fake.last_message(GROUP_ID)
    assert prompt["reply_markup"]["force_reply"] is True
    assert f"#{tid}" in prompt["text"] and "the organisers" in prompt["text"]

    # Another organiser typing in reply to Olga's prompt is not taken: it stays hers.
    before = len(h.fake.messages(ada.id))
    h.fake.user_sends(501, "Not my prompt", chat_id=GROUP_ID, reply_to=prompt["message_id"])
    await h.settle()
    assert len(h.fake.messages(ada.id)) == before
    await answer_prompt(h, QUESTION)
    told = h.fake.messages(ada.id)[before:]
    assert len(told) == 1
    note = told[0]
    assert QUESTION in note["text"] and "from the organisers" in note["text"]
    assert "Olga" not in note["text"] and "Bruno" not in note["text"]  # signed by the team
    assert note["reply_markup"]["force_reply"] is True
    sent = h.fake.last_message(GROUP_ID)
    assert sent["text"].startswith(f"✉️ Sent to the author of #{tid}")

    # Ada has started another testimonial meanwhile: her answer (a reply to the organisers'
    # message) is not taken as her name, nor as a new testimonial.
    await ada.start()  # one waits for review: "Write another one"
    draft = await h.repo.get_draft(ada.id)
    assert draft is not None and draft.step is Step.NAME
    answered = h.fake.user_sends(ada.id, ANSWER, reply_to=note["message_id"])
    await h.settle()
    relayed = len(h.group_messages())
    # The same message delivered again (Telegram delivers at least once): relayed once.
    h.fake.queue_update("message", answered)
    await h.settle()
    assert len(h.group_messages()) == relayed
    assert h.fake.last_message(ada.id)["text"] == "✉️ Sent to the organisers."
    after = await h.repo.get_draft(ada.id)
    assert after is not None and after.step is Step.NAME and after.name == ""
    back = h.fake.last_message(GROUP_ID)
    assert reply_target(back) == last_part  # under the card
    assert f"The author of #{tid} answers" in back["text"]
    assert "<graphs> & maps" in back["text"]  # as typed, escaped on the way
    submitted = await h.repo.get(tid)
    assert submitted is not None and submitted.status is Status.PENDING
    assert submitted.quote == "A day of maps and graphs."  # no field got the answer

    # Organisers talking about it under the answer: among themselves, never to the author.
    seen = len(h.fake.messages(ada.id))
    h.fake.user_sends(
        501, "Tuesday, so the maps talk", chat_id=GROUP_ID, reply_to=back["message_id"]
    )
    await h.settle()
    assert len(h.fake.messages(ada.id)) == seen

    # Nobody's words in the logs.
    for words in (QUESTION, ANSWER, "maps"):
        assert words not in caplog.text

    # /forget erases the exchange wherever the bot wrote it: her chat and the group.
    await ada.send("/forget")
    await ada.press("Yes, erase everything")
    done = h.fake.last_message(ada.id)
    assert "2 messages between you and the organisers erased" in done["text"]
    gone = {
        m["message_id"] for m in h.fake.messages(GROUP_ID, include_deleted=True) if m["deleted"]
    }
    assert back["message_id"] in gone
    assert h.fake.message(ada.id, note["message_id"])["deleted"]
    assert ANSWER not in str(h.group_messages())


async def test_a_message_too_long_is_refused_and_a_blocked_author_said(harness: Harness) -> None:
    h = harness
    ada = h.person("Ada")
    tid = await submit(h, ada)
    card = await card_of(h, tid)
    await press(h, ORGANISER_ID, card.card_message_ids[-1], f"mod:write:{tid}")
    seen = len(h.fake.messages(ada.id))
    await answer_prompt(h, "x" * 1001)
    assert h.fake.last_message(GROUP_ID)["text"] == (
        "Nothing was sent: the message is 1,001 characters long, the limit is 1,000."
    )
    assert len(h.fake.messages(ada.id)) == seen
    await press(h, ORGANISER_ID, card.card_message_ids[-1], f"mod:write:{tid}")
    h.fake.block_bot(ada.id)
    await answer_prompt(h, "Anything to add?")
    assert h.fake.last_message(GROUP_ID)["text"] == (
        f"Not delivered: the author of #{tid} has blocked the bot."
    )


async def test_the_author_reads_it_in_their_language(harness: Harness) -> None:
    h = harness
    zoe = h.person("Zoé", language_code="fr")
    tid = await submit_fr(h, zoe)
    card = await card_of(h, tid)
    await press(h, ORGANISER_ID, card.card_message_ids[-1], f"mod:write:{tid}")
    await answer_prompt(h, "Pouvez-vous préciser la session ?")
    note = h.fake.last_message(zoe.id)
    assert note["text"].startswith("✉️ Un message des organisateurs")
    assert "témoignage n°\u00a01\u00a0:" in note["text"]  # her own numbering, French spacing
    h.fake.user_sends(zoe.id, "Celle de mardi.", reply_to=note["message_id"])
    await h.settle()
    assert h.fake.last_message(zoe.id)["text"] == "✉️ Envoyé aux organisateurs."
    # The group reads the organisers' language (English here).
    assert h.fake.last_message(GROUP_ID)["text"].startswith(f"💬 The author of #{tid} answers")


async def submit_fr(h: Harness, p: Any) -> int:
    await p.send("/start")
    await p.send("Zoé")
    await p.send("Atelier")
    await p.send("Une belle journée.")
    await p.press("Terminé")
    await p.press("Passer")  # pas de photo
    await p.press("Oui")
    await p.press("Envoyer")
    [mine] = await h.repo.list_for_user(p.id)
    assert mine.status is Status.PENDING
    return mine.id
