"""Authorisation (issue 11, items 1-4 and 14's forged press): who may decide, and every
button bound to the chat it belongs to."""

from __future__ import annotations

from storage.models import Status
from tests.moderation.test_moderation import card_of, press, submit
from tests.support import ORGANISER_ID, Harness

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
