"""Taking a post out of the channel when Telegram will not let the bot: it is never counted as
removed while its words may still be public. The organisers are told what is left (a link to
each post), publishing waits, and Retry or "No longer in the channel" settles it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from storage.models import Status
from tests.moderation.test_moderation import card_of, press, submit, wait_status
from tests.support import (
    CHANNEL_ID,
    CHANNEL_USERNAME,
    GROUP_ID,
    JSON,
    ORGANISER_ID,
    Harness,
    Person,
    VirtualClock,
    running_bot,
    wait_until,
)

WITHDRAWN_LINE = "(This testimonial was withdrawn.)"


async def published(h: Harness, p: Person, quote: str) -> tuple[int, int]:
    """Submit and approve a testimonial; return (its id, its one channel post)."""
    tid = await submit(h, p, quote=quote)
    t = await card_of(h, tid)
    await press(h, ORGANISER_ID, t.card_message_ids[0], f"mod:approve:{tid}")
    done = await wait_status(h, tid, Status.PUBLISHED)
    [post] = done.channel_message_ids
    return tid, post


async def alert_about(h: Harness, tid: int, words: str) -> JSON:
    """The organisers' alert about testimonial ``tid`` that says ``words``."""
    found: JSON = await h.wait(
        lambda: next(
            (
                m
                for m in reversed(h.group_messages())
                if words in m["text"] and f"#{tid}" in m["text"]
            ),
            None,
        )
    )
    return found


