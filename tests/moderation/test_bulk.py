"""/review's "Approve all" on a list of short testimonials, with Undo (issue 26 item 3).

The undo window runs on a fake clock (``BulkDesk.clock``): a test moves it and pokes the
worker, never sleeps."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from storage.models import Status, utcnow
from tests.moderation.test_moderation import card_of, make_admin, press, submit
from tests.portrait.images import phone_photo
from tests.support import GROUP_ID, ORGANISER_ID, Harness, Person, running_bot

JSON = dict[str, Any]


class Clock:
    """The bot's undo windows' clock, moved by the test."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.now = utcnow()
        h.services.bulk.clock = lambda: self.now

    async def forward(self, seconds: float) -> None:
        """Move on and let the worker look (it commits what is due), then wait until idle."""
        self.now += timedelta(seconds=seconds)
        self.h.services.bulk.poke()
        await self.h.settle()


async def submit_short(h: Harness, count: int) -> list[int]:
    ids = []
    for i in range(count):
        quote = f"Short and sweet number {i}, a day to remember."
        ids.append(await submit(h, h.person(f"P{i}"), quote=quote, name=f"Person {i}"))
    return ids


async def tap(h: Harness, message_id: int, data: str, user_id: int = ORGANISER_ID) -> JSON:
    query_id = h.fake.user_presses(user_id, user_id, message_id, data)
    await h.settle()
    return h.fake.callback_answers[query_id]


def data_of(h: Harness, message_id: int, prefix: str, user_id: int = ORGANISER_ID) -> str:
    """The callback data of the message's button that starts with ``prefix``."""
    [data] = [d for _, d in h.fake.buttons(user_id, message_id) if (d or "").startswith(prefix)]
    assert data is not None
    return data


async def open_list(h: Harness, user_id: int = ORGANISER_ID) -> JSON:
    """/review, then "Short ones": return the message that shows the list."""
    [message] = await Person(h, user_id).send("/review")
    data = data_of(h, message["message_id"], "rev:list:", user_id)
    await tap(h, message["message_id"], data, user_id)
    return h.fake.message(user_id, message["message_id"])


def listed(message: JSON) -> list[int]:
    return [int(n) for n in re.findall(r"#(\d+) ", message["text"])]


async def test_a_bulk_approval_of_ten_then_undo_changes_nothing(harness: Harness) -> None:
    h = harness
    ids = await submit_short(h, 11)
    clock = Clock(h)
    shown = await open_list(h)
    # Ten at most, the oldest first, each whole: the organiser approves what they read.
    assert listed(shown) == ids[:10]
    for i in range(10):
        assert f"Short and sweet number {i}, a day to remember." in shown["text"]
        assert f"Person {i}" in shown["text"]
    assert "number 10," not in shown["text"]
    labels = [label for label, _ in h.fake.buttons(ORGANISER_ID, shown["message_id"])]
    assert labels == ["✅ Approve all 10 shown", "↩️ One at a time"]

    mid = shown["message_id"]
    bulk = data_of(h, mid, "rev:bulk:")
    # A double press counts once: both queued before the bot reads either.
    first = h.fake.user_presses(ORGANISER_ID, ORGANISER_ID, mid, bulk)
    second = h.fake.user_presses(ORGANISER_ID, ORGANISER_ID, mid, bulk)
    await h.settle()
    answers = [h.fake.callback_answers[q]["text"] for q in (first, second)]
    assert answers[0].startswith("Approved: posted in 10 s")
    assert answers[1].startswith("Already done")
    waiting = h.fake.message(ORGANISER_ID, mid)
    assert "10 testimonials approved by you" in waiting["text"]
    assert "Short and sweet" not in waiting["text"]  # only their numbers now
    assert [label for label, _ in h.fake.buttons(ORGANISER_ID, mid)] == ["↩️ Undo (10 s)"]

    # Inside the window nothing is decided, nothing is posted.
    await clock.forward(9)
    assert h.channel_messages() == []
    for tid in ids:
        t = await h.repo.get(tid)
        assert t is not None and t.status is Status.PENDING

    answer = await tap(h, mid, data_of(h, mid, "rev:undo:"))
    assert answer["text"] == "Undone: nothing was approved."
    # The list is back on the same message, to decide otherwise.
    again = h.fake.message(ORGANISER_ID, mid)
    assert listed(again) == ids[:10] and "Approve all 10 shown" in str(again["reply_markup"])
    # Long after the window: still nothing approved, nothing posted.
    await clock.forward(60)
    assert h.channel_messages() == []
    assert [(await h.repo.get(t)).status for t in ids] == [Status.PENDING] * 11  # type: ignore[union-attr]


