"""/review in organisers' private chats, the claim, the group's summary and reminder."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.handlers import review
from bot.services.render import TELEGRAM_LIMIT, plain_length
from storage.models import Status, utcnow
from tests.moderation.test_moderation import (
    answer_prompt,
    card_of,
    make_admin,
    press,
    submit,
    wait_status,
)
from tests.support import GROUP_ID, ORGANISER_ID, Harness, Person, running_bot

JSON = dict[str, Any]
BRUNO = 501


@pytest.fixture
async def scaled(tmp_path: Path) -> AsyncIterator[Harness]:
    """A bot whose group gets a summary instead of cards past 2 waiting testimonials."""
    async with running_bot(tmp_path, review_backlog=2) as h:
        assert h.services.backlog is not None
        h.services.backlog.summary_seconds = 0.0
        yield h


def shown(h: Harness, user_id: int, message_id: int | None = None) -> int | None:
    """Return the testimonial a /review message shows (from its buttons), None if none."""
    for _, data in h.fake.buttons(user_id, message_id):
        match = re.match(r"rev:approve:(\d+)$", data or "")
        if match:
            return int(match.group(1))
    return None


def review_message(h: Harness, user_id: int) -> JSON:
    [message] = h.fake.messages(user_id)
    return message


async def tap(h: Harness, user_id: int, message_id: int, data: str) -> JSON:
    """Press a button in an organiser's private chat; return the callback answer."""
    query_id = h.fake.user_presses(user_id, user_id, message_id, data)
    await h.settle()
    return h.fake.callback_answers[query_id]


async def submit_many(h: Harness, count: int) -> list[int]:
    return [await submit(h, h.person(f"P{i}"), quote=f"Quote number {i}.") for i in range(count)]


async def test_review_shows_the_oldest_and_one_tap_edits_the_same_message(
    harness: Harness,
) -> None:
    first, second = await submit_many(harness, 2)
    olga = Person(harness, ORGANISER_ID)
    await olga.send("/review")
    message = review_message(harness, ORGANISER_ID)
    assert shown(harness, ORGANISER_ID) == first
    assert "2 waiting" in message["text"] and f"Testimonial #{first}" in message["text"]
    assert "Quote number 0." in message["text"]
    labels = [label for label, _ in harness.fake.buttons(ORGANISER_ID)]
    assert labels == [
        "✅ Approve",
        "❌ Off-topic",
        "❌ Offensive or inappropriate",
        "❌ Duplicate",
        "❌ Personal information",
        # Two short ones wait: they can be approved from one list (tests/moderation/test_bulk.py).
        "📋 Short ones: approve several at once",
        "⏭ Skip",
        "⏹ Stop",
    ]

    answer = await tap(harness, ORGANISER_ID, message["message_id"], f"rev:approve:{first}")
    assert answer["text"].startswith("Approved")
    await wait_status(harness, first, Status.PUBLISHED)
    # The same message now shows the next one: one edit, no new message.
    edited = review_message(harness, ORGANISER_ID)
    assert edited["message_id"] == message["message_id"] and edited["edit_count"] == 1
    assert shown(harness, ORGANISER_ID) == second and "1 waiting" in edited["text"]

    # A ready-made reason: the same decision path as the card (the author is told).
    answer = await tap(harness, ORGANISER_ID, message["message_id"], f"rev:reason:{second}:2")
    assert answer["text"].startswith("Rejected")
    rejected = await wait_status(harness, second, Status.REJECTED)
    assert rejected.reject_reason_key == "duplicate" and rejected.decided_by == ORGANISER_ID
    done = review_message(harness, ORGANISER_ID)
    assert done["text"].startswith("✅ All caught up") and "/review" in done["text"]
    assert harness.fake.buttons(ORGANISER_ID) == []
    # The cards in the group were brought up to date through the card queue.
    await harness.wait(lambda: sum("by Olga" in m["text"] for m in harness.group_messages()) == 2)


