"""Authorisation (issue 11, items 1-4 and 14's forged press): who may decide, and every
button bound to the chat it belongs to."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.handlers import moderation
from bot.services import cards
from storage.models import Status
from tests.moderation.test_moderation import (
    answer_prompt,
    card_of,
    make_admin,
    press,
    submit,
    wait_status,
)
from tests.support import GROUP_ID, ORGANISER_ID, Harness

HUGE = "9" * 30


async def test_a_forged_press_with_a_huge_id_is_answered(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p)
    card = (await card_of(harness, tid)).card_message_ids[-1]
    for data in (f"mod:approve:{HUGE}", f"mod:reason:{tid}:{HUGE}", f"in:send:{HUGE}"):
        answer = await press(harness, ORGANISER_ID, card, data, forge=True)
        assert answer["show_alert"], data
    private = harness.fake.last_message(p.id)["message_id"]
    for data in (f"mine:ask:{HUGE}", f"in:send:{HUGE}", f"in:session.{HUGE}:1"):
        query = harness.fake.user_presses(p.id, p.id, private, data, forge=True)
        await harness.settle()
        assert query in harness.fake.callback_answers, data
    still = await harness.repo.get(tid)
    assert still is not None and still.status is Status.PENDING


async def test_a_demoted_organiser_is_refused_at_once(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p)
    card = (await card_of(harness, tid)).card_message_ids[-1]
    # The bot knows Olga as an admin (cache filled by a first press).
    await press(harness, ORGANISER_ID, card, f"mod:reject:{tid}")
    await press(harness, ORGANISER_ID, card, f"mod:back:{tid}", forge=True)
    harness.fake.set_member(GROUP_ID, ORGANISER_ID, "member")  # a chat_member update
    await harness.settle()
    answer = await press(harness, ORGANISER_ID, card, f"mod:approve:{tid}", forge=True)
    assert answer["text"] == "Only organisers can do this."
    harness.fake.user_sends(ORGANISER_ID, "/export json", chat_id=GROUP_ID)
    await harness.settle()
    assert harness.fake.messages(GROUP_ID)[-1]["text"] == "Only organisers can do this."
    assert not harness.fake.calls("sendDocument")
    still = await harness.repo.get(tid)
    assert still is not None and still.status is Status.PENDING
    # Promoted again: at once too.
    harness.fake.set_member(GROUP_ID, ORGANISER_ID, "administrator")
    await harness.settle()
    answer = await press(harness, ORGANISER_ID, card, f"mod:approve:{tid}", forge=True)
    assert "Approved" in answer["text"]


async def test_a_missed_demotion_is_caught_by_the_recheck(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = harness.person()
    tid = await submit(harness, p)
    card = (await card_of(harness, tid)).card_message_ids[-1]
    await press(harness, ORGANISER_ID, card, f"mod:reject:{tid}")
    # The bot is no longer an admin: Telegram sends it no chat_member update.
    harness.fake.set_bot_rights(GROUP_ID, admin=False)
    harness.fake.set_member(GROUP_ID, ORGANISER_ID, "member")
    await harness.settle()
    monkeypatch.setattr(cards, "RECHECK_SECONDS", 0.0)  # "not seen for a while"
    answer = await press(harness, ORGANISER_ID, card, f"mod:reason:{tid}:0", forge=True)
    assert answer["text"] == "Only organisers can do this."
    still = await harness.repo.get(tid)
    assert still is not None and still.status is Status.PENDING


async def test_prompts_take_only_a_reply_from_the_asker_in_time(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_admin(harness, "Bruno", 501)
    p = harness.person()
    tid = await submit(harness, p)
    card = (await card_of(harness, tid)).card_message_ids[-1]
    await press(harness, ORGANISER_ID, card, f"mod:reject:{tid}")
    await press(harness, ORGANISER_ID, card, f"mod:other:{tid}")
    prompt = harness.fake.last_message(GROUP_ID)
    assert "until" in prompt["text"] and "(in 5 min)" in prompt["text"]
    [call] = [c for c in harness.fake.calls("sendMessage") if "reply_markup" in c.params][-1:]
    raw = call.params["reply_markup"]
    markup: dict[str, object] = json.loads(raw) if isinstance(raw, str) else dict(raw)  # type: ignore[call-overload]
    assert markup["force_reply"] is True and markup["selective"] is True
    # Group talk that is not a reply to the prompt is never taken as the reason.
    harness.fake.user_sends(ORGANISER_ID, "lunch at 1pm? the caterer is awful", chat_id=GROUP_ID)
    # Another organiser's reply to Olga's prompt is not hers.
    await answer_prompt(harness, "Bruno's words", user_id=501)
    harness.fake.user_sends(
        ORGANISER_ID, "lunch again", chat_id=GROUP_ID, reply_to=prompt["message_id"] - 1
    )
    await harness.settle()
    still = await harness.repo.get(tid)
    assert still is not None and still.status is Status.PENDING
    assert not any("lunch" in m or "Bruno" in m for m in p.texts())
    # Olga's own reply is taken.
    harness.fake.user_sends(
        ORGANISER_ID, "Off topic, sorry", chat_id=GROUP_ID, reply_to=prompt["message_id"]
    )
    await harness.settle()
    rejected = await wait_status(harness, tid, Status.REJECTED)
    assert rejected.reject_reason == "Off topic, sorry"

    # An expired prompt says so and changes nothing.
    monkeypatch.setattr(moderation, "PROMPT_LIFETIME", timedelta(0))
    other = await submit(harness, harness.person(), quote="Second")
    card = (await card_of(harness, other)).card_message_ids[-1]
    await press(harness, ORGANISER_ID, card, f"mod:reject:{other}")
    await press(harness, ORGANISER_ID, card, f"mod:other:{other}")
    await answer_prompt(harness, "too late")
    assert "expired" in harness.fake.messages(GROUP_ID)[-1]["text"]
    pending = await harness.repo.get(other)
    assert pending is not None and pending.status is Status.PENDING


async def test_a_demoted_askers_reply_is_refused(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p)
    card = (await card_of(harness, tid)).card_message_ids[-1]
    await press(harness, ORGANISER_ID, card, f"mod:reject:{tid}")
    await press(harness, ORGANISER_ID, card, f"mod:other:{tid}")
    prompt = harness.fake.last_message(GROUP_ID)
    harness.fake.set_member(GROUP_ID, ORGANISER_ID, "member")
    await harness.settle()
    harness.fake.user_sends(
        ORGANISER_ID, "lunch at 1pm?", chat_id=GROUP_ID, reply_to=prompt["message_id"]
    )
    await harness.settle()
    still = await harness.repo.get(tid)
    assert still is not None and still.status is Status.PENDING
    assert not any("lunch" in m for m in p.texts())


async def test_anonymous_admins_are_organisers(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p)
    card = (await card_of(harness, tid)).card_message_ids[-1]
    harness.fake.user_sends(ORGANISER_ID, "/stats", chat_id=GROUP_ID, anonymous=True)
    await harness.settle()
    assert "Testimonials" in harness.fake.messages(GROUP_ID)[-1]["text"]
    await press(harness, ORGANISER_ID, card, f"mod:reject:{tid}")
    await press(harness, ORGANISER_ID, card, f"mod:other:{tid}")
    prompt = harness.fake.last_message(GROUP_ID)
    harness.fake.user_sends(
        ORGANISER_ID,
        "Anonymous reason",
        chat_id=GROUP_ID,
        reply_to=prompt["message_id"],
        anonymous=True,
    )
    await harness.settle()
    rejected = await wait_status(harness, tid, Status.REJECTED)
    assert rejected.reject_reason == "Anonymous reason"
    with pytest.raises(ValueError, match="only admins"):
        harness.fake.user_sends(p.id, "hi", chat_id=GROUP_ID, anonymous=True)


async def test_attendee_buttons_do_nothing_in_the_group(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p)
    card = (await card_of(harness, tid)).card_message_ids[-1]
    before = harness.fake.buttons(GROUP_ID, card)
    count = len(harness.fake.messages(GROUP_ID))
    for data in ("forget:no", "forget:yes", "lang:fr", f"mine:yes:{tid}", f"in:send:{tid}"):
        answer = await press(harness, ORGANISER_ID, card, data, forge=True)
        assert answer["show_alert"], data
    assert harness.fake.buttons(GROUP_ID, card) == before
    assert len(harness.fake.messages(GROUP_ID)) == count
    still = await harness.repo.get(tid)
    assert still is not None and still.status is Status.PENDING
    # And a card button pressed in a private chat does nothing either.
    private = harness.fake.last_message(p.id)["message_id"]
    query = harness.fake.user_presses(p.id, p.id, private, f"mod:approve:{tid}", forge=True)
    await harness.settle()
    assert harness.fake.callback_answers[query]["show_alert"]