async def test_a_bulk_approval_let_through_is_posted_in_the_order_approved(
    harness: Harness,
) -> None:
    h = harness
    ids = await submit_short(h, 4)
    long_one = await submit(h, h.person("Long"), quote="A long one. " * 60, name="Longue")
    clock = Clock(h)
    shown = await open_list(h)
    assert listed(shown) == ids
    mid = shown["message_id"]
    await tap(h, mid, data_of(h, mid, "rev:bulk:"))
    # Another testimonial approved on its card during the window goes first: the list's
    # approvals are made when the window closes.
    card = await card_of(h, long_one)
    await press(h, ORGANISER_ID, card.card_message_ids[-1], f"mod:approve:{long_one}")
    await h.settle()
    assert len(h.channel_messages()) == 1
    await clock.forward(10)
    posts = h.channel_messages()
    assert len(posts) == 5
    assert "Longue" in posts[0]["text"]
    assert [int(re.search(r"number (\d+)", p["text"]).group(1)) for p in posts[1:]] == [0, 1, 2, 3]  # type: ignore[union-attr]
    rows = [await h.repo.get(t) for t in ids]
    assert all(r is not None and r.status is Status.PUBLISHED for r in rows)
    assert all(r is not None and r.decided_by == ORGANISER_ID for r in rows)
    seqs = [r.approved_seq or 0 for r in rows if r is not None]
    assert seqs == sorted(seqs)
    done = h.fake.message(ORGANISER_ID, mid)
    assert done["text"].startswith("✅ 4 testimonials approved by you")
    # Too late to undo: the button is gone, a forged press is refused.
    assert [label for label, _ in h.fake.buttons(ORGANISER_ID, mid)] == ["▶️ Carry on reviewing"]
    list_id = data_of(h, mid, "rev:next:")  # the message is still the list's
    assert list_id == "rev:next:0"
    [undo_data] = re.findall(r"rev:undo:\d+", str(h.fake.calls("editMessageText")))[-1:]
    query = h.fake.user_presses(ORGANISER_ID, ORGANISER_ID, mid, undo_data, forge=True)
    await h.settle()
    assert h.fake.callback_answers[query]["text"].startswith("Too late")
    # Carry on: the same message goes back to one at a time.
    await tap(h, mid, "rev:next:0")
    assert h.fake.message(ORGANISER_ID, mid)["text"].startswith("✅ All caught up")


async def test_what_changed_since_it_was_read_is_left_out(harness: Harness) -> None:
    h = harness
    ids = await submit_short(h, 3)
    clock = Clock(h)
    shown = await open_list(h)
    mid = shown["message_id"]
    # Rejected on its card, then another corrected, after the list was put on screen.
    card = await card_of(h, ids[0])
    await press(h, ORGANISER_ID, card.card_message_ids[-1], f"mod:reject:{ids[0]}")
    await press(h, ORGANISER_ID, card.card_message_ids[-1], f"mod:reason:{ids[0]}:0")
    await h.repo.edit_pending(ids[1], "quote", "Other words than those read.")
    await tap(h, mid, data_of(h, mid, "rev:bulk:"))
    waiting = h.fake.message(ORGANISER_ID, mid)
    assert f"1 testimonial approved by you: #{ids[2]}" in waiting["text"]
    assert f"#{ids[0]}, #{ids[1]}" in waiting["text"]  # left out
    await clock.forward(10)
    assert [(await h.repo.get(t)).status for t in ids] == [  # type: ignore[union-attr]
        Status.REJECTED,
        Status.PENDING,
        Status.PUBLISHED,
    ]


