"""``Harness.settle`` waits for everything the bot has in hand, not only the update queue.

Most tests assert "nothing else happened" right after ``settle()``; if settle returned while
a handler, the card sender or the publisher was still at work, those tests would check a
half-done bot and pass by luck. Here each kind of work is held mid-call by the fake Telegram
(``hold``), and settle must refuse to call the bot idle, naming what it still does, until the
answer is released.
"""

from __future__ import annotations

import pytest

from storage.models import Status
from tests.support import CHANNEL_ID, GROUP_ID, ORGANISER_ID, Harness, Person

#: Long enough for settle to look several times, short enough to keep the suite fast.
NOT_IDLE_WITHIN = 0.1


def press_send(h: Harness, p: Person) -> None:
    """Press Send on ``p``'s preview without waiting for the bot (``Person.press`` settles)."""
    for message in reversed(h.fake.messages(p.id)):
        for text, data in h.fake.buttons(p.id, message["message_id"]):
            if "Send" in text and data is not None:
                h.fake.user_presses(p.id, p.id, message["message_id"], data)
                return
    raise LookupError("no Send button")


async def reach_preview(p: Person) -> None:
    """Take ``p`` to the preview of a short testimonial."""
    await p.reach_preview("Held words.", name="Ada", organisation="Analytical Engine Society")


async def test_settle_waits_for_a_handler_whose_answer_is_on_its_way(harness: Harness) -> None:
    h = harness
    ada = h.person("Ada")
    h.fake.hold("sendMessage", ada.id)
    h.fake.user_sends(ada.id, "/start")
    await h.fake.wait_held()
    assert "the update processor is running handlers" in h.busy()
    with pytest.raises(TimeoutError, match="running handlers"):
        await h.settle(timeout=NOT_IDLE_WITHIN)
    h.fake.release()
    await h.settle()
    assert h.busy() == []
    assert "name" in ada.texts()[-1]


async def test_settle_waits_for_a_card_on_its_way(harness: Harness) -> None:
    h = harness
    ada = h.person("Ada")
    await reach_preview(ada)
    h.fake.hold("sendMessage", GROUP_ID)
    press_send(h, ada)
    await h.fake.wait_held()
    await h.wait(lambda: "cards to send" in h.busy())
    with pytest.raises(TimeoutError, match="cards to send"):
        await h.settle(timeout=NOT_IDLE_WITHIN)
    h.fake.release()
    await h.settle()
    [testimonial] = await h.repo.list_for_user(ada.id)
    assert testimonial.status is Status.PENDING and testimonial.card_message_ids
    assert "Held words." in h.fake.last_message(GROUP_ID)["text"]


async def test_settle_waits_for_a_post_on_its_way(harness: Harness) -> None:
    h = harness
    ada = h.person("Ada")
    await reach_preview(ada)
    await ada.press("Send")
    [testimonial] = await h.repo.list_for_user(ada.id)
    h.fake.hold("sendMessage", CHANNEL_ID)
    card = testimonial.card_message_ids[0]
    h.fake.user_presses(ORGANISER_ID, GROUP_ID, card, f"mod:approve:{testimonial.id}")
    await h.fake.wait_held()
    assert "the publisher is working" in h.busy()
    with pytest.raises(TimeoutError, match="the publisher is working"):
        await h.settle(timeout=NOT_IDLE_WITHIN)
    h.fake.release()
    await h.settle()
    published = await h.repo.get(testimonial.id)
    assert published is not None and published.status is Status.PUBLISHED
    assert "Held words." in h.fake.last_message(CHANNEL_ID)["text"]
