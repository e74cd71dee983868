"""The organisers' group and the channel: cards, decisions, publishing, failures."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bot.cli.book import export_book
from bot.services.render import join_parts_plain
from storage.models import Status
from storage.models import Testimonial as Row
from tests.support import CHANNEL_ID, CHANNEL_USERNAME, GROUP_ID, ORGANISER_ID, Harness, Person

JSON = dict[str, Any]


async def submit(h: Harness, p: Person, quote: str = "A fine day.", name: str = "Ada") -> int:
    """Take a person through the conversation; return the pending testimonial's id."""
    await p.reach_preview(quote, name=name, organisation="Analytical Engine Society")
    await p.press("Send")
    mine = await h.repo.list_for_user(p.id)
    assert mine and mine[0].status is Status.PENDING
    return mine[0].id


async def card_of(h: Harness, tid: int) -> Row:
    """Wait for the bot to be idle and return the testimonial, which must have its card."""
    await h.settle()
    t = await h.repo.get(tid)
    assert t is not None and t.card_message_ids, f"#{tid} has no card"
    return t


async def press(h: Harness, user_id: int, message_id: int, data: str, **kw: Any) -> JSON:
    """Press a button in the organisers' group; return the callback answer."""
    query_id = h.fake.user_presses(user_id, GROUP_ID, message_id, data, **kw)
    await h.settle()
    return h.fake.callback_answers[query_id]


async def answer_prompt(h: Harness, text: str, user_id: int = ORGANISER_ID) -> JSON:
    """Reply in the organisers' group to the bot's latest message there (its prompt)."""
    prompt = h.fake.last_message(GROUP_ID)
    sent = h.fake.user_sends(user_id, text, chat_id=GROUP_ID, reply_to=prompt["message_id"])
    await h.settle()
    return sent


async def wait_status(h: Harness, tid: int, status: Status) -> Row:
    """Wait for the bot to be idle; the testimonial must then have ``status``."""
    await h.settle()
    t = await h.repo.get(tid)
    assert t is not None and t.status is status, f"#{tid} is {t and t.status}, not {status}"
    return t


def make_admin(h: Harness, name: str, user_id: int) -> None:
    """Add another administrator of the organisers' group."""
    h.fake.add_user(user_id, name)
    h.fake.set_member(GROUP_ID, user_id, "administrator")


async def test_card_shows_testimonial_author_and_buttons(harness: Harness) -> None:
    p = harness.person("Ada", username="ada")
    tid = await submit(harness, p, quote="<b>bold?</b> & more")
    t = await card_of(harness, tid)
    [card] = harness.group_messages()
    assert card["message_id"] == t.card_message_ids[0]
    assert f"Testimonial #{tid}" in card["text"]
    assert "Ada Lovelace (@ada)" in card["text"]
    assert f"tg://user?id={p.id}" in card["html"]
    assert "<b>bold?</b> & more" in card["text"]
    assert [b for b, _ in harness.fake.buttons(GROUP_ID, card["message_id"])] == [
        "✅ Approve",
        "❌ Reject",
        "✏️ Edit",
        "✉️ Reply to the author",
    ]


async def test_approve_publishes_links_and_tells_author(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p, quote="Merci !")
    t = await card_of(harness, tid)
    answer = await press(harness, ORGANISER_ID, t.card_message_ids[0], f"mod:approve:{tid}")
    assert "Approved" in answer["text"]
    published = await wait_status(harness, tid, Status.PUBLISHED)
    [post] = harness.channel_messages()
    assert post["text"] == "Ada\nAnalytical Engine Society\n\n«\u00a0Merci !\u00a0»"
    assert post["html"].startswith("<b>Ada</b>\n<i>Analytical Engine Society</i>")
    assert published.channel_message_ids == (post["message_id"],)
    # Configured by id, but public: the bot learnt its username (a link anyone can open).
    link = f"https://t.me/{CHANNEL_USERNAME}/{post['message_id']}"
    await harness.wait(lambda: any(link in m for m in p.texts()))
    card = await harness.wait(
        lambda: next((m for m in harness.group_messages() if "Approved by Olga" in m["text"]), None)
    )
    assert link in card["html"]
    assert [b for b, _ in harness.fake.buttons(GROUP_ID, card["message_id"])] == ["🗑 Unpublish"]
    # One card, edited once: the group's traffic stays low.
    assert len(harness.group_messages()) == 1
    edits = [
        r for r in harness.fake.calls("editMessageText") if r.params.get("chat_id") == GROUP_ID
    ]
    assert len(edits) == 1


