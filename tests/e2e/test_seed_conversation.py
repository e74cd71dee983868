"""The whole seed livre d'or through the attendee conversation, 31 people talking at once.

Every entry of the ROUMICS 2012 book is typed into the bot by its own fake user, all users
interleaved, and must come out as a pending testimonial equal to its entry: the bot is only
fit for the event if every one of these goes through intact.
"""

from __future__ import annotations

import asyncio
import itertools
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.book.parse import BookEntry, parse_book
from bot.services.pastes import Client, split
from bot.services.questions import PREVIEW_MARKER, PROFILE_BUTTON_WIDTH
from bot.services.render import GUILLEMET_CLOSE, GUILLEMET_OPEN, join_parts_plain
from storage.models import Status
from storage.textlength import shorten, telegram_length
from tests.support import Harness, make_fake, running_bot

JSON = dict[str, Any]

TELEGRAM_TEXT_MAX = 4096
FIRST_USER_ID = 3001
SEED_ENTRIES = 31
LONGEST_QUOTE = 4330
STEP_TIMEOUT = 60.0  # 31 people share Telegram's 30 messages a second: be patient
GROUP_WINDOW = 0.1  # seconds

# What the bot says at each step (bot/texts/en.toml), as the attendee would recognise it.
ASKS_NAME = "What name should appear"
ASKS_ORGANISATION = "Your role and organisation"
ASKS_QUOTE = "Now your testimonial"
QUOTE_RECEIVED = "characters so far"
ASKS_PHOTO = "add a photo?"
ASKS_CONSENT = "Do you agree"
PREVIEW_INTRO = "Here is your testimonial exactly as it will appear in the channel:"
AGREED = "✅ You agreed."
PREVIEW_ACTIONS = "Send it, or correct something first."
SUBMITTED = "Thank you!"
ERROR = "something went wrong"


def nfc(text: str) -> str:
    """Return ``text`` in Unicode normal form C."""
    return unicodedata.normalize("NFC", text)


def split_long_paste(quote: str, user_index: int) -> list[str]:
    """Return the messages a paste of ``quote`` arrives as, cut as one of the official apps
    cuts a text over Telegram's 4,096 characters (each attendee has one of the three)."""
    return split(quote, list(Client)[user_index % len(Client)])


@dataclass
class Attendee:
    """One seed entry and the fake user who types it in."""

    user_id: int
    entry: BookEntry
    chunks: list[str]
    by_button: bool  # the name comes from the "Use “First Last”" button, not typed

    @property
    def organisation(self) -> str:
        return "\n".join(self.entry.organisation_lines)

    @property
    def expected_preview(self) -> str:
        header = "\n".join([self.entry.name, *self.entry.organisation_lines])
        return f"{header}\n\n{GUILLEMET_OPEN}{self.entry.quote}{GUILLEMET_CLOSE}"


def make_attendees(harness: Harness, seed_text: str) -> list[Attendee]:
    """Create one fake user per seed entry; every other one has the entry's name on their
    Telegram profile and takes it with the button."""
    entries = parse_book(seed_text).entries
    assert len(entries) == SEED_ENTRIES
    attendees = []
    for i, entry in enumerate(entries):
        user_id = FIRST_USER_ID + i
        by_button = i % 2 == 1
        if by_button:
            harness.fake.add_user(user_id, entry.name, username=f"seed{i}")
        else:
            harness.fake.add_user(user_id, "Guest", last_name=str(i), username=f"seed{i}")
        attendees.append(Attendee(user_id, entry, split_long_paste(entry.quote, i), by_button))
    return attendees


async def play(harness: Harness, a: Attendee) -> None:
    """Go through the whole conversation as ``a``, waiting for each of the bot's answers."""
    fake = harness.fake
    uid = a.user_id

    async def step(action: Callable[[], object], expected: str, count: int = 1) -> list[JSON]:
        before = fake.snapshot(uid)
        action()

        def answered() -> list[JSON]:
            new = fake.changed_since(uid, before)  # new messages, or a press answered in place
            if any(ERROR in m["text"] for m in new):
                raise AssertionError(f"user {uid}: the bot failed: {[m['text'] for m in new]}")
            return new if sum(expected in m["text"] for m in new) >= count else []

        new: list[JSON] = await fake.wait_for(
            answered, STEP_TIMEOUT, what=f"{expected!r} x{count} for user {uid}"
        )
        await asyncio.sleep(0)  # let the other attendees take their turn
        return new

    def send(*texts: str) -> Callable[[], None]:
        def act() -> None:
            for text in texts:
                fake.user_sends(uid, text)

        return act

    def press(action: str) -> Callable[[], None]:
        def act() -> None:
            message_id = int(fake.last_message(uid)["message_id"])
            [data] = [
                d
                for _, d in fake.buttons(uid, message_id)
                if d is not None and d.startswith(f"in:{action}:")
            ]
            fake.user_presses(uid, uid, message_id, data)

        return act

    await step(send("/start"), ASKS_NAME)
    if a.by_button:
        labels = [label for label, _ in fake.buttons(uid)]
        # A long name is cut at a word on the button; pressing it still gives the whole name.
        assert labels == [f"Use “{shorten(a.entry.name, PROFILE_BUTTON_WIDTH)}”"], labels
        await step(press("profile"), ASKS_ORGANISATION)
    else:
        await step(send(a.entry.name), ASKS_ORGANISATION)
    if a.entry.organisation_lines:
        await step(send(a.organisation), ASKS_QUOTE)
    else:
        await step(press("skip"), ASKS_QUOTE)
    # A long paste arrives as several messages at once: send them without waiting.
    received = await step(send(*a.chunks), QUOTE_RECEIVED, count=len(a.chunks))
    counts = [m["text"] for m in received if QUOTE_RECEIVED in m["text"]]
    assert f"{len(a.entry.quote):,} {QUOTE_RECEIVED}" in counts[-1], counts
    await step(press("done"), ASKS_PHOTO)
    await step(press("noportrait"), ASKS_CONSENT)
    preview = await step(press("agree"), PREVIEW_ACTIONS)
    texts = [m["text"] for m in preview]
    assert PREVIEW_ACTIONS in texts[-1], texts
    if len(texts) == 1:
        # The consent question's message, edited: the choice, the line, the preview, the
        # actions line.
        assert f"{AGREED}\n\n{PREVIEW_INTRO}" in texts[0], texts
        parts = [texts[0].split(f"{PREVIEW_INTRO}\n\n", 1)[1].rsplit("\n\n", 1)[0]]
    else:
        # Too long for that: the choice on the consent question, then the line, the parts
        # as the channel will show them, the actions.
        assert texts[0].endswith(AGREED) and texts[1].endswith(PREVIEW_INTRO), texts
        parts = texts[2:-1]
    shown = join_parts_plain(parts, marker=PREVIEW_MARKER)
    assert shown == a.expected_preview, f"user {uid}: the preview is not the entry"
    await step(press("send"), SUBMITTED)