async def test_a_post_that_can_be_neither_deleted_nor_edited_is_not_counted_as_removed(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    p = h.person()
    tid, post = await published(h, p, "Words that must go.")
    h.fake.age_message(CHANNEL_ID, post, hours=49)  # too old to delete: edited instead
    # ... and the edit is refused too (Telegram's words for a message it will not edit).
    h.fake.fail(
        "editMessageText", CHANNEL_ID, code=400, description="Bad Request: message can't be edited"
    )
    caplog.set_level(logging.INFO, logger="bot.services.publishing")
    await p.send("/forget")
    await p.press("Yes, erase everything")
    alert = await alert_about(h, tid, "could not remove")
    # What is left, where (a link to the post), why, and what to do.
    link = f"https://t.me/{CHANNEL_USERNAME}/{post}"
    assert link in alert["text"] and "message can't be edited" in alert["text"].lower()
    assert h.fake.buttons(GROUP_ID, alert["message_id"]) == [
        ("Retry", f"mod:retry:{tid}"),
        ("No longer in the channel", f"mod:removed:{tid}"),
    ]
    await h.settle()
    # The words are still public: the removal stays queued, not counted, not logged as done.
    assert "Words that must go." in h.fake.message(CHANNEL_ID, post)["text"]
    queued = await h.repo.next_outbox()
    assert queued is not None and queued[0].action == "unpublish" and queued[1].id == tid
    assert h.services.publisher is not None and h.services.publisher.paused
    assert "removed from the channel" not in caplog.text
    # Retry: this time the edit goes through; the post says it was withdrawn, and only now
    # is it counted as removed.
    answer = await press(h, ORGANISER_ID, alert["message_id"], f"mod:retry:{tid}")
    assert answer["text"] == "Retrying: publishing resumes."
    await h.settle()
    assert h.fake.message(CHANNEL_ID, post)["text"] == WITHDRAWN_LINE
    assert await h.repo.next_outbox() is None
    assert f"testimonial #{tid} removed from the channel" in caplog.text


async def test_a_refused_removal_holds_publishing_until_an_organiser_says_it_is_gone(
    harness: Harness,
) -> None:
    h = harness
    author, other = h.person(), h.person("Grace")
    tid, post = await published(h, author, "First words.")
    h.fake.age_message(CHANNEL_ID, post, hours=49)
    h.fake.fail("editMessageText", CHANNEL_ID, code=400, description="Bad Request: oops", times=9)
    await author.send("/mine")
    await author.press("Withdraw #")
    await author.press("Yes, withdraw it")
    alert = await alert_about(h, tid, "could not remove")
    # Approved meanwhile: it waits behind the removal (approval order is kept).
    second = await submit(h, other, quote="Second words.", name="Grace")
    card = await card_of(h, second)
    await press(h, ORGANISER_ID, card.card_message_ids[0], f"mod:approve:{second}")
    await h.settle()
    assert (await h.repo.get(second)).status is Status.APPROVED  # type: ignore[union-attr]
    # An organiser deleted the post by hand: "No longer in the channel" closes the removal.
    h.fake.clear_failures()
    answer = await press(h, ORGANISER_ID, alert["message_id"], f"mod:removed:{tid}")
    assert (
        answer["text"]
        == "Recorded by Olga Organiser: no longer in the channel. Publishing resumes."
    )
    await wait_status(h, second, Status.PUBLISHED)
    assert await h.repo.next_outbox() is None
    assert h.fake.buttons(GROUP_ID, alert["message_id"]) == []
    # The post itself was left as it was: the organisers said they took care of it.
    assert "First words." in h.fake.message(CHANNEL_ID, post)["text"]
    # A second press (another organiser's, sent before the buttons went) changes nothing.
    again = await press(h, ORGANISER_ID, alert["message_id"], f"mod:removed:{tid}", forge=True)
    assert again["text"] == "Already recorded: nothing left to remove from the channel."


async def test_chat_not_found_on_removal_is_not_counted_as_removed(harness: Harness) -> None:
    """A deleted channel and a private one the bot was removed from both answer "chat not
    found": the second still shows the posts, so the organisers decide."""
    h = harness
    p = h.person()
    tid, post = await published(h, p, "Still there?")
    h.fake.fail(
        "deleteMessage", CHANNEL_ID, code=400, description="Bad Request: chat not found", times=2
    )
    await p.send("/mine")
    await p.press("Withdraw #")
    await p.press("Yes, withdraw it")
    alert = await alert_about(h, tid, "does not find the channel")
    assert f"https://t.me/{CHANNEL_USERNAME}/{post}" in alert["text"]
    assert "@livredor_test_bot" in alert["text"]
    await h.settle()
    queued = await h.repo.next_outbox()
    assert queued is not None and queued[0].action == "unpublish"
    assert len(h.channel_messages()) == 1
    # Retry while Telegram still does not find it: told again, still queued.
    await press(h, ORGANISER_ID, alert["message_id"], f"mod:retry:{tid}")
    second = await alert_about(h, tid, "does not find the channel")
    assert second["message_id"] != alert["message_id"]
    await h.settle()
    assert await h.repo.next_outbox() is not None
    # The bot is back in the channel: Retry deletes the post, and the removal is done.
    await press(h, ORGANISER_ID, second["message_id"], f"mod:retry:{tid}")
    await h.wait(lambda: h.channel_messages() == [])
    await h.settle()
    assert await h.repo.next_outbox() is None


async def test_chat_not_found_then_the_channel_is_gone(harness: Harness) -> None:
    h = harness
    p = h.person()
    tid, _ = await published(h, p, "Gone with the channel.")
    h.fake.fail(
        "deleteMessage", CHANNEL_ID, code=400, description="Bad Request: chat not found", times=9
    )
    await p.send("/forget")
    await p.press("Yes, erase everything")
    alert = await alert_about(h, tid, "does not find the channel")
    await press(h, ORGANISER_ID, alert["message_id"], f"mod:removed:{tid}")
    await h.settle()
    assert await h.repo.next_outbox() is None
    assert h.services.publisher is not None and not h.services.publisher.paused


async def forgotten_while_posted(h: Harness, p: Person, quote: str) -> int:
    """Approve a testimonial, hold its post's answer, and have its author forgotten then:
    the post is out, the bot not told yet. Return its id."""
    tid = await submit(h, p, quote=quote)
    t = await card_of(h, tid)
    h.fake.hold("sendMessage", CHANNEL_ID)
    h.fake.user_presses(ORGANISER_ID, GROUP_ID, t.card_message_ids[0], f"mod:approve:{tid}")
    await h.fake.wait_held()
    # As Person.send and press, without waiting for the publisher (it waits on the post).
    h.fake.user_sends(p.id, "/forget")
    confirm = await h.wait(lambda: h.fake.buttons(p.id) and h.fake.messages(p.id)[-1])
    h.fake.user_presses(p.id, p.id, confirm["message_id"], "forget:yes")

    async def erased() -> bool:
        return await h.repo.get(tid) is None  # nothing of it recorded in the channel yet

    await wait_until(erased)
    assert len(h.channel_messages()) == 1
    return tid


async def test_a_post_forgotten_while_being_posted_comes_down_through_a_network_blip(
    tmp_path: Path,
) -> None:
    # The retry's wait on a virtual clock; the held post never times out.
    async with running_bot(tmp_path, read_timeout=None, clock=VirtualClock()) as h:
        p = h.person()
        await forgotten_while_posted(h, p, "Taken back at once.")
        # Its removal meets a connection failure (nothing done): tried again, not given up.
        h.fake.fail("deleteMessage", CHANNEL_ID, code=502, description="Bad Gateway")
        h.fake.release()
        await h.settle()
        assert h.channel_messages() == []


async def test_a_post_forgotten_while_being_posted_that_cannot_come_down_is_reported(
    harness: Harness,
) -> None:
    h = harness
    p = h.person()
    tid = await forgotten_while_posted(h, p, "Taken back at once.")
    h.fake.set_bot_rights(CHANNEL_ID, member=False)  # removed from the channel meanwhile
    h.fake.release()
    alert = await alert_about(h, tid, "could not remove")
    [post] = h.channel_messages()
    assert f"https://t.me/{CHANNEL_USERNAME}/{post['message_id']}" in alert["text"]
    assert "@livredor_test_bot" in alert["text"]