async def test_two_organisers_race_one_decision(harness: Harness) -> None:
    make_admin(harness, "Bruno", 501)
    p = harness.person()
    tid = await submit(harness, p)
    t = await card_of(harness, tid)
    card_id = t.card_message_ids[0]
    q1 = harness.fake.user_presses(ORGANISER_ID, GROUP_ID, card_id, f"mod:approve:{tid}")
    q2 = harness.fake.user_presses(501, GROUP_ID, card_id, f"mod:approve:{tid}")
    q3 = harness.fake.user_presses(501, GROUP_ID, card_id, f"mod:approve:{tid}")  # double tap
    await harness.settle()
    answers = [harness.fake.callback_answers[q]["text"] for q in (q1, q2, q3)]
    assert sum("Approved:" in a for a in answers) == 1
    assert sum(a.startswith("Already approved by") for a in answers) == 2
    await wait_status(harness, tid, Status.PUBLISHED)
    assert len(harness.channel_messages()) == 1


async def test_the_answer_to_a_press_is_plain_text(harness: Harness) -> None:
    """Answers are not HTML: the first decider's quote and ampersand show as typed."""
    make_admin(harness, "Seán O'Brien & Sons", 501)
    tid = await submit(harness, harness.person())
    card_id = (await card_of(harness, tid)).card_message_ids[0]
    await press(harness, 501, card_id, f"mod:approve:{tid}")
    answer = await press(harness, ORGANISER_ID, card_id, f"mod:approve:{tid}", forge=True)
    assert answer["text"] == "Already approved by Seán O'Brien & Sons."


async def test_approve_and_reject_race(harness: Harness) -> None:
    make_admin(harness, "Bruno", 501)
    p = harness.person()
    tid = await submit(harness, p)
    t = await card_of(harness, tid)
    card_id = t.card_message_ids[0]
    await press(harness, 501, card_id, f"mod:reject:{tid}")
    qa = harness.fake.user_presses(
        ORGANISER_ID, GROUP_ID, card_id, f"mod:approve:{tid}", forge=True
    )
    qr = harness.fake.user_presses(501, GROUP_ID, card_id, f"mod:reason:{tid}:0")
    await harness.settle()
    answers = [harness.fake.callback_answers[q]["text"] for q in (qa, qr)]
    assert sum(a.startswith("Already") for a in answers) == 1
    final = await harness.repo.get(tid)
    assert final is not None and final.status in (
        Status.APPROVED,
        Status.PUBLISHING,
        Status.PUBLISHED,
        Status.REJECTED,
    )


async def test_reject_with_ready_made_reason(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p)
    t = await card_of(harness, tid)
    card_id = t.card_message_ids[0]
    await press(harness, ORGANISER_ID, card_id, f"mod:reject:{tid}")
    labels = [b for b, _ in harness.fake.buttons(GROUP_ID, card_id)]
    assert labels[:2] == ["Off-topic", "Offensive or inappropriate"]
    answer = await press(harness, ORGANISER_ID, card_id, f"mod:reason:{tid}:0")
    assert "Rejected" in answer["text"]
    rejected = await wait_status(harness, tid, Status.REJECTED)
    assert rejected.reject_reason == "Off-topic" and rejected.decided_by_name == "Olga Organiser"
    card = harness.fake.message(GROUP_ID, card_id)
    assert "Rejected by Olga Organiser" in card["text"] and "Off-topic" in card["text"]
    assert harness.fake.buttons(GROUP_ID, card_id) == []
    await harness.wait(lambda: any("not published" in m and "Off-topic" in m for m in p.texts()))
    assert harness.channel_messages() == []


