"""Moderation at a busy event: per-chat waiting, order, cards that say what they are."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.models import Status
from tests.moderation.test_moderation import card_of, press, submit, wait_status
from tests.support import CHANNEL_ID, GROUP_ID, ORGANISER_ID, Harness, make_fake, make_settings


@pytest.fixture
async def slow_group(tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot believes 20 messages a second per group are fine; the fake allows 2 every
    30 s, so the third card is answered 429 with a long ``retry_after``."""
    fake = make_fake(group_limit=2, group_window=30.0)
    h = Harness(fake, make_settings(tmp_path / "livredor.db"))
    await h.start()

    async def updates_handled(timeout: float = 10.0) -> None:
        # The attendees' steps only: the card sender is meant to be waiting on the group.
        await h.wait(lambda: not [b for b in h._busy() if b != "cards to send"], timeout)
        await h.wait(lambda: not [b for b in h._busy() if b != "cards to send"], timeout)

    h.settle = updates_handled  # type: ignore[method-assign]
    try:
        yield h
    finally:
        await h.stop()
        await fake.aclose()


def group_429s(h: Harness) -> int:
    return sum(
        1
        for r in h.fake.requests
        if r.status == 429 and str(r.params.get("chat_id")) == str(GROUP_ID)
    )


async def test_rate_limited_group_does_not_hold_attendees(slow_group: Harness) -> None:
    h = slow_group
    ids = [await submit(h, h.person(f"P{i}", user_id=40_000 + i), name=f"P{i}") for i in range(3)]
    await h.wait(lambda: group_429s(h) >= 1)
    # The group is paused for ~30 s; attendees keep talking meanwhile, and every step of
    # their conversations is answered (each ``send`` waits for the bot to be idle, and would
    # time out after 10 s if the bot waited on the group).
    for i in range(3, 6):
        tid = await submit(h, h.person(f"Q{i}", user_id=40_000 + i), name=f"Q{i}")
        ids.append(tid)
    pending = await h.repo.list_by_status(Status.PENDING)
    assert [t.id for t in pending] == ids
    # Proof that the group was still waiting all along: the later cards are not out yet.
    unsent = [t.id for t in pending if not t.card_message_ids]
    assert unsent == ids[2:]


async def test_channel_refusal_then_retry_keeps_approval_order(harness: Harness) -> None:
    h = harness
    h.fake.set_bot_rights(CHANNEL_ID, member=True, admin=False)
    ids = [await submit(h, h.person(f"R{i}", user_id=41_000 + i), name=f"R{i}") for i in range(6)]
    for tid in ids:
        t = await card_of(h, tid)
        h.fake.user_presses(ORGANISER_ID, GROUP_ID, t.card_message_ids[0], f"mod:approve:{tid}")
    await h.settle()
    alert = await h.wait(
        lambda: next((m for m in h.group_messages() if "could not post" in m["text"]), None)
    )
    h.fake.set_bot_rights(CHANNEL_ID, member=True, admin=True, can_post_messages=True)
    refused = int(alert["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split(":")[2])
    assert refused == ids[0]
    await press(h, ORGANISER_ID, alert["message_id"], f"mod:retry:{refused}")
    for tid in ids:
        await wait_status(h, tid, Status.PUBLISHED)
    posts = [m["text"].split("\n")[0] for m in h.channel_messages()]
    assert posts == [f"R{i}" for i in range(6)]


async def test_the_part_with_the_buttons_names_the_testimonial(harness: Harness) -> None:
    h = harness
    p = h.person("Ada", username="ada")
    quote = "\n\n".join(f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 30 for i in range(6))
    tid = await submit(h, p, quote=quote)
    t = await card_of(h, tid)
    assert len(t.card_message_ids) >= 2
    last = h.fake.message(GROUP_ID, t.card_message_ids[-1])
    assert last["reply_markup"] is not None
    assert last["text"].startswith(f"📝 Testimonial #{tid} from Ada Lovelace (@ada) (continued)")
