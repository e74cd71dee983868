"""Updates are durable before Telegram considers them delivered; questions Telegram never
confirmed are asked again after a restart. The real ``livredor run`` process, against the
fake Telegram on loopback, killed with ``kill -9`` while the fake holds its reply; in long
polling and in webhook mode.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.book.parse import parse_book
from bot.sandbox import FakeServer, FakeTelegram
from bot.services.pastes import Client, split
from storage import models
from storage.database import Database
from storage.inbox import Inbox
from storage.testimonials import Repository
from tests.e2e.cli_process import (
    CliProcess,
    cli_env,
    fake_telegram,
    free_port,
    press,
    run_cli,
    say,
    skip_photo,
    wait_until,
)
from tests.e2e.test_crash_recovery import (
    ASKS_ORGANISATION,
    ASKS_QUOTE,
    NAME,
    ORGANISATION,
    PREVIEW_ACTIONS,
    USER,
    read_state,
)

TIMEOUT = 15.0
REASKED = "I was restarted and can't be sure my last message reached you"
MODES = ["polling", "webhook"]


class Bot:
    """``livredor run`` in polling or webhook mode, restartable on one database."""

    def __init__(self, tmp_path: Path, fake: FakeTelegram, server: FakeServer, mode: str):
        self.tmp_path = tmp_path
        self.fake = fake
        self.mode = mode
        self.database = tmp_path / "livredor.db"
        self.env = cli_env(server, self.database)
        if mode == "webhook":
            port = free_port()
            self.env.update(
                LIVREDOR_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
                LIVREDOR_WEBHOOK_LISTEN="127.0.0.1",
                LIVREDOR_WEBHOOK_PORT=str(port),
                LIVREDOR_WEBHOOK_SECRET="s3cret-token_for-the-webhook-0123456789",
            )
        self.processes: list[CliProcess] = []

    async def start(self) -> None:
        process = CliProcess(self.tmp_path, f"bot{len(self.processes) + 1}")
        self.processes.append(process)
        await process.start("run", env=self.env)
        await process.wait_log(
            f"receiving updates by {'webhook' if self.mode == 'webhook' else 'long polling'}", 30.0
        )

    async def kill9(self) -> None:
        current = self.processes[-1]
        current.signal(signal.SIGKILL)
        assert await current.wait(10) == -signal.SIGKILL

    async def kill_all(self) -> None:
        for process in self.processes:
            await process.kill()

    def log(self) -> str:
        return "\n".join(f"--- {p.stderr_path.name}\n{p.stderr}" for p in self.processes)


OTHER = USER + 1


async def read_draft(database: Path, user_id: int) -> models.Testimonial | None:
    db = await Database.open(database, migrate=False)
    try:
        return await Repository(db).get_draft(user_id)
    finally:
        await db.close()


async def unfinished(database: Path) -> int:
    db = await Database.open(database, migrate=False)
    try:
        return await Inbox(db).count_unfinished()
    finally:
        await db.close()


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait until an async ``check`` of the database holds (the bot writes just after
    Telegram answers, so the fake can show a message a moment before)."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def until_all_done(database: Path) -> None:
    """Wait until every update in the inbox is marked done (just after its handlers ran)."""

    async def all_done() -> bool:
        return await unfinished(database) == 0

    await eventually(all_done, "every update done")


async def delivered(database: Path) -> bool:
    draft, _ = await read_state(database)
    return draft is not None and draft.question_delivered


def texts(fake: FakeTelegram, after: int = 0) -> list[str]:
    return [m["text"] for m in fake.messages(USER)[after:]]


async def to_quote_step(fake: FakeTelegram) -> None:
    await say(fake, USER, "/start")
    await say(fake, USER, NAME)
    assert ASKS_QUOTE in (await say(fake, USER, ORGANISATION))["text"]


@pytest.mark.parametrize("mode", MODES)
async def test_part_two_of_a_paste_survives_a_kill_while_part_one_is_answered(
    tmp_path: Path, mode: str, seed_text: str
) -> None:
    # François MOREAU's entry as Telegram Desktop sends it: cut at its last paragraph break
    # (3,871 + 457 characters), the break itself dropped by the client.
    [quote] = [e.quote for e in parse_book(seed_text).entries if e.name == "François MOREAU"]
    part_1, part_2 = split(quote, Client.DESKTOP)
    async with fake_telegram() as (fake, server):
        fake.add_user(USER, "Ada", last_name="Lovelace")
        fake.add_user(OTHER, "Grace", last_name="Hopper")
        bot = Bot(tmp_path, fake, server, mode)
        try:
            await bot.start()
            await to_quote_step(fake)
            fake.hold("sendMessage", chat_id=USER)
            fake.user_sends(USER, part_1)
            await fake.wait_held(timeout=TIMEOUT)  # part 1 is committed, its reply held
            sent = fake.user_sends(USER, part_2)
            update_id = next(
                u["update_id"]
                for u in fake.pending_updates
                if u.get("message", {}).get("message_id") == sent["message_id"]
            )
            # Telegram considers part 2 delivered: the next getUpdates moved past it, or
            # the webhook answered 200.
            await fake.wait_for(
                lambda: update_id not in [u["update_id"] for u in fake.pending_updates],
                TIMEOUT,
                what="part 2 confirmed to Telegram",
            )
            await bot.kill9()
            fake.release()
            draft, _ = await read_state(bot.database)
            assert draft is not None and draft.quote == part_1  # part 2 not handled yet...
            assert await unfinished(bot.database) >= 1  # ...but in the inbox

            seen = len(fake.messages(USER))
            await bot.start()
            # Joined as typed: the paragraph break the client dropped is back.
            await fake.wait_for(
                lambda: any(f"{len(quote):,} characters so far" in t for t in texts(fake, seen)),
                TIMEOUT,
                what="part 2 acknowledged after the restart",
            )
            await press(fake, USER, "Done")
            await skip_photo(fake, USER)
            await press(fake, USER, "Yes, I agree")
            await fake.wait_for(
                lambda: PREVIEW_ACTIONS in texts(fake, seen), TIMEOUT, what="the preview"
            )
            draft, _ = await read_state(bot.database)
            assert draft is not None and draft.quote == quote
            assert "gratuitement sur internet.\n\nLe crowdfunding" in draft.quote

            # Same process: the whole seed book pasted by another attendee from Android,
            # three parts over the limit of 6,000: nothing of it is kept, and they are told.
            await say(fake, OTHER, "/start")
            await say(fake, OTHER, NAME)
            await say(fake, OTHER, ORGANISATION)
            parts = split(seed_text, Client.ANDROID)
            assert len(parts) == 3
            before = len(fake.messages(OTHER))
            for part in parts:
                fake.user_sends(OTHER, part)
            await fake.wait_for(
                lambda: len(fake.messages(OTHER)) >= before + 3, TIMEOUT, what="3 answers"
            )
            got, refused, rest = (m["text"] for m in fake.messages(OTHER)[before:])
            assert got.startswith("Got it: ")
            assert "I have kept none of it" in refused
            assert refused.endswith("Your testimonial is still empty.")
            assert rest == "The rest of that long text is not kept either."
            await until_all_done(bot.database)
            other = await read_draft(bot.database, OTHER)
            assert other is not None and other.quote == "" and other.step is models.Step.QUOTE
        finally:
            fake.release()
            await bot.kill_all()
    assert fake.unknown_methods == [], bot.log()


@pytest.mark.parametrize("mode", MODES)
async def test_a_question_never_confirmed_is_asked_again_after_a_restart(
    tmp_path: Path, mode: str
) -> None:
    async with fake_telegram() as (fake, server):
        fake.add_user(USER, "Ada", last_name="Lovelace")
        bot = Bot(tmp_path, fake, server, mode)
        try:
            await bot.start()
            await say(fake, USER, "/start")
            # The name is committed; the question that follows never comes back from
            # Telegram (held), and the bot dies.
            fake.hold("sendMessage", chat_id=USER)
            fake.user_sends(USER, NAME)
            await fake.wait_held(timeout=TIMEOUT)
            await bot.kill9()
            fake.release()
            draft, _ = await read_state(bot.database)
            assert draft is not None and draft.name == NAME and not draft.question_delivered

            seen = len(fake.messages(USER))
            await bot.start()
            # Nothing sent by the attendee: the bot asks again, with the question's button.
            reasked = await fake.wait_for(
                lambda: [m for m in fake.messages(USER)[seen:] if REASKED in m["text"]],
                TIMEOUT,
                what="the question asked again",
            )
            [message] = reasked
            await bot.processes[-1].wait_log("asked 1 open question(s) again")
            assert ASKS_ORGANISATION in message["text"]
            assert [label for label, _ in fake.buttons(USER, message["message_id"])] == ["Skip"]
            await eventually(lambda: delivered(bot.database), "the question recorded as asked")
            # The attendee answers: it is the organisation, not a second name.
            assert ASKS_QUOTE in (await say(fake, USER, ORGANISATION))["text"]
            draft, _ = await read_state(bot.database)
            assert draft is not None
            assert (draft.name, draft.organisation) == (NAME, ORGANISATION)
            # Asked once: a second restart does not ask again (once the bot has recorded
            # that Telegram accepted the question; before that, asking again is right).
            await eventually(lambda: delivered(bot.database), "the quote question recorded")
            await until_all_done(bot.database)
            await bot.kill9()
            seen = len(fake.messages(USER))
            await bot.start()
            await bot.processes[-1].wait_log("asked 0 open question(s) again")
            assert "Skip" not in str(texts(fake, seen))
            assert sum(REASKED in t for t in texts(fake)) == 1
        finally:
            fake.release()
            await bot.kill_all()
    assert fake.unknown_methods == [], bot.log()


@pytest.mark.parametrize("mode", MODES)
async def test_the_inbox_keeps_each_update_as_telegram_sent_it(tmp_path: Path, mode: str) -> None:
    # Long polling keeps the JSON of getUpdates' answer, the webhook server each POST's body
    # (no rebuilding from PTB's objects, whose to_dict differs): what is replayed after a
    # crash is the update. Once handled, an update keeps only its id (issue 22, item 3).
    async with fake_telegram() as (fake, server):
        fake.add_user(USER, "Ada", last_name="Lovelace")
        bot = Bot(tmp_path, fake, server, mode)
        try:
            await bot.start()
            await say(fake, USER, "/help")  # handled: only its id stays
            fake.hold("sendMessage", chat_id=USER)
            fake.user_sends(USER, "/start")
            await fake.wait_held(timeout=TIMEOUT)  # committed, its reply held: not done
            fake.user_sends(USER, "Ada <b>&</b> « ☺ »")  # committed, waiting for its turn
            await wait_until(lambda: not fake.pending_updates, TIMEOUT, "updates confirmed")
            await bot.kill9()
        finally:
            await bot.kill_all()
        if mode == "webhook":
            sent = {d.update_id: d.update for d in fake.webhook_deliveries if d.status == 200}
        else:
            sent = {
                u["update_id"]: u
                for call in fake.calls("getUpdates")
                if call.response is not None and call.response.get("ok")
                for u in call.response["result"]
            }
    db = await Database.open(bot.database, migrate=False)
    try:
        rows = await db.fetchall("SELECT update_id, payload FROM inbox ORDER BY update_id")
    finally:
        await db.close()
    handled, *waiting = rows
    assert handled[1] == ""
    stored = {r[0]: json.loads(r[1]) for r in waiting}
    texts = [u.get("message", {}).get("text") for u in stored.values()]
    assert texts == ["/start", "Ada <b>&</b> « ☺ »"]
    assert stored == {update_id: sent[update_id] for update_id in stored}


# A message whose sender lacks fields PTB requires: what a Bot API server of another version
# (or a field PTB does not know yet) can send. PTB cannot read it.
UNREADABLE_MESSAGE = {
    "message_id": 77,
    "date": 1_700_000_000,
    "chat": {"id": USER, "type": "private"},
    "from": {"id": USER},
    "text": "Marqueur-unreadable",
}


@pytest.mark.parametrize("mode", MODES)
async def test_an_update_that_cannot_be_read_is_stepped_over(tmp_path: Path, mode: str) -> None:
    """Issue 21, item 10: one update PTB cannot read no longer stops every getUpdates (or
    holds the webhook's queue): it is kept in the inbox as unreadable, logged once with its
    id, reported by `livredor check`, and the next person is answered."""
    async with fake_telegram() as (fake, server):
        fake.add_user(USER, "Ada", last_name="Lovelace")
        bot = Bot(tmp_path, fake, server, mode)
        try:
            await bot.start()
            bad = fake.queue_update("message", UNREADABLE_MESSAGE)
            assert bad is not None
            reply = await say(fake, USER, "/start", timeout=TIMEOUT)
            assert "What name" in reply["text"]
            await wait_until(lambda: not fake.pending_updates, TIMEOUT, "updates confirmed")
            current = bot.processes[-1]
            await current.wait_log(f"update {bad['update_id']} cannot be read")
            current.signal(signal.SIGTERM)
            assert await current.wait(10) == 0
        finally:
            await bot.kill_all()
        log = bot.log()
        assert log.count(f"update {bad['update_id']} cannot be read") == 1, log
        # PTB's own report of the failed getUpdates at most once, not once per retry, and
        # without the updates it quotes (people's names and words).
        assert log.count("Something went wrong processing the data") <= 1, log
        assert "Marqueur-unreadable" not in log and "Lovelace" not in log, log
        db = await Database.open(bot.database, migrate=False)
        try:
            [(update_id, why)] = await Inbox(db).unreadable()
        finally:
            await db.close()
        assert update_id == bad["update_id"] and "first_name" in why
        _, stdout, _ = await run_cli(tmp_path, "check", env=bot.env, name="check")
        assert (
            f"1 update from Telegram could not be read and was stepped over (ids {update_id}"
            in (stdout)
        )