async def test_reject_with_typed_reason(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p)
    t = await card_of(harness, tid)
    card_id = t.card_message_ids[0]
    await press(harness, ORGANISER_ID, card_id, f"mod:reject:{tid}")
    answer = await press(harness, ORGANISER_ID, card_id, f"mod:other:{tid}")
    assert "Reply to my message" in answer["text"]
    # The answer is a reply to the bot's prompt (ForceReply), which names who asked.
    prompt = harness.fake.last_message(GROUP_ID)
    assert "reply to this message" in prompt["text"] and "Olga" in prompt["text"]
    await answer_prompt(harness, "Please <don't> name colleagues & clients")
    rejected = await wait_status(harness, tid, Status.REJECTED)
    assert rejected.reject_reason == "Please <don't> name colleagues & clients"
    await harness.wait(lambda: any("name colleagues & clients" in m for m in p.texts()))


async def test_edit_then_approve_without_the_authors_answer(harness: Harness) -> None:
    """With LIVREDOR_EDITS_NEED_AUTHOR=false a correction applies at once (the behaviour
    before issue 26; the default, where the author answers first, is test_author_edits.py)."""
    harness.settings.edits_need_author = False
    p = harness.person()
    tid = await submit(harness, p, name="ada lovelace")
    t = await card_of(harness, tid)
    card_id = t.card_message_ids[0]
    await press(harness, ORGANISER_ID, card_id, f"mod:edit:{tid}")
    answer = await press(harness, ORGANISER_ID, card_id, f"mod:field:{tid}:name")
    assert "Reply to my message" in answer["text"]
    # The prompt shows the current value.
    assert "Now: ada lovelace" in harness.fake.last_message(GROUP_ID)["text"]
    await answer_prompt(harness, "Ada LOVELACE")
    edited = await harness.repo.get(tid)
    assert edited is not None and edited.name == "Ada LOVELACE"
    card = harness.fake.message(GROUP_ID, card_id)
    assert "Ada LOVELACE" in card["text"]
    assert next(b for b, _ in harness.fake.buttons(GROUP_ID, card_id)) == "✅ Approve"
    await press(harness, ORGANISER_ID, card_id, f"mod:approve:{tid}")
    await wait_status(harness, tid, Status.PUBLISHED)
    assert harness.channel_messages()[0]["text"].startswith("Ada LOVELACE\n")


async def test_non_admin_press_changes_nothing(harness: Harness) -> None:
    harness.fake.add_user(777, "Mallory")
    harness.fake.set_member(GROUP_ID, 777, "member")
    p = harness.person()
    tid = await submit(harness, p)
    t = await card_of(harness, tid)
    answer = await press(harness, 777, t.card_message_ids[0], f"mod:approve:{tid}")
    assert answer == {**answer, "text": "Only organisers can do this.", "show_alert": True}
    still = await harness.repo.get(tid)
    assert still is not None and still.status is Status.PENDING


async def test_admin_ids_setting_allows_non_admin(harness: Harness) -> None:
    harness.settings.admin_ids = frozenset({778})
    harness.fake.add_user(778, "Trusted")
    harness.fake.set_member(GROUP_ID, 778, "member")
    p = harness.person()
    tid = await submit(harness, p)
    t = await card_of(harness, tid)
    answer = await press(harness, 778, t.card_message_ids[0], f"mod:approve:{tid}")
    assert "Approved" in answer["text"]


