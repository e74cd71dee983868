"""Privacy (issue 11, items 5-7): /forget takes the person's cards out of the organisers'
group and says what it did; erased text does not stay in the -wal file; a ban never stops
withdrawal or erasure."""

from __future__ import annotations

from pathlib import Path

from bot.cli.backup import make_backup
from storage.models import Status
from tests.moderation.test_moderation import card_of, press, submit, wait_status
from tests.support import GROUP_ID, ORGANISER_ID, Harness

QUOTE = "Secret-marker-91b2 une journée formidable"


async def test_forget_deletes_cards_and_says_what_it_did(harness: Harness) -> None:
    p = harness.person()
    first = await submit(harness, p, quote=QUOTE)
    card = (await card_of(harness, first)).card_message_ids
    await p.send("/forget")
    replies = await p.press("Yes, erase everything")
    text = replies[-1]["text"]
    assert "1 testimonial of yours erased" in text
    deleted = "message about them" if len(card) == 1 else "messages about them"
    assert f"{len(card)} {deleted} deleted" in text
    assert "channel" not in text  # nothing was posted: no claim that posts are removed
    # What it cannot erase, it says: this chat is theirs to delete.
    assert text.endswith("This chat stays in your Telegram: delete it there to clear it too.")
    live = [m["message_id"] for m in harness.fake.messages(GROUP_ID)]
    assert not set(card) & set(live)
    assert all(QUOTE not in m["text"] for m in harness.fake.messages(GROUP_ID))


async def test_forget_edits_cards_too_old_to_delete(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p, quote=QUOTE)
    [card] = (await card_of(harness, tid)).card_message_ids
    harness.fake.age_message(GROUP_ID, card, hours=49)
    await p.send("/forget")
    replies = await p.press("Yes, erase everything")
    assert "too old to delete" in replies[-1]["text"]
    message = harness.fake.message(GROUP_ID, card)
    assert message["text"] == "🗑 Erased at the author's request."
    assert harness.fake.buttons(GROUP_ID, card) == []
    await harness.settle()
    assert all(QUOTE not in m["text"] for m in harness.fake.messages(GROUP_ID))


async def test_forget_with_nothing_says_so(harness: Harness) -> None:
    p = harness.person()
    await p.send("/forget")
    replies = await p.press("Yes, erase everything")
    assert "You had no testimonial with me" in replies[-1]["text"]
    assert "being removed" not in replies[-1]["text"]


async def test_erased_text_is_not_left_in_the_wal(harness: Harness) -> None:
    p = harness.person()
    await submit(harness, p, quote=QUOTE)
    await p.send("/forget")
    await p.press("Yes, erase everything")
    await harness.settle()
    path = Path(harness.settings.database)
    for file in (path, Path(f"{path}-wal")):
        if file.exists():
            assert b"Secret-marker-91b2" not in file.read_bytes(), file


async def test_a_banned_author_can_still_see_withdraw_and_forget(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p, quote=QUOTE)
    t = await card_of(harness, tid)
    harness.fake.user_sends(ORGANISER_ID, "/ban", chat_id=GROUP_ID, reply_to=t.card_message_ids[0])
    await harness.settle()
    assert "no longer send" in harness.fake.messages(GROUP_ID)[-1]["text"]
    replies = await p.send("/start")
    assert "Only organisers" not in replies[-1]["text"]
    banned_reply = replies[-1]["text"]
    replies = await p.send("/mine")
    assert replies[-1]["text"] != banned_reply and "Secret-marker" in replies[-1]["text"]
    await p.press("Withdraw #1")
    await p.press("Yes, withdraw it")
    await wait_status(harness, tid, Status.WITHDRAWN)
    await p.send("/forget")
    replies = await p.press("Yes, erase everything")
    assert "nothing about you" in replies[-1]["text"]
    assert await harness.repo.get_user(p.id) is None


async def test_after_forget_no_file_holds_the_person_not_even_a_backup(
    harness: Harness, tmp_path: Path
) -> None:
    """Issue 22, item 3: after /forget, neither the database, its -wal, nor a backup taken
    right after holds the person's name, username or words, not even in the inbox row of
    the "erase everything" press itself (the inbox keeps only update ids once handled)."""
    p = harness.person("Zélie-f00d", last_name="Surname-c0ffee", username="zelie_b33f")
    await submit(harness, p, quote=QUOTE)
    await p.send("/forget")
    await p.press("Yes, erase everything")
    await harness.settle()
    backup = tmp_path / "backup.db"
    await make_backup(Path(harness.settings.database), backup)
    path = Path(harness.settings.database)
    files = [f for f in (path, Path(f"{path}-wal"), backup) if f.exists()]
    for file in files:
        content = file.read_bytes()
        for private in ("Zélie-f00d", "Surname-c0ffee", "zelie_b33f", "Secret-marker-91b2"):
            assert private.encode() not in content, (private, file.name)
    # The updates are still recognised if Telegram sends them again.
    [[handled]] = await harness.repo.db.fetchall(
        "SELECT count(*) FROM inbox WHERE done_at IS NOT NULL AND payload = ''"
    )
    assert handled >= 4


async def test_forget_erases_the_books_export_sent_to_the_group(harness: Harness) -> None:
    """/export sent the book to the group with everyone approved in it: the /forget of one of
    them deletes it there (or, past Telegram's 48 hours, replaces it with a notice)."""
    h = harness
    p, other = h.person(), h.person("Grace")
    tid = await submit(h, p, quote=QUOTE)
    card = await card_of(h, tid)
    await press(h, ORGANISER_ID, card.card_message_ids[0], f"mod:approve:{tid}")
    await wait_status(h, tid, Status.PUBLISHED)
    h.fake.user_sends(ORGANISER_ID, "/export", chat_id=GROUP_ID)
    await h.settle()
    old = h.group_messages()[-1]
    assert QUOTE in old["document"]["content"].decode("utf-8")
    h.fake.age_message(GROUP_ID, old["message_id"], hours=49)
    h.fake.user_sends(ORGANISER_ID, "/export csv", chat_id=GROUP_ID)
    await h.settle()
    recent = h.group_messages()[-1]
    assert recent["document"]["filename"] == "livre-dor.csv"
    # Someone who was never approved forgets: the books do not hold them, they stay.
    await other.send("/forget")
    await other.press("Yes, erase everything")
    await h.settle()
    assert h.fake.message(GROUP_ID, recent["message_id"])["document"] is not None
    await p.send("/forget")
    replies = await p.press("Yes, erase everything")
    await h.settle()
    assert h.fake.message(GROUP_ID, recent["message_id"])["deleted"]
    erased = h.fake.message(GROUP_ID, old["message_id"])
    assert erased["document"] is None and "someone in it asked to be forgotten" in erased["text"]
    for message in h.group_messages():
        document = message["document"]
        assert document is None or QUOTE.encode() not in document["content"]
    assert "too old to delete" in replies[-1]["text"]
    # A fresh /export holds only who is left.
    h.fake.user_sends(ORGANISER_ID, "/export", chat_id=GROUP_ID)
    await h.settle()
    assert QUOTE not in h.group_messages()[-1]["document"]["content"].decode("utf-8")