async def test_two_organisers_get_different_testimonials_and_a_claim_lapses(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_admin(harness, "Bruno", BRUNO)
    make_admin(harness, "Carla", 502)
    first, second = await submit_many(harness, 2)
    # Both at once: the claim is one SQL statement, so they cannot get the same one.
    harness.fake.user_sends(ORGANISER_ID, "/review")
    harness.fake.user_sends(BRUNO, "/review")
    await harness.settle()
    got = {shown(harness, ORGANISER_ID), shown(harness, BRUNO)}
    assert got == {first, second}
    carla = Person(harness, 502)
    [caught_up] = await carla.send("/review")
    assert caught_up["text"].startswith("✅ All caught up")

    # Olga and Bruno walk away: after the claim's lifetime Carla gets the oldest.
    later = utcnow() + review.CLAIM_LIFETIME + timedelta(seconds=1)
    monkeypatch.setattr(review, "utcnow", lambda: later)
    await carla.send("/review")
    assert shown(harness, 502) == first


async def test_skip_puts_it_last_and_stop_releases_it(harness: Harness) -> None:
    make_admin(harness, "Bruno", BRUNO)
    first, second = await submit_many(harness, 2)
    olga = Person(harness, ORGANISER_ID)
    await olga.send("/review")
    message_id = review_message(harness, ORGANISER_ID)["message_id"]
    answer = await tap(harness, ORGANISER_ID, message_id, f"rev:skip:{first}")
    assert answer["text"].startswith("Skipped")
    assert shown(harness, ORGANISER_ID) == second
    # Skipped everything: back to the first skipped.
    await tap(harness, ORGANISER_ID, message_id, f"rev:skip:{second}")
    assert shown(harness, ORGANISER_ID) == first
    await tap(harness, ORGANISER_ID, message_id, f"rev:stop:{first}")
    stopped = review_message(harness, ORGANISER_ID)
    assert stopped["text"].startswith("⏹ Stopped. 2 waiting") and "/review" in stopped["text"]
    assert harness.fake.buttons(ORGANISER_ID) == []
    # Released: Bruno gets the oldest at once.
    await Person(harness, BRUNO).send("/review")
    assert shown(harness, BRUNO) == first
    t = await harness.repo.get(first)
    assert t is not None and t.status is Status.PENDING


async def test_only_organisers_review_and_a_demoted_one_cannot_decide(harness: Harness) -> None:
    make_admin(harness, "Bruno", BRUNO)
    [tid] = await submit_many(harness, 1)
    attendee = harness.person("Eve")
    [refused] = await attendee.send("/review")
    assert "Only the event's organisers" in refused["text"]
    assert harness.fake.buttons(attendee.id) == []

    # An attendee in the middle of a testimonial, in French: told in French, then asked again.
    writer = harness.person("Jeanne", language_code="fr")
    await writer.send("/start")
    await writer.send("Jeanne")
    replies = await writer.send("/review")
    assert "Seuls les organisateurs" in replies[0]["text"]
    assert "organisation" in replies[-1]["text"].lower()
    assert all("rev:" not in (d or "") for _, d in harness.fake.buttons(writer.id))

    await Person(harness, BRUNO).send("/review")
    message_id = review_message(harness, BRUNO)["message_id"]
    assert shown(harness, BRUNO) == tid
    harness.fake.set_member(GROUP_ID, BRUNO, "member")  # demoted while the message is open
    await harness.settle()
    answer = await tap(harness, BRUNO, message_id, f"rev:approve:{tid}")
    assert answer["text"] == "Only organisers can do this." and answer["show_alert"]
    t = await wait_status(harness, tid, Status.PENDING)
    assert t.decided_by is None and harness.channel_messages() == []
    # Its claim went with the refusal: Olga gets it at once.
    await Person(harness, ORGANISER_ID).send("/review")
    assert shown(harness, ORGANISER_ID) == tid


async def test_decided_on_the_card_meanwhile_says_so_and_changes_nothing(
    harness: Harness,
) -> None:
    make_admin(harness, "Bruno", BRUNO)
    first, second = await submit_many(harness, 2)
    await Person(harness, ORGANISER_ID).send("/review")
    message_id = review_message(harness, ORGANISER_ID)["message_id"]
    assert shown(harness, ORGANISER_ID) == first
    card = await card_of(harness, first)
    await press(harness, BRUNO, card.card_message_ids[0], f"mod:approve:{first}")
    await wait_status(harness, first, Status.PUBLISHED)
    notices = len(harness.fake.messages(card.user_id or 0))

    answer = await tap(harness, ORGANISER_ID, message_id, f"rev:reason:{first}:0")
    assert answer["text"] == "Already approved by Bruno."
    t = await wait_status(harness, first, Status.PUBLISHED)
    assert t.reject_reason is None and t.decided_by == BRUNO
    assert len(harness.fake.messages(card.user_id or 0)) == notices  # no rejection notice
    assert shown(harness, ORGANISER_ID) == second  # moved on to the next one

    # A double tap: one decision, the second press is told and harmless.
    q1 = harness.fake.user_presses(ORGANISER_ID, ORGANISER_ID, message_id, f"rev:approve:{second}")
    q2 = harness.fake.user_presses(ORGANISER_ID, ORGANISER_ID, message_id, f"rev:approve:{second}")
    await harness.settle()
    answers = [harness.fake.callback_answers[q]["text"] for q in (q1, q2)]
    assert answers[0].startswith("Approved") and answers[1] == "Already approved by Olga Organiser."
    await wait_status(harness, second, Status.PUBLISHED)
    assert len(harness.channel_messages()) == 2
    assert review_message(harness, ORGANISER_ID)["text"].startswith("✅ All caught up")


async def test_a_long_testimonial_is_shortened_and_read_all_shows_the_rest(
    harness: Harness,
) -> None:
    [tid] = await submit_many(harness, 1)
    words = " ".join(f"word{i}" for i in range(600))  # about 4,700 characters
    await harness.repo.edit_pending(tid, "quote", words)
    await Person(harness, ORGANISER_ID).send("/review")
    message = review_message(harness, ORGANISER_ID)
    assert "Too long for one message: part 1 of 2 shown" in message["text"]
    assert "📖 Read all" in [label for label, _ in harness.fake.buttons(ORGANISER_ID)]
    assert "word599" not in message["text"]
    # Tapped twice: the rest is sent once.
    for _ in range(2):
        harness.fake.user_presses(
            ORGANISER_ID, ORGANISER_ID, message["message_id"], f"rev:more:{tid}"
        )
    await harness.settle()
    first, rest = harness.fake.messages(ORGANISER_ID)
    assert first["message_id"] == message["message_id"]
    assert harness.fake.buttons(ORGANISER_ID, first["message_id"]) == []
    assert "word0 " in first["text"] and "word599" in rest["text"]
    assert f"Testimonial #{tid}" in rest["text"]  # the part with the buttons names it
    assert shown(harness, ORGANISER_ID, rest["message_id"]) == tid
    await tap(harness, ORGANISER_ID, rest["message_id"], f"rev:approve:{tid}")
    await wait_status(harness, tid, Status.PUBLISHED)


async def test_past_the_backlog_the_group_gets_one_summary_instead_of_cards(
    scaled: Harness,
) -> None:
    h = scaled
    backlog = h.services.backlog
    assert backlog is not None
    first, second, third, fourth = await submit_many(h, 4)
    await h.settle()
    cards = [m for m in h.group_messages() if "📝" in m["text"]]
    assert len(cards) == 2  # the first two; then the summary
    for tid in (third, fourth):
        t = await h.repo.get(tid)
        assert t is not None and t.card_message_ids == ()
    [summary] = [m for m in h.group_messages() if m["text"].startswith("🗂")]
    assert "4 testimonials are waiting" in summary["text"] and "/review" in summary["text"]
    assert len(h.group_messages()) == 3

    # Rate-limited: with a long pause between writes, a new submission edits nothing now.
    backlog.summary_seconds = 3600.0
    fifth = await submit(h, h.person("P5"), quote="Quote five.")
    await h.settle()
    assert "4 testimonials" in h.fake.message(GROUP_ID, summary["message_id"])["text"]
    assert len(h.group_messages()) == 3
    await backlog.update()  # once the pause is over
    again = h.fake.message(GROUP_ID, summary["message_id"])
    assert "5 testimonials" in again["text"] and len(h.group_messages()) == 3

    # Decided through /review: those without a card cost nothing in the group.
    olga = Person(h, ORGANISER_ID)
    await olga.send("/review")
    message_id = review_message(h, ORGANISER_ID)["message_id"]
    for tid in (first, second, third, fourth):
        assert shown(h, ORGANISER_ID) == tid
        await tap(h, ORGANISER_ID, message_id, f"rev:approve:{tid}")
    for tid in (first, second, third, fourth):
        await wait_status(h, tid, Status.PUBLISHED)
    await backlog.update()
    closed = h.fake.message(GROUP_ID, summary["message_id"])
    assert closed["text"].startswith("✅ 1 waiting") and "card here again" in closed["text"]
    # Two cards edited (approved), one summary: no message for the third and fourth.
    assert len(h.group_messages()) == 3
    # Below the threshold again: a new submission gets its card.
    sixth = await submit(h, h.person("P6"), quote="Quote six.")
    assert (await card_of(h, sixth)).card_message_ids
    assert (await h.repo.get(fifth)) is not None
    # /pending still re-posts the waiting ones, cards or not.
    h.fake.user_sends(ORGANISER_ID, "/pending", chat_id=GROUP_ID)
    await h.settle()
    assert (await card_of(h, fifth)).card_message_ids


async def test_the_reminder_fires_once_per_period(tmp_path: Path) -> None:
    async with running_bot(tmp_path, review_remind_minutes=10) as h:
        backlog = h.services.backlog
        assert backlog is not None
        await submit_many(h, 2)
        oldest = await h.repo.backlog()
        assert oldest[1] is not None
        start = oldest[1]
        before = len(h.group_messages())
        assert not await backlog.update(now=start + timedelta(minutes=9))
        assert await backlog.update(now=start + timedelta(minutes=11))
        [reminder] = h.group_messages()[before:]
        assert reminder["text"].startswith("⏰ 2 testimonials waiting for review")
        assert "the oldest for 11 min" in reminder["text"] and "/review" in reminder["text"]
        assert not await backlog.update(now=start + timedelta(minutes=20))
        assert await backlog.update(now=start + timedelta(minutes=22))
        assert len(h.group_messages()) == before + 2
        # Kept across a restart: not reminded again within the period.
        await h.restart()
        assert h.services.backlog is not None
        assert not await h.services.backlog.update(now=start + timedelta(minutes=25))
        await h.settle()
        assert len(h.group_messages()) == before + 2


async def test_no_reminder_when_off_or_nothing_waits(tmp_path: Path) -> None:
    async with running_bot(tmp_path, review_remind_minutes=0) as h:
        backlog = h.services.backlog
        assert backlog is not None
        await submit_many(h, 1)
        assert not await backlog.update(now=utcnow() + timedelta(days=1))
        h.settings.review_remind_minutes = 10
        [tid] = await h.repo.pending_ids()
        card = await card_of(h, tid)
        await press(h, ORGANISER_ID, card.card_message_ids[0], f"mod:approve:{tid}")
        await wait_status(h, tid, Status.PUBLISHED)
        assert not await backlog.update(now=utcnow() + timedelta(days=1))


async def test_a_full_last_part_with_a_long_typed_reason_stays_within_telegram_limit(
    harness: Harness,
) -> None:
    [tid] = await submit_many(harness, 1)
    # Two parts, the second full (the card's split budget is 3,600 characters).
    long_quote = ("x" * 3400) + "\n\n" + ("y " * 1790).strip()
    await harness.repo.edit_pending(tid, "quote", long_quote)
    desk = harness.services.desk
    assert desk is not None
    t = await harness.repo.get(tid)
    assert t is not None
    bare = desk.card_parts(t)
    assert len(bare) == 2 and plain_length(bare[-1]) > 3500
    reason = "r" * 500
    footer = f"❌ Rejected by Olga Organiser · 2026-11-30 12:00 UTC: {reason}"
    for part in desk.card_parts(t, footer):
        assert plain_length(part) <= TELEGRAM_LIMIT
    # Through the fake, which refuses a message over 4,096 characters: the card is redone.
    desk.refresh_later(tid)
    card = await card_of(harness, tid)
    await press(harness, ORGANISER_ID, card.card_message_ids[-1], f"mod:reject:{tid}")
    await press(harness, ORGANISER_ID, card.card_message_ids[-1], f"mod:other:{tid}")
    await answer_prompt(harness, reason)
    await wait_status(harness, tid, Status.REJECTED)
    rejected = await harness.wait(
        lambda: [m for m in harness.group_messages() if reason in m["text"]]
    )
    assert plain_length(rejected[-1]["html"]) <= TELEGRAM_LIMIT


async def test_help_names_review_for_organisers_and_the_group_points_to_it(
    harness: Harness,
) -> None:
    [olga_help] = await Person(harness, ORGANISER_ID).send("/help")
    assert "/review" in olga_help["text"]
    [attendee_help] = await harness.person("Eve").send("/help")
    assert "/review" not in attendee_help["text"]
    harness.fake.user_sends(ORGANISER_ID, "/review", chat_id=GROUP_ID)
    await harness.settle()
    [hint] = harness.group_messages()
    assert "private chat" in hint["text"] and "/review" in hint["text"]


def words_in(h: Harness, chat_id: int, words: str) -> list[JSON]:
    """The bot's live messages of a chat that contain ``words`` (its text or buttons)."""
    return [m for m in h.fake.messages(chat_id) if words in m["text"] or words in m["html"]]


async def test_a_review_opened_while_forget_runs_is_erased_too(harness: Harness) -> None:
    """An organiser opens /review while the author's /forget is erasing in Telegram (here: the
    organisers' message in the author's chat, the last thing before the rows go): the message
    it shows is recorded after /forget read the records, and erased once the rows are gone."""
    h = harness
    ann = h.person("Ann")
    tid = await submit(h, ann, quote="Words shown in the meantime.", name="Ann Meantime")
    card = await card_of(h, tid)
    await press(h, ORGANISER_ID, card.card_message_ids[-1], f"mod:write:{tid}")
    await answer_prompt(h, "Which session was it?")
    h.fake.hold("deleteMessage", chat_id=ann.id)  # that message's deletion waits
    h.fake.user_sends(ann.id, "/forget")
    confirm = await h.wait(lambda: h.fake.buttons(ann.id) and h.fake.messages(ann.id)[-1])
    h.fake.user_presses(ann.id, ann.id, confirm["message_id"], "forget:yes")
    await h.fake.wait_held()

    h.fake.user_sends(ORGANISER_ID, "/review")
    await h.wait(lambda: words_in(h, ORGANISER_ID, "Words shown in the meantime"))
    await h.wait_async(lambda: h.repo.review_messages_of([tid]), bool)  # recorded
    h.fake.release()
    await h.settle()
    assert "I hold nothing about you" in h.fake.last_message(ann.id)["text"]
    for words in ("Ann Meantime", "in the meantime"):
        assert words_in(h, ORGANISER_ID, words) == [], words
    [now] = h.fake.messages(ORGANISER_ID)
    assert now["text"].startswith("🗑 This testimonial was withdrawn by its author")
    assert await h.repo.review_messages_of([tid]) == []


async def test_forget_erases_the_authors_words_from_organisers_review_chats(
    harness: Harness,
) -> None:
    h = harness
    make_admin(h, "Bruno", BRUNO)
    ann = h.person("Ann")
    short = await submit(h, ann, quote="Ann's short and secret words.", name="Ann Author")
    await submit(h, ann, quote="Placeholder.", name="Ann Author")
    [long] = [t.id for t in await h.repo.list_for_user(ann.id) if t.id != short]
    await h.repo.edit_pending(long, "quote", " ".join(f"annword{i}" for i in range(600)))
    [other] = await submit_many(h, 1)

    # Olga is shown Ann's short one; Bruno her long one, which he reads whole.
    await Person(h, ORGANISER_ID).send("/review")
    olga_message = review_message(h, ORGANISER_ID)
    assert shown(h, ORGANISER_ID) == short
    await Person(h, BRUNO).send("/review")
    bruno_first = review_message(h, BRUNO)
    assert shown(h, BRUNO) == long
    await tap(h, BRUNO, bruno_first["message_id"], f"rev:more:{long}")
    _, bruno_last = h.fake.messages(BRUNO)
    assert words_in(h, BRUNO, "annword0 ") and words_in(h, BRUNO, "annword599")

    await ann.send("/forget")
    done = await ann.press("Yes, erase everything")
    # Olga's message, Bruno's first part and his last part (the one with the buttons).
    assert "3 messages showing them to an organiser in /review erased." in done[-1]["text"]

    # Nothing of Ann is left in the organisers' private chats: the messages with the
    # buttons say what happened, the other part is gone.
    for chat in (ORGANISER_ID, BRUNO):
        for words in ("Ann Author", "secret words", "annword"):
            assert words_in(h, chat, words) == [], (chat, words)
    [olga_now] = h.fake.messages(ORGANISER_ID)
    assert olga_now["message_id"] == olga_message["message_id"]
    assert olga_now["text"].startswith("🗑 This testimonial was withdrawn by its author")
    assert "/review" in olga_now["text"] and h.fake.buttons(ORGANISER_ID) == []
    [bruno_now] = h.fake.messages(BRUNO)
    assert bruno_now["message_id"] == bruno_last["message_id"]
    assert bruno_now["text"].startswith("🗑 This testimonial was withdrawn by its author")

    # The old buttons (a client that did not refresh): said so, nothing changes.
    before = {c: h.fake.snapshot(c) for c in (ORGANISER_ID, BRUNO)}
    calls = len(h.fake.requests)
    for chat, message_id, data in (
        (ORGANISER_ID, olga_message["message_id"], f"rev:approve:{short}"),
        (BRUNO, bruno_last["message_id"], f"rev:reason:{long}:0"),
        (BRUNO, bruno_first["message_id"], f"rev:more:{long}"),
        (BRUNO, bruno_last["message_id"], f"rev:skip:{long}"),
    ):
        query_id = h.fake.user_presses(chat, chat, message_id, data, forge=True)
        await h.settle()
        answer = h.fake.callback_answers[query_id]
        assert answer["text"] == "This testimonial was withdrawn by its author: nothing to decide."
    assert {c: h.fake.snapshot(c) for c in (ORGANISER_ID, BRUNO)} == before
    reads = {"answerCallbackQuery", "getChatMember", "getUpdates"}
    assert {r.method for r in h.fake.requests[calls:]} <= reads
    assert h.channel_messages() == []
    # The next /review goes on with the others.
    await Person(h, ORGANISER_ID).send("/review")
    assert shown(h, ORGANISER_ID) == other


async def test_a_withdrawn_testimonial_leaves_the_review_message(harness: Harness) -> None:
    h = harness
    author = h.person("Wendy")
    tid = await submit(h, author, quote="Words I take back.")
    await Person(h, ORGANISER_ID).send("/review")
    assert shown(h, ORGANISER_ID) == tid
    await author.send("/mine")
    await author.press("Withdraw")
    await author.press("Yes, withdraw it")
    assert (await h.repo.get(tid)) is not None
    [message] = h.fake.messages(ORGANISER_ID)
    assert "Words I take back" not in message["text"]
    assert message["text"].startswith("🗑 This testimonial was withdrawn by its author")


async def test_forgotten_while_the_review_message_is_on_its_way(harness: Harness) -> None:
    h = harness
    ann = h.person("Ann")
    tid = await submit(h, ann, quote="Words on their way.", name="Ann Author")
    # Olga's /review message is out, Telegram's answer not back yet: nothing recorded.
    h.fake.hold("sendMessage", ORGANISER_ID)
    h.fake.user_sends(ORGANISER_ID, "/review")
    await h.fake.wait_held()
    assert "Words on their way" in h.fake.messages(ORGANISER_ID)[0]["text"]
    h.fake.user_sends(ann.id, "/forget")
    await h.wait(lambda: h.fake.buttons(ann.id))
    confirm = h.fake.last_message(ann.id)["message_id"]
    h.fake.user_presses(ann.id, ann.id, confirm, "forget:yes")
    await h.wait(lambda: "erased" in h.fake.last_message(ann.id)["text"])
    assert await h.repo.get(tid) is None
    h.fake.release()
    await h.settle()
    # Recorded too late: the bot erased it itself once Telegram answered.
    [message] = h.fake.messages(ORGANISER_ID)
    assert "Words on their way" not in message["text"] and "Ann Author" not in message["text"]
    assert message["text"].startswith("🗑 This testimonial was withdrawn by its author")


async def test_review_speaks_the_organisers_own_language(harness: Harness) -> None:
    h = harness
    h.fake.add_user(BRUNO, "Bruno", language_code="fr")  # a French Telegram app
    h.fake.set_member(GROUP_ID, BRUNO, "administrator")
    first, second, third = await submit_many(h, 3)
    bruno = Person(h, BRUNO)
    await bruno.send("/review")
    message = review_message(h, BRUNO)
    assert message["text"].startswith("🗂 Relecture · 3 en attente")
    assert f"Témoignage n°\u00a0{first}" in message["text"]
    labels = [label for label, _ in h.fake.buttons(BRUNO)]
    assert labels[0] == "✅ Valider" and "⏭ Passer" in labels and "❌ Hors sujet" in labels
    answer = await tap(h, BRUNO, message["message_id"], f"rev:reason:{first}:0")
    assert answer["text"] == "Refusé\u00a0: l’auteur sera prévenu."
    rejected = await wait_status(h, first, Status.REJECTED)
    # What the group and the export keep is in the organisers' language, as on the card.
    assert rejected.reject_reason == "Off-topic" and rejected.reject_reason_key == "off_topic"
    assert f"Témoignage n°\u00a0{second}" in review_message(h, BRUNO)["text"]

    # Olga's app is English, but she chose French with /language: her choice wins.
    olga = Person(h, ORGANISER_ID)
    await olga.send("/language")
    await olga.press("Français")
    await olga.send("/review")
    assert h.fake.last_message(ORGANISER_ID)["text"].startswith("🗂 Relecture · 2 en attente")
    assert shown(h, ORGANISER_ID) == third
    # Withdrawn by its author: Olga's message says so in French (its language is recorded).
    t = await h.repo.get(third)
    assert t is not None and t.user_id is not None
    author = Person(h, t.user_id)
    await author.send("/mine")
    await author.press("Withdraw")
    await author.press("Yes, withdraw it")
    erased = h.fake.last_message(ORGANISER_ID)["text"]
    assert erased.startswith("🗑 Ce témoignage a été retiré par son auteur")


def chat_menu(h: Harness, user_id: int) -> list[tuple[str, str]]:
    scope = {"type": "chat", "chat_id": user_id}
    return [(c["command"], c["description"]) for c in h.fake.my_commands(scope)]


def chat_menu_calls(h: Harness, user_id: int) -> int:
    """How many times the bot set or deleted the "/" menu of one private chat."""
    calls = h.fake.calls("setMyCommands") + h.fake.calls("deleteMyCommands")
    scopes = [r.params.get("scope") for r in calls]
    parsed = [json.loads(s) if isinstance(s, str) else s for s in scopes]
    return sum(isinstance(s, dict) and s.get("chat_id") == user_id for s in parsed)


async def test_an_organisers_private_chat_gets_review_in_its_menu_once(harness: Harness) -> None:
    h = harness
    make_admin(h, "Bruno", BRUNO)
    olga = Person(h, ORGANISER_ID)
    await olga.send("/review")
    menu = chat_menu(h, ORGANISER_ID)
    assert [c for c, _ in menu] == [
        "review",
        "start",
        "help",
        "mine",
        "language",
        "forget",
        "cancel",
    ]
    assert menu[0][1].startswith("Review waiting testimonials")
    assert chat_menu_calls(h, ORGANISER_ID) == 1
    # Remembered (across a restart too): not set again at every /review.
    await olga.send("/review")
    await h.restart()
    await olga.send("/review")
    assert chat_menu_calls(h, ORGANISER_ID) == 1
    # In her language: set again when she changes it.
    await olga.send("/language")
    await olga.press("Français")
    await olga.send("/review")
    assert chat_menu(h, ORGANISER_ID)[0][1].startswith("Relire les témoignages")
    assert chat_menu_calls(h, ORGANISER_ID) == 2

    # Attendees keep the menu of all private chats; a demoted organiser gets it back.
    attendee = h.person("Eve")
    await attendee.send("/review")
    assert chat_menu_calls(h, attendee.id) == 0 and chat_menu(h, attendee.id) == []
    bruno = Person(h, BRUNO)
    await bruno.send("/review")
    assert chat_menu(h, BRUNO)[0][0] == "review"
    h.fake.set_member(GROUP_ID, BRUNO, "member")
    await h.settle()
    [refused] = await bruno.send("/review")
    assert "Only the event's organisers" in refused["text"]
    assert chat_menu(h, BRUNO) == []
    # An organiser who asks to be forgotten: the menu remembered by their id goes too.
    await olga.send("/forget")
    await olga.press("Oui, tout effacer")
    assert chat_menu(h, ORGANISER_ID) == [] and chat_menu_calls(h, ORGANISER_ID) == 3
    private = h.fake.my_commands({"type": "all_private_chats"})
    assert "review" not in [c["command"] for c in private]