async def test_forged_callback_data_changes_nothing(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p)
    t = await card_of(harness, tid)
    card_id = t.card_message_ids[0]
    for data in (
        f"mod:approve:{tid}x",
        "mod:delete:1",
        "in:send:999999",
        "garbage",
        f"mod:approve:{tid + 100}",
    ):
        answer = await press(harness, ORGANISER_ID, card_id, data, forge=True)
        assert answer["show_alert"] or "no longer valid" in answer["text"], data
    still = await harness.repo.get(tid)
    assert still is not None and still.status is Status.PENDING
    # A card button pressed in another chat (a forwarded card) changes nothing either.
    query = harness.fake.user_presses(
        p.id, p.id, harness.fake.last_message(p.id)["message_id"], f"mod:approve:{tid}", forge=True
    )
    await harness.settle()
    assert harness.fake.callback_answers[query]["show_alert"]
    still = await harness.repo.get(tid)
    assert still is not None and still.status is Status.PENDING


async def test_blocked_author_does_not_stop_moderation(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p)
    t = await card_of(harness, tid)
    harness.fake.block_bot(p.id)
    await press(harness, ORGANISER_ID, t.card_message_ids[0], f"mod:approve:{tid}")
    await wait_status(harness, tid, Status.PUBLISHED)
    user = await harness.wait_async(lambda: harness.repo.get_user(p.id), lambda u: u.blocked_bot)
    assert user.blocked_bot
    assert len(harness.channel_messages()) == 1


async def test_long_testimonial_card_and_post_are_split(harness: Harness) -> None:
    p = harness.person()
    paragraphs = [
        f"Paragraph {i}: " + ("lorem ipsum dolor sit amet " * 30).strip() for i in range(6)
    ]
    quote = "\n\n".join(paragraphs)
    assert len(quote) > 4096
    await p.send("/start")
    await p.send("Ada")
    await p.press("Skip")
    # Sent as two messages, as Telegram splits a long paste.
    await p.send("\n\n".join(paragraphs[:3]))
    await p.send("\n\n".join(paragraphs[3:]))
    await p.press("Done")
    await p.press("Skip")  # no photo
    await p.press("Yes, I agree")
    await p.press("Send")
    [mine] = await harness.repo.list_for_user(p.id)
    t = await card_of(harness, mine.id)
    assert len(t.card_message_ids) >= 2
    await press(harness, ORGANISER_ID, t.card_message_ids[-1], f"mod:approve:{t.id}")
    published = await wait_status(harness, t.id, Status.PUBLISHED)
    posts = harness.channel_messages()
    assert len(posts) == len(published.channel_message_ids) >= 2
    assert posts[0]["text"].endswith(f"(1/{len(posts)})")
    whole = join_parts_plain([m["text"] for m in posts])
    assert whole == "Ada\n\n«\u00a0" + published.quote + "\u00a0»"


async def test_unpublish_deletes_posts(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p)
    t = await card_of(harness, tid)
    card_id = t.card_message_ids[0]
    await press(harness, ORGANISER_ID, card_id, f"mod:approve:{tid}")
    await wait_status(harness, tid, Status.PUBLISHED)
    await harness.wait(
        lambda: harness.fake.buttons(GROUP_ID, card_id) == [("🗑 Unpublish", f"mod:unpublish:{tid}")]
    )
    await press(harness, ORGANISER_ID, card_id, f"mod:unpublish:{tid}")
    await press(harness, ORGANISER_ID, card_id, f"mod:unpublish_yes:{tid}")
    await wait_status(harness, tid, Status.WITHDRAWN)
    await harness.wait(lambda: harness.channel_messages() == [])
    assert "Unpublished by Olga" in harness.fake.message(GROUP_ID, card_id)["text"]
    await harness.wait(lambda: any("removed from the channel" in m for m in p.texts()))


async def test_yes_withdraw_pressed_again_says_withdrawn_again(harness: Harness) -> None:
    """A second press of "Yes, withdraw it" (a double tap, or the press replayed after a
    crash: tests/e2e/test_forget_crash.py) finds it withdrawn and says so, not "can no
    longer be withdrawn"."""
    p = harness.person()
    tid = await submit(harness, p)
    await card_of(harness, tid)
    await p.send("/mine")
    await p.press("Withdraw #")
    confirm = harness.fake.last_message(p.id)["message_id"]
    [(_, yes), _] = harness.fake.buttons(p.id, confirm)
    assert yes is not None
    first = await p.press_data(confirm, yes)
    again = await p.press_data(confirm, yes, forge=True)  # its buttons are gone by now
    assert [m["text"] for m in first][-1] == "Testimonial #1 is withdrawn."
    assert [m["text"] for m in again] == ["Testimonial #1 is withdrawn."]
    assert (await harness.repo.get(tid)).status is Status.WITHDRAWN  # type: ignore[union-attr]