async def test_only_an_organiser_at_the_moment_of_pressing(harness: Harness) -> None:
    h = harness
    make_admin(h, "Bruno", 501)
    ids = await submit_short(h, 2)
    Clock(h)
    shown = await open_list(h, 501)
    mid = shown["message_id"]
    h.fake.set_member(GROUP_ID, 501, "member")
    await h.settle()
    answer = await tap(h, mid, data_of(h, mid, "rev:bulk:", 501), 501)
    assert answer["show_alert"] and "Only organisers" in answer["text"]
    assert await h.repo.next_bulk_press() is None
    assert [(await h.repo.get(t)).status for t in ids] == [Status.PENDING] * 2  # type: ignore[union-attr]


async def test_a_withdrawn_testimonial_erases_the_list_that_shows_it(harness: Harness) -> None:
    h = harness
    ids = await submit_short(h, 2)
    shown = await open_list(h)
    author = await h.repo.get(ids[1])
    assert author is not None and author.user_id is not None
    list_id = int(data_of(h, shown["message_id"], "rev:bulk:").rsplit(":", 1)[1])
    await Person(h, author.user_id).send("/forget")
    await Person(h, author.user_id).press("Yes, erase everything")
    erased = h.fake.message(ORGANISER_ID, shown["message_id"])
    assert "Short and sweet" not in erased["text"] and "withdrawn by its author" in erased["text"]
    assert h.fake.buttons(ORGANISER_ID, shown["message_id"]) == []
    # Nothing derived from the forgotten words stays in the database either.
    kept = await h.repo.get_bulk_list(list_id)
    assert kept is not None and kept.state == "closed"
    assert [bool(i.digest) for i in kept.items] == [True, False]


async def test_undo_still_works_after_a_restart_in_the_window(harness: Harness) -> None:
    # The list waits in the database, not in memory (a kill -9 in the window and the
    # list's commit afterwards: tests/e2e/test_bulk_crash.py).
    h = harness
    ids = await submit_short(h, 2)
    Clock(h)
    shown = await open_list(h)
    mid = shown["message_id"]
    await tap(h, mid, data_of(h, mid, "rev:bulk:"))
    undo = data_of(h, mid, "rev:undo:")
    await h.restart()
    clock = Clock(h)
    answer = await tap(h, mid, undo)
    assert answer["text"] == "Undone: nothing was approved."
    await clock.forward(60)
    assert h.channel_messages() == []
    assert [(await h.repo.get(t)).status for t in ids] == [Status.PENDING] * 2  # type: ignore[union-attr]


async def test_with_two_approvals_needed_a_bulk_press_is_one_approval_each(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, approvals=2) as h:
        make_admin(h, "Bruno", 501)
        ids = await submit_short(h, 2)
        clock = Clock(h)
        olga = await open_list(h)
        await tap(h, olga["message_id"], data_of(h, olga["message_id"], "rev:bulk:"))
        await clock.forward(10)
        counted = h.fake.message(ORGANISER_ID, olga["message_id"])["text"]
        assert counted.startswith("Your approvals counted, other organisers' are still needed")
        rows = [await h.repo.get(t) for t in ids]
        assert [len(r.approvals) for r in rows if r is not None] == [1, 1]
        assert all(r is not None and r.status is Status.PENDING for r in rows)
        assert h.channel_messages() == []
        # Olga's /review no longer offers them; Bruno's second approval publishes them.
        [nothing] = await Person(h, ORGANISER_ID).send("/review")
        assert nothing["text"].startswith("✅ All caught up")
        bruno = await open_list(h, 501)
        assert listed(bruno) == ids
        await tap(h, bruno["message_id"], data_of(h, bruno["message_id"], "rev:bulk:", 501), 501)
        await clock.forward(10)
        posts = h.channel_messages()
        assert [int(re.search(r"number (\d+)", p["text"]).group(1)) for p in posts] == [0, 1]  # type: ignore[union-attr]


async def test_a_testimonial_with_a_photo_is_never_approved_unseen_in_a_list(
    harness: Harness,
) -> None:
    """A list shows words only: a testimonial with a photo is left to its card or /review,
    where the photo is shown before anyone approves it."""
    h = harness
    ids = await submit_short(h, 2)
    p = h.person("Face")
    await p.reach_preview("Short and sweet, with a face.", photo=phone_photo())
    await p.press("Send")
    await h.settle()
    shown = await open_list(h)
    assert listed(shown) == ids
