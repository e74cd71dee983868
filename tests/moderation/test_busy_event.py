"""Moderation at a busy event: per-chat waiting, order, cards that say what they are."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.models import Status
from tests.moderation.test_moderation import answer_prompt, card_of, press, submit, wait_status
from tests.support import (
    CHANNEL_ID,
    GROUP_ID,
    JSON,
    ORGANISER_ID,
    Harness,
    VirtualClock,
    make_fake,
    running_bot,
)


def updates_only(h: Harness) -> None:
    """Make ``h.settle`` wait for the updates only (attendees' steps, presses, commands):
    the card sender is meant to be busy, or waiting on the group, meanwhile."""
    h.updates_only = True


@pytest.fixture
async def slow_group(tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot believes 20 messages a second per group are fine; the fake allows 2 every
    30 s, so the third card is answered 429 with a long ``retry_after``."""
    async with running_bot(tmp_path, make_fake(group_limit=2, group_window=30.0)) as h:
        updates_only(h)
        yield h


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


async def test_pending_answers_at_once_and_an_approve_right_after_too(
    virtual_harness: Harness,
) -> None:
    h = virtual_harness  # 30 cards at 20 a second: the group's waits on a virtual clock
    assert isinstance(h.clock, VirtualClock)
    ids = [await submit(h, h.person(f"W{i}", user_id=42_000 + i), name=f"W{i}") for i in range(30)]
    last = await card_of(h, ids[-1])
    updates_only(h)
    h.fake.user_sends(ORGANISER_ID, "/pending", chat_id=GROUP_ID)
    header = await h.fake.wait_for(
        lambda: next((m for m in h.group_messages() if m["text"].startswith("Re-posting")), None),
        what="the answer to /pending",
    )
    # Now the group allows 20 messages per 30 s, and the 30 s do not pass: the re-posted
    # cards wait.
    h.fake.flood.group_window = 30.0
    h.clock.stand_still()
    assert header is not None
    assert header["text"].startswith("Re-posting the 30 testimonials waiting for review")
    assert "about 1 min" in header["text"]
    query = h.fake.user_presses(
        ORGANISER_ID, GROUP_ID, last.card_message_ids[-1], f"mod:approve:{ids[-1]}"
    )
    await h.settle()
    assert h.fake.callback_answers[query]["text"].startswith("Approved")
    await wait_status(h, ids[-1], Status.PUBLISHED)
    # The answer came while the cards were still being re-posted (the group is waiting).
    assert not h.services.desk.idle()  # type: ignore[union-attr]


async def test_card_sender_backs_off_keeps_order_and_resumes_a_long_card(
    virtual_harness: Harness,
) -> None:
    h = virtual_harness  # the back-offs waited on a virtual clock
    updates_only(h)
    # The second part of the long card fails twice (a server error), then goes through.
    h.fake.fail("sendMessage", GROUP_ID, code=502, description="Bad Gateway", times=2, after=1)
    quote = "\n\n".join(f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 30 for i in range(6))
    long_id = await submit(h, h.person("Long", user_id=43_000), quote=quote, name="Long")
    short_id = await submit(h, h.person("Short", user_id=43_001), name="Short")
    await h.wait(lambda: h.services.desk.idle(), timeout=20)  # type: ignore[union-attr]
    long_t, short_t = await h.repo.get(long_id), await h.repo.get(short_id)
    assert long_t is not None and short_t is not None
    assert long_t.card_done and short_t.card_done and len(long_t.card_message_ids) >= 2
    failed = [r for r in h.fake.requests if r.method == "sendMessage" and r.status == 502]
    assert len(failed) == 2
    # Each part once (the first was not sent again), the short card after the long one.
    group = [m["message_id"] for m in h.group_messages()]
    assert group == [*long_t.card_message_ids, *short_t.card_message_ids]
    first = h.fake.message(GROUP_ID, long_t.card_message_ids[0])["text"]
    assert first.startswith(f"📝 Testimonial #{long_id}") and "(1/" in first


async def test_half_sent_card_is_resumed_after_a_restart(virtual_harness: Harness) -> None:
    h = virtual_harness  # the back-offs waited on a virtual clock
    updates_only(h)
    h.fake.fail("sendMessage", GROUP_ID, code=403, description="Forbidden: no", times=9, after=1)
    quote = "\n\n".join(f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 30 for i in range(6))
    tid = await submit(h, h.person("Long", user_id=44_000), quote=quote, name="Long")
    # Refused three times: the job is dropped, the half card stays recorded.
    await h.wait(lambda: h.services.desk.idle(), timeout=20)  # type: ignore[union-attr]
    half = await h.repo.get(tid)
    assert half is not None and len(half.card_message_ids) == 1 and not half.card_done
    h.fake.clear_failures()
    await h.restart()
    whole = await h.wait_async(lambda: h.repo.get(tid), lambda t: t.card_done, timeout=10)
    assert whole.card_message_ids[0] == half.card_message_ids[0]
    assert [m["message_id"] for m in h.group_messages()] == list(whole.card_message_ids)


async def test_french_author_reads_a_ready_made_reason_in_french(harness: Harness) -> None:
    h = harness
    p = h.person("Amélie", user_id=45_000)
    tid = await submit(h, p, name="Amélie")
    await h.repo.set_language(p.id, "fr")  # she chose French with /language
    t = await card_of(h, tid)
    await press(h, ORGANISER_ID, t.card_message_ids[0], f"mod:reject:{tid}")
    await press(h, ORGANISER_ID, t.card_message_ids[0], f"mod:reason:{tid}:0")
    told = await h.wait(lambda: next((m for m in p.texts() if "n’a pas été publié" in m), None))
    assert told.endswith("Motif des organisateurs\u00a0: Hors sujet")
    # The organisers' card and the stored reason stay in the organisers' language.
    rejected = await wait_status(h, tid, Status.REJECTED)
    assert rejected.reject_reason == "Off-topic" and rejected.reject_reason_key == "off_topic"
    await h.settle()
    assert "Off-topic" in h.fake.message(GROUP_ID, t.card_message_ids[0])["text"]
    # /mine, in French, gives the reason in French too.
    mine = await p.send("/mine")
    assert "Hors sujet" in mine[0]["text"]


async def test_typed_reason_reaches_a_french_author_as_typed(harness: Harness) -> None:
    h = harness
    p = h.person("Amélie", user_id=45_001)
    tid = await submit(h, p, name="Amélie")
    await h.repo.set_language(p.id, "fr")
    t = await card_of(h, tid)
    await press(h, ORGANISER_ID, t.card_message_ids[0], f"mod:reject:{tid}")
    await press(h, ORGANISER_ID, t.card_message_ids[0], f"mod:other:{tid}")
    # The reason is a reply to the bot's prompt (ForceReply).
    await answer_prompt(h, "Merci de ne pas citer de clients")
    told = await h.wait(lambda: next((m for m in p.texts() if "n’a pas été publié" in m), None))
    assert told.endswith("Motif des organisateurs\u00a0: Merci de ne pas citer de clients")


@pytest.fixture
async def impatient(tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot, waiting 1 s instead of 5 for an answer before taking a call as lost, on a
    virtual clock: the second passes as soon as the bot has nothing else to do."""
    async with running_bot(tmp_path, read_timeout=1.0, clock=VirtualClock()) as h:
        yield h


async def long_post_timing_out_after_its_first_part(h: Harness) -> tuple[int, JSON]:
    """Approve a long testimonial whose second channel part is lost on the way (the bot
    times out on it); return its id and the organisers' half-posted alert."""
    h.fake.hold("sendMessage", CHANNEL_ID, after=1, effect=False)
    quote = "\n\n".join(f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 30 for i in range(6))
    tid = await submit(h, h.person("Long", user_id=46_000), quote=quote, name="Long")
    t = await card_of(h, tid)
    await press(h, ORGANISER_ID, t.card_message_ids[-1], f"mod:approve:{tid}")
    alert = await h.wait(
        lambda: next((m for m in h.group_messages() if "half-posted" in m["text"]), None),
        timeout=20,
    )
    h.fake.release()
    return tid, alert


async def test_post_again_resumes_a_long_post_from_its_first_missing_part(
    impatient: Harness,
) -> None:
    h = impatient
    tid, alert = await long_post_timing_out_after_its_first_part(h)
    half = await h.repo.get(tid)
    assert half is not None and half.status is Status.PUBLISHING
    [first] = [m["message_id"] for m in h.channel_messages()]
    assert half.channel_message_ids == (first,)
    await press(h, ORGANISER_ID, alert["message_id"], f"mod:republish:{tid}")
    done = await wait_status(h, tid, Status.PUBLISHED)
    posts = h.channel_messages()
    assert done.channel_message_ids[0] == first and len(posts) == len(done.channel_message_ids)
    assert [m["message_id"] for m in posts] == list(done.channel_message_ids)
    assert posts[0]["text"].endswith(f"(1/{len(posts)})")


async def test_mark_as_posted_keeps_the_confirmed_parts_for_unpublish(
    impatient: Harness,
) -> None:
    h = impatient
    tid, alert = await long_post_timing_out_after_its_first_part(h)
    await press(h, ORGANISER_ID, alert["message_id"], f"mod:markpub:{tid}")
    marked = await wait_status(h, tid, Status.PUBLISHED)
    [first] = [m["message_id"] for m in h.channel_messages()]
    assert marked.channel_message_ids == (first,)
    await h.settle()
    card = (await h.repo.get(tid)).card_message_ids  # type: ignore[union-attr]
    await press(h, ORGANISER_ID, card[-1], f"mod:unpublish:{tid}")
    await press(h, ORGANISER_ID, card[-1], f"mod:unpublish_yes:{tid}")
    await h.wait(lambda: h.channel_messages() == [])


async def test_private_channel_links_say_they_open_for_members_only(tmp_path: Path) -> None:
    fake = make_fake()
    fake.add_channel(CHANNEL_ID, "Livre d'or")  # the same channel, now without a username
    async with running_bot(tmp_path, fake) as h:
        p = h.person("Ada")
        tid = await submit(h, p)
        t = await card_of(h, tid)
        await press(h, ORGANISER_ID, t.card_message_ids[0], f"mod:approve:{tid}")
        done = await wait_status(h, tid, Status.PUBLISHED)
        link = f"https://t.me/c/1000000002/{done.channel_message_ids[0]}"
        told = await h.wait(lambda: next((m for m in p.texts() if link in m), None))
        assert "private" in told and "members only" in told


LONG_QUOTE = "\n\n".join(f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 30 for i in range(6))


async def test_a_decision_edits_only_the_part_that_changes(harness: Harness) -> None:
    """Issue 22, item 9: Approve on a card in several parts edits its last part (outcome
    line, buttons), not the others to the same text (a 400 "not modified" and a call lost
    from the group's 20 a minute); an organiser's correction rewrites every part."""
    h = harness
    tid = await submit(h, h.person("Long", user_id=46_000), quote=LONG_QUOTE, name="Long")
    t = await card_of(h, tid)
    assert len(t.card_message_ids) == 2
    await press(h, ORGANISER_ID, t.card_message_ids[-1], f"mod:reject:{tid}")
    await press(h, ORGANISER_ID, t.card_message_ids[-1], f"mod:reason:{tid}:0")
    await wait_status(h, tid, Status.REJECTED)
    await h.settle()
    edits = [c for c in h.fake.calls("editMessageText") if c.params.get("chat_id") == GROUP_ID]
    assert [c.params["message_id"] for c in edits] == [t.card_message_ids[-1]]
    assert all(c.response is not None and c.response.get("ok") for c in edits)
    assert "Off-topic" in h.fake.message(GROUP_ID, t.card_message_ids[-1])["text"]


async def test_a_card_copy_the_bot_could_not_record_has_dead_buttons(harness: Harness) -> None:
    """Issue 22, item 8: the bot stops while Telegram holds the answer to the card's last
    part (the part went out, its id was never recorded). After the restart the card is
    finished again, and only the recorded card's buttons act: a press on the copy changes
    nothing, says so, and takes the copy away."""
    h = harness
    updates_only(h)
    h.fake.hold("sendMessage", GROUP_ID, after=1)  # part 1 answered, part 2 out but held
    tid = await submit(h, h.person("Long", user_id=46_001), quote=LONG_QUOTE, name="Long")
    await h.fake.wait_held(timeout=10)
    await h.restart()
    h.fake.release()
    whole = await h.wait_async(lambda: h.repo.get(tid), lambda t: t.card_done, timeout=10)
    with_buttons = [
        m["message_id"] for m in h.group_messages() if h.fake.buttons(GROUP_ID, m["message_id"])
    ]
    assert len(with_buttons) == 2  # the copy Telegram sent, and the recorded last part
    [copy] = [m for m in with_buttons if m not in whole.card_message_ids]
    answer = await press(h, ORGANISER_ID, copy, f"mod:approve:{tid}")
    assert answer["show_alert"] and "out of date" in answer["text"]
    await h.settle()
    still = await h.repo.get(tid)
    assert still is not None and still.status is Status.PENDING
    assert copy not in [m["message_id"] for m in h.group_messages()]
    answer = await press(h, ORGANISER_ID, whole.card_message_ids[-1], f"mod:approve:{tid}")
    assert "Approved" in answer["text"]
    await wait_status(h, tid, Status.PUBLISHED)