async def test_unpublish_after_48_hours_edits_the_post(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p)
    t = await card_of(harness, tid)
    await press(harness, ORGANISER_ID, t.card_message_ids[0], f"mod:approve:{tid}")
    published = await wait_status(harness, tid, Status.PUBLISHED)
    [post_id] = published.channel_message_ids
    harness.fake.age_message(CHANNEL_ID, post_id, hours=49)
    await p.send("/mine")
    await p.press("Withdraw #")
    await p.press("Yes, withdraw it")
    await harness.wait(
        lambda: (
            harness.fake.message(CHANNEL_ID, post_id)["text"] == "(This testimonial was withdrawn.)"
        )
    )
    assert (await harness.repo.get(tid)).status is Status.WITHDRAWN  # type: ignore[union-attr]


async def test_forget_erases_and_unpublishes(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p, quote="Forget me.")
    t = await card_of(harness, tid)
    await press(harness, ORGANISER_ID, t.card_message_ids[0], f"mod:approve:{tid}")
    await wait_status(harness, tid, Status.PUBLISHED)
    await p.send("/start")  # an open draft too
    await p.send("/forget")
    replies = await p.press("Yes, erase everything")
    assert "nothing about you" in replies[-1]["text"]
    await harness.wait(lambda: harness.channel_messages() == [])
    assert await harness.repo.get_user(p.id) is None
    assert await harness.repo.list_for_user(p.id) == []
    gone = await harness.repo.get(tid)
    assert gone is None or (gone.name, gone.quote, gone.user_id) == ("", "", None)


async def test_channel_refuses_then_retry(harness: Harness) -> None:
    harness.fake.set_bot_rights(CHANNEL_ID, member=True, admin=False)
    p = harness.person()
    tid = await submit(harness, p)
    t = await card_of(harness, tid)
    await press(harness, ORGANISER_ID, t.card_message_ids[0], f"mod:approve:{tid}")
    alert = await harness.wait(
        lambda: next((m for m in harness.group_messages() if "could not post" in m["text"]), None)
    )
    assert "as an administrator" in alert["text"] and "@livredor_test_bot" in alert["text"]
    back = await wait_status(harness, tid, Status.APPROVED)
    assert back.channel_message_ids == ()
    harness.fake.set_bot_rights(CHANNEL_ID, member=True, admin=True, can_post_messages=True)
    await press(harness, ORGANISER_ID, alert["message_id"], f"mod:retry:{tid}")
    await wait_status(harness, tid, Status.PUBLISHED)
    assert len(harness.channel_messages()) == 1


async def test_burst_of_approvals_all_published_once_in_order(virtual_harness: Harness) -> None:
    harness = virtual_harness  # the group's window of 20 is waited out on a virtual clock
    people = [harness.person(f"P{i}", user_id=20_000 + i) for i in range(30)]
    ids = []
    for person in people:
        ids.append(
            await submit(
                harness, person, quote=f"Quote number {person.id}.", name=f"P{person.id - 20_000}"
            )
        )
    for tid in ids:
        await card_of(harness, tid)
    # All approvals within a moment.
    for tid in ids:
        t = await harness.repo.get(tid)
        assert t is not None
        harness.fake.user_presses(
            ORGANISER_ID, GROUP_ID, t.card_message_ids[0], f"mod:approve:{tid}"
        )
    await harness.settle()
    for tid in ids:
        await wait_status(harness, tid, Status.PUBLISHED)
    posts = [m["text"] for m in harness.channel_messages()]
    assert posts == [
        f"P{i}\nAnalytical Engine Society\n\n«\u00a0Quote number {20_000 + i}.\u00a0»"
        for i in range(30)
    ]
    # The bot keeps to the group's limit (20 a window, like the fake): nothing was refused.
    sent = [r for r in harness.fake.requests if r.method != "getUpdates"]
    assert len(sent) > 60
    assert [r for r in sent if not r.ok] == []


