"""Telegram stricter than the bot expects: 429 storms are waited out, nothing is lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.models import Status
from tests.moderation.test_moderation import card_of, submit, wait_status
from tests.support import (
    CHANNEL_ID,
    GROUP_ID,
    ORGANISER_ID,
    Harness,
    VirtualClock,
    make_fake,
    running_bot,
)


@pytest.fixture
async def strict(tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot believes 20 messages a second per group are fine; the fake allows 5. Both on
    a virtual clock: the ``retry_after`` seconds pass as soon as the bot only waits."""
    fake = make_fake(group_limit=5, group_window=1.0)
    async with running_bot(tmp_path, fake, clock=VirtualClock()) as h:
        yield h


async def test_429_storm_publishes_everything_once_in_order(strict: Harness) -> None:
    h = strict
    ids = []
    for i in range(15):
        p = h.person(f"P{i}", user_id=30_000 + i)
        ids.append(await submit(h, p, quote=f"Number {i}.", name=f"P{i}"))
    for tid in ids:
        await card_of(h, tid)
    for tid in ids:
        t = await h.repo.get(tid)
        assert t is not None
        h.fake.user_presses(ORGANISER_ID, GROUP_ID, t.card_message_ids[0], f"mod:approve:{tid}")
    await h.settle()
    for tid in ids:
        await wait_status(h, tid, Status.PUBLISHED)
    posts = [m["text"].split("\n")[0] for m in h.channel_messages()]
    assert posts == [f"P{i}" for i in range(15)]
    too_many = {str(r.params.get("chat_id")) for r in h.fake.requests if r.status == 429}
    # Cards and their edits in the group, posts in the channel: both were refused.
    assert too_many == {str(GROUP_ID), str(CHANNEL_ID)}, "no storm: the test proves nothing"
    others = [r for r in h.fake.requests if r.status not in (None, 200, 429)]
    assert others == []
    # Every card was edited once its post was out, despite the 429s.
    await h.wait(lambda: sum("Approved by" in m["text"] for m in h.group_messages()) == 15)