def delivered_updates(harness: Harness) -> list[JSON]:
    """Return every update the bot fetched, once each, in update_id order."""
    seen: dict[int, JSON] = {}
    for call in harness.fake.calls("getUpdates"):
        if call.response is not None and call.response.get("ok"):
            for update in call.response["result"]:
                seen.setdefault(update["update_id"], update)
    return [seen[k] for k in sorted(seen)]


def sender(update: JSON) -> int:
    """Return the id of the user an update comes from."""
    body = update.get("message") or update.get("callback_query") or {}
    return int(body["from"]["id"])


async def test_seed_entries_interleaved_come_out_intact(tmp_path: Path, seed_text: str) -> None:
    # The organisers' group takes 20 messages a window (Telegram: a minute; the harness: a
    # second): 31 cards wait a whole window. Here the window is 0.1 s, the bot's too: the
    # same proportions, without a second of waiting.
    fake = make_fake(group_window=GROUP_WINDOW)
    async with running_bot(tmp_path, fake, group_rate_period_seconds=GROUP_WINDOW) as harness:
        await _play_the_seed(harness, seed_text)


async def _play_the_seed(harness: Harness, seed_text: str) -> None:
    attendees = make_attendees(harness, seed_text)
    longest = max(attendees, key=lambda a: len(a.entry.quote))
    assert len(longest.entry.quote) == LONGEST_QUOTE
    assert len(longest.chunks) == 2
    assert all(telegram_length(c) <= TELEGRAM_TEXT_MAX for c in longest.chunks)
    assert all(len(a.chunks) == 1 for a in attendees if a is not longest)

    await asyncio.gather(*(play(harness, a) for a in attendees))

    fake = harness.fake
    ids = {a.user_id for a in attendees}

    # They really talked at once: every conversation was open before the first was sent,
    # and each person's messages reached the bot among other people's.
    updates = [u for u in delivered_updates(harness) if sender(u) in ids]
    order = [sender(u) for u in updates]
    first_send = next(
        i
        for i, u in enumerate(updates)
        if (u.get("callback_query") or {}).get("data", "").startswith("in:send:")
    )
    assert set(order[:first_send]) == ids
    for uid in ids:
        positions = [i for i, s in enumerate(order) if s == uid]
        others = {s for s in order[positions[0] : positions[-1]] if s != uid}
        assert len(others) >= 10, f"user {uid} was not interleaved with others"
    replies = [int(str(r.params["chat_id"])) for r in fake.calls("sendMessage")]
    replies = [chat for chat in replies if chat in ids]
    switches = sum(1 for x, y in itertools.pairwise(replies) if x != y)
    assert switches > len(replies) // 2, "the bot answered one person at a time"

    # Every entry came out as a pending testimonial of its own author, equal to the seed.
    pending = await harness.repo.list_by_status(Status.PENDING)
    assert len(pending) == SEED_ENTRIES
    by_user = {t.user_id: t for t in pending}
    assert set(by_user) == ids, "a testimonial belongs to the wrong person"
    for a in attendees:
        t = by_user[a.user_id]
        got = (nfc(t.name), nfc(t.organisation), nfc(t.quote))
        want = (nfc(a.entry.name), nfc(a.organisation), nfc(a.entry.quote))
        assert got == want, f"entry at seed line {a.entry.line} (user {a.user_id}) changed"
        assert t.consent_at is not None
    assert await harness.repo.get_draft(longest.user_id) is None
    long_one = by_user[longest.user_id]
    assert long_one.quote == "\n\n".join(longest.chunks) == longest.entry.quote

    # Each submission reached the organisers as a card.
    await harness.settle()
    pending = await harness.repo.list_by_status(Status.PENDING)
    assert sum(1 for t in pending if t.card_message_ids) == SEED_ENTRIES

    # Everything the bot sent was valid for Telegram (HTML, length): the fake refuses
    # otherwise, and it knew every method.
    assert fake.unknown_methods == []
    # (A 429 is Telegram asking to slow down under this load: the bot waits and retries.)
    refused = [
        (r.method, r.status, (r.response or {}).get("description"))
        for r in fake.requests
        if r.status is not None and r.status not in (200, 429)
    ]
    assert refused == []
    for uid in ids:
        assert not any(ERROR in m["text"] for m in fake.messages(uid))