async def test_pending_stats_ban(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p)
    t = await card_of(harness, tid)
    harness.fake.user_sends(ORGANISER_ID, "/stats", chat_id=GROUP_ID)
    await harness.settle()
    stats = harness.group_messages()[-1]["text"]
    assert "waiting for review: 1" in stats and "published: 0" in stats
    harness.fake.user_sends(ORGANISER_ID, "/pending", chat_id=GROUP_ID)
    await harness.settle()
    await harness.wait_async(
        lambda: harness.repo.get(tid), lambda row: row.card_message_ids != t.card_message_ids
    )
    # /pending moved the card to the bottom of the chat: reply to the current one.
    t = await card_of(harness, tid)
    assert len([m for m in harness.group_messages() if f"Testimonial #{tid}" in m["text"]]) == 1
    harness.fake.user_sends(ORGANISER_ID, "/ban", chat_id=GROUP_ID, reply_to=t.card_message_ids[0])
    await harness.settle()
    assert "Banned" in harness.group_messages()[-1]["text"]
    replies = await p.send("/start")
    assert "can't leave testimonials" in replies[0]["text"]
    harness.fake.user_sends(
        ORGANISER_ID, "/unban", chat_id=GROUP_ID, reply_to=t.card_message_ids[0]
    )
    await harness.settle()
    replies = await p.send("/mine")
    assert "Waiting for review" in replies[0]["text"]
    # Not for non-organisers.
    harness.fake.add_user(779, "Member")
    harness.fake.set_member(GROUP_ID, 779, "member")
    harness.fake.user_sends(779, "/stats", chat_id=GROUP_ID)
    await harness.settle()
    assert harness.fake.messages(GROUP_ID)[-1]["text"] == "Only organisers can do this."


async def test_a_button_applies_only_to_a_testimonial_in_its_status(harness: Harness) -> None:
    """Issue 22, item 6: a forged or stale Unpublish/Retry/Post again/Mark as posted on a
    testimonial still waiting changes nothing and tells the author nothing."""
    p = harness.person()
    tid = await submit(harness, p)
    card_id = (await card_of(harness, tid)).card_message_ids[0]
    author_saw = len(p.texts())
    for action in ("unpublish_yes", "unpublish", "retry", "removed", "republish", "markpub"):
        answer = await press(harness, ORGANISER_ID, card_id, f"mod:{action}:{tid}", forge=True)
        assert answer["show_alert"], action
        assert "Retrying" not in answer["text"], action
    await harness.settle()
    still = await harness.repo.get(tid)
    assert still is not None and still.status is Status.PENDING
    assert len(p.texts()) == author_saw and harness.channel_messages() == []
    # And a waiting testimonial's own buttons on a published one are refused the same way.
    await press(harness, ORGANISER_ID, card_id, f"mod:approve:{tid}")
    await wait_status(harness, tid, Status.PUBLISHED)
    for action in ("reject", "edit", "approve"):
        answer = await press(harness, ORGANISER_ID, card_id, f"mod:{action}:{tid}", forge=True)
        assert answer["show_alert"], action
    assert (await wait_status(harness, tid, Status.PUBLISHED)).status is Status.PUBLISHED


async def test_a_demoted_admin_loses_every_command_as_soon_as_a_button(harness: Harness) -> None:
    """Issue 22, item 7: demoted without a chat_member update reaching the bot, an admin
    keeps /stats, /pending, /ban and /unban no longer than the card buttons (the same fresh
    check), not for the admin list's 120 s."""
    now = [1_000.0]
    harness.services.desk.clock = lambda: now[0]
    p = harness.person()
    tid = await submit(harness, p)
    card_id = (await card_of(harness, tid)).card_message_ids[0]
    harness.fake.user_sends(ORGANISER_ID, "/stats", chat_id=GROUP_ID)
    await harness.settle()
    assert "waiting for review: 1" in harness.group_messages()[-1]["text"]
    harness.fake.set_member(GROUP_ID, ORGANISER_ID, "member", tell_bot=False)
    now[0] += 31  # past the buttons' re-check, well within the admin list's 120 s
    for command in ("/stats", "/pending", "/ban", "/unban"):
        harness.fake.user_sends(ORGANISER_ID, command, chat_id=GROUP_ID, reply_to=card_id)
        await harness.settle()
        assert harness.group_messages()[-1]["text"] == "Only organisers can do this.", command
    answer = await press(harness, ORGANISER_ID, card_id, f"mod:approve:{tid}")
    assert answer["text"] == "Only organisers can do this."
    replies = await p.send("/start")
    assert "can't leave testimonials" not in replies[0]["text"]  # /ban did not happen


async def test_export_command_sends_the_book(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p, quote="Pour le livre d'or ☺", name="Ada <LOVELACE>")
    t = await card_of(harness, tid)
    await press(harness, ORGANISER_ID, t.card_message_ids[0], f"mod:approve:{tid}")
    await wait_status(harness, tid, Status.PUBLISHED)
    harness.fake.user_sends(ORGANISER_ID, "/export", chat_id=GROUP_ID)
    await harness.settle()
    doc = harness.group_messages()[-1]["document"]
    assert doc["filename"] == "livre-dor.md"
    markdown = doc["content"].decode("utf-8")
    assert "ROUMICS 2012" in markdown and "Pour le livre d'or ☺" in markdown
    assert "1 approved testimonial" in harness.group_messages()[-1]["text"]
    harness.fake.user_sends(ORGANISER_ID, "/export csv", chat_id=GROUP_ID)
    await harness.settle()
    doc = harness.group_messages()[-1]["document"]
    assert doc["filename"] == "livre-dor.csv"
    assert f"https://t.me/{CHANNEL_USERNAME}/" in doc["content"].decode("utf-8-sig")
    harness.fake.user_sends(ORGANISER_ID, "/export pdf", chat_id=GROUP_ID)
    await harness.settle()
    assert "Usage: /export" in harness.group_messages()[-1]["text"]


async def test_one_post_link_everywhere(harness: Harness, tmp_path: Path) -> None:
    """Issue 21, item 17: the channel is set by its numeric id and has a public username.
    The author, the card, /export csv and json, and `livredor export` all give the public
    link (CSV and JSON gave t.me/c/...); after a restart where Telegram cannot say the
    username, the one kept from the last start is used."""
    h = harness
    p = h.person()
    tid = await submit(h, p)
    t = await card_of(h, tid)
    await press(h, ORGANISER_ID, t.card_message_ids[0], f"mod:approve:{tid}")
    done = await wait_status(h, tid, Status.PUBLISHED)
    link = f"https://t.me/{CHANNEL_USERNAME}/{done.channel_message_ids[0]}"
    assert any(link in text for text in p.texts())
    card = h.fake.message(GROUP_ID, done.card_message_ids[-1])
    assert link in [e.get("url") for e in card.get("entities", ())]

    async def exported(fmt: str) -> str:
        h.fake.user_sends(ORGANISER_ID, f"/export {fmt}", chat_id=GROUP_ID)
        await h.settle()
        return str(h.group_messages()[-1]["document"]["content"].decode("utf-8-sig"))

    rows = list(csv.DictReader(io.StringIO(await exported("csv"))))
    assert rows[0]["channel_links"] == link
    assert json.loads(await exported("json"))["testimonials"][0]["channel_links"] == [link]
    h.fake.fail("getChat", CHANNEL_ID, times=5)
    await h.restart()
    assert h.services.desk.post_link(done) == link
    out = tmp_path / "book.csv"
    assert await export_book(h.settings, "csv", "date", out) == 0
    assert "t.me/c/" not in out.read_text("utf-8-sig") and link in out.read_text("utf-8-sig")


async def test_export_above_the_upload_limit_is_zipped_or_refused(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.book import files as book

    p = harness.person()
    tid = await submit(harness, p, quote="Bravo à toute l'équipe. " * 40)
    t = await card_of(harness, tid)
    await press(harness, ORGANISER_ID, t.card_message_ids[0], f"mod:approve:{tid}")
    await wait_status(harness, tid, Status.PUBLISHED)
    monkeypatch.setattr(book, "UPLOAD_LIMIT", 600)  # the Markdown is ~1 KB, zipped ~0.3 KB
    harness.fake.user_sends(ORGANISER_ID, "/export", chat_id=GROUP_ID)
    await harness.settle()
    doc = harness.group_messages()[-1]["document"]
    assert doc["filename"] == "livre-dor.md.zip"
    with zipfile.ZipFile(io.BytesIO(doc["content"])) as archive:
        assert archive.namelist() == ["livre-dor.md"]
        assert "Bravo à toute l'équipe." in archive.read("livre-dor.md").decode("utf-8")
    monkeypatch.setattr(book, "UPLOAD_LIMIT", 100)  # not even zipped
    harness.fake.user_sends(ORGANISER_ID, "/export", chat_id=GROUP_ID)
    await harness.settle()
    last = harness.group_messages()[-1]
    assert last["document"] is None
    assert last["text"].startswith("The livre d'or is over 50 MB even zipped")


async def test_a_post_telegram_refuses_does_not_block_the_others(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.services import publishing, render

    real = render.render_post_parts

    def broken_for_bob(name: str, *args: Any, **kwargs: Any) -> list[str]:
        parts = real(name, *args, **kwargs)
        return ["<b>unclosed"] if name == "Bob" else parts

    monkeypatch.setattr(publishing, "render_post_parts", broken_for_bob)
    bob, ada = harness.person("Bob"), harness.person("Ada")
    bad = await submit(harness, bob, name="Bob")
    good = await submit(harness, ada, name="Ada")
    for tid in (bad, good):
        t = await card_of(harness, tid)
        await press(harness, ORGANISER_ID, t.card_message_ids[0], f"mod:approve:{tid}")
    await wait_status(harness, good, Status.PUBLISHED)
    back = await wait_status(harness, bad, Status.APPROVED)
    assert back.channel_message_ids == ()
    alert = await harness.wait(
        lambda: next((m for m in harness.group_messages() if "could not post" in m["text"]), None)
    )
    assert f"#{bad}" in alert["text"] and "can't parse entities" in alert["text"].lower()
    monkeypatch.setattr(publishing, "render_post_parts", real)
    await press(harness, ORGANISER_ID, alert["message_id"], f"mod:retry:{bad}")
    await wait_status(harness, bad, Status.PUBLISHED)


async def test_unpublish_without_channel_rights_pauses_then_retries(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p)
    t = await card_of(harness, tid)
    await press(harness, ORGANISER_ID, t.card_message_ids[0], f"mod:approve:{tid}")
    await wait_status(harness, tid, Status.PUBLISHED)
    harness.fake.set_bot_rights(CHANNEL_ID, member=False)
    await p.send("/mine")
    await p.press("Withdraw #")
    await p.press("Yes, withdraw it")
    alert = await harness.wait(
        lambda: next((m for m in harness.group_messages() if "could not remove" in m["text"]), None)
    )
    assert "@livredor_test_bot" in alert["text"] and "it is not a member" in alert["text"]
    assert len(harness.channel_messages()) == 1
    harness.fake.set_bot_rights(
        CHANNEL_ID, member=True, admin=True, can_post_messages=True, can_delete_messages=True
    )
    await press(harness, ORGANISER_ID, alert["message_id"], f"mod:retry:{tid}")
    await harness.wait(lambda: harness.channel_messages() == [])
