"""``livredor run`` as a real process against the loopback fake Telegram: long polling, the
webhook and its secret, a clean stop on SIGTERM, and logs that keep the token and the quotes
to themselves."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

import aiohttp
import pytest

from bot.sandbox.webhook import SECRET_HEADER
from tests.e2e.cli_process import (
    CHANNEL_ID,
    GROUP_ID,
    TOKEN,
    CliProcess,
    approve,
    cli_env,
    fake_telegram,
    free_port,
    run_cli,
    say,
    submit,
    wait_until,
)

ALLOWED = ["message", "edited_message", "callback_query", "chat_member", "my_chat_member"]
ATTENDEE = 1001
# Distinctive, so finding it in a log cannot be a coincidence.
QUOTE = "Une journée formidable, vraiment. Marqueur-7f3a9c « citation » ☺"
SECRET = "s3cret-token_for-the-webhook-0123456789"


def _assert_clean_log(log: str) -> None:
    """The INFO log of a whole run: no token, no quote text, no traceback, no connection
    left open (aiohttp's "Unclosed client session")."""
    assert TOKEN not in log
    assert TOKEN.split(":", 1)[1] not in log
    assert "Marqueur-7f3a9c" not in log
    assert "Traceback" not in log, log
    assert "Unclosed" not in log, log


def _read_db(path: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute("SELECT * FROM testimonials ORDER BY id"))
    finally:
        conn.close()


async def test_polling_whole_flow(tmp_path: Path) -> None:
    database = tmp_path / "livredor.db"
    bot = CliProcess(tmp_path, "run")
    async with fake_telegram() as (fake, server):
        fake.add_user(ATTENDEE, "Ada", last_name="Lovelace", username="ada")
        try:
            await bot.start("run", env=cli_env(server, database))
            await bot.wait_log("receiving updates by long polling")
            await submit(fake, ATTENDEE, quote=QUOTE)
            post = await approve(fake)
            assert "Marqueur-7f3a9c" in post["text"]
            assert fake.allowed_updates == ALLOWED
            # The author hears about it: the last message of the private chat.
            await fake.wait_for(lambda: "published" in fake.messages(ATTENDEE)[-1]["text"], 15.0)
            await bot.wait_log("published")
            bot.signal(signal.SIGTERM)
            assert await bot.wait(10.0) == 0
        finally:
            await bot.kill()
        assert fake.unknown_methods == []
    log = bot.stderr
    for event in (
        "started as @livredor_test_bot",
        "receiving updates by long polling",
        "submission received: testimonial #1",
        "testimonial #1 approved by Olga Organiser (500)",
        "testimonial #1 published",
        "stopped; database closed",
    ):
        assert event in log, f"{event!r} not logged:\n{log}"
    _assert_clean_log(log)
    [row] = _read_db(database)
    assert row["status"] == "published" and row["quote"] == QUOTE


async def test_webhook_mode(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    env = cli_env(
        None,
        tmp_path / "livredor.db",
        webhook_url=url,
        webhook_listen="127.0.0.1",
        webhook_port=str(port),
        webhook_secret=SECRET,
    )
    bot = CliProcess(tmp_path, "run")
    async with fake_telegram() as (fake, server):
        env.update(cli_env(server, tmp_path / "livredor.db"))
        fake.add_user(ATTENDEE, "Ada", last_name="Lovelace")
        try:
            await bot.start("run", env=env)
            await bot.wait_log("receiving updates by webhook")
            [call] = fake.calls("setWebhook")
            assert call.params["url"] == url
            assert call.params["secret_token"] == SECRET
            assert call.params["allowed_updates"] == ALLOWED
            assert not fake.calls("getUpdates")

            # Telegram (the fake) POSTs the update with the secret; the bot answers.
            reply = await say(fake, ATTENDEE, "/start")
            assert "What name" in reply["text"]
            assert any(d.status == 200 for d in fake.webhook_deliveries)

            update = {
                "update_id": 999_999,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": ATTENDEE, "type": "private", "first_name": "Ada"},
                    "from": {"id": ATTENDEE, "is_bot": False, "first_name": "Ada"},
                    "text": "/help",
                },
            }
            body = json.dumps(update)
            async with aiohttp.ClientSession() as session:
                for headers in ({}, {SECRET_HEADER: "wrong-" + SECRET}, {SECRET_HEADER: ""}):
                    async with session.post(
                        url, data=body, headers={"Content-Type": "application/json", **headers}
                    ) as response:
                        assert response.status == 403, headers
                before = len(fake.messages(ATTENDEE))
                async with session.post(
                    url,
                    data=body,
                    headers={"Content-Type": "application/json", SECRET_HEADER: SECRET},
                ) as response:
                    assert response.status == 200
            # Only the update with the right secret was handled (one /help answer).
            await fake.wait_for(lambda: len(fake.messages(ATTENDEE)) > before, 15.0)

            bot.signal(signal.SIGTERM)
            assert await bot.wait(10.0) == 0
        finally:
            await bot.kill()
    _assert_clean_log(bot.stderr)
    assert SECRET not in bot.stderr


async def test_sigterm_mid_conversation_keeps_everything(tmp_path: Path) -> None:
    database = tmp_path / "livredor.db"
    async with fake_telegram() as (fake, server):
        fake.add_user(ATTENDEE, "Ada", last_name="Lovelace")
        env = cli_env(server, database)
        first = CliProcess(tmp_path, "first")
        try:
            await first.start("run", env=env)
            await first.wait_log("receiving updates by long polling")
            await say(fake, ATTENDEE, "/start")
            # The bot is in the middle of answering the name when the signal comes.
            fake.hold("sendMessage", chat_id=ATTENDEE)
            fake.user_sends(ATTENDEE, "Ada LOVELACE")
            await fake.wait_held()
            stopping = time.monotonic()
            first.signal(signal.SIGTERM)
            await first.wait_log("stopping: finishing the updates in hand")
            fake.release()
            assert await first.wait(10.0) == 0
            assert time.monotonic() - stopping < 10.0
        finally:
            await first.kill()
        # The answer in hand was finished, not dropped.
        assert "role and organisation" in fake.messages(ATTENDEE)[-1]["text"]
        assert "stopped; database closed" in first.stderr
        # Closed cleanly: SQLite removes the WAL when its last connection closes.
        assert not database.with_name(f"{database.name}-wal").is_file()
        [draft] = _read_db(database)
        assert (draft["status"], draft["step"], draft["name"]) == (
            "draft",
            "organisation",
            "Ada LOVELACE",
        )

        # A new process picks the conversation up at the same step.
        second = CliProcess(tmp_path, "second")
        try:
            await second.start("run", env=env)
            await second.wait_log("receiving updates by long polling")
            reply = await say(fake, ATTENDEE, "Analytical Engine Society")
            assert "Now your testimonial" in reply["text"]
            second.signal(signal.SIGINT)  # Ctrl-C stops it the same way
            assert await second.wait(10.0) == 0
        finally:
            await second.kill()
    [draft] = _read_db(database)
    assert draft["organisation"] == "Analytical Engine Society"
    _assert_clean_log(first.stderr + second.stderr)


async def test_stop_while_idle_is_quick(tmp_path: Path) -> None:
    """A long poll in progress does not hold the stop up."""
    async with fake_telegram() as (fake, server):
        bot = CliProcess(tmp_path, "run")
        try:
            await bot.start("run", env=cli_env(server, tmp_path / "livredor.db"))
            await bot.wait_log("receiving updates by long polling")
            await wait_until(lambda: fake.calls("getUpdates"), what="a long poll")
            stopping = time.monotonic()
            bot.signal(signal.SIGTERM)
            assert await bot.wait(10.0) == 0
            assert time.monotonic() - stopping < 5.0
        finally:
            await bot.kill()


async def test_bad_token_is_not_logged(tmp_path: Path) -> None:
    other = "654321:ANOTHER-TOKEN-NOT-KNOWN"
    async with fake_telegram() as (_fake, server):
        bot = CliProcess(tmp_path, "run")
        try:
            await bot.start("run", env=cli_env(server, tmp_path / "x.db", bot_token=other))
            code = await bot.wait(15.0)
        finally:
            await bot.kill()
    assert code != 0
    assert other not in bot.stderr + bot.stdout
    assert other.split(":", 1)[1] not in bot.stderr + bot.stdout


OUTSIDER_GROUP = -1009876543210


@pytest.mark.parametrize(
    ("organisers", "found"),
    [
        (str(CHANNEL_ID), "this chat is a channel, not a group"),
        (str(OUTSIDER_GROUP), "the bot is not a member of this group"),
        ("-1001111111111", "Telegram says the bot is not in this chat"),
    ],
    ids=["the-channel", "a-group-without-the-bot", "no-such-chat"],
)
async def test_run_refuses_an_organisers_chat_that_would_leak_or_lose_cards(
    tmp_path: Path, organisers: str, found: str
) -> None:
    """Issue 22, item 2: `run` checks the organisers' chat as `check` does before it takes
    a single update; a submission's card (name, words, profile) must never go to the
    public channel, nor attendees be told it reached organisers who cannot see it."""
    async with fake_telegram() as (fake, server):
        fake.add_group(OUTSIDER_GROUP, "Elsewhere", with_bot=False)
        env = cli_env(server, tmp_path / "livredor.db", organisers_chat_id=organisers)
        code, _, stderr = await run_cli(tmp_path, "run", env=env, name="run")
        assert code == 2, stderr
        assert "not starting: organisers' group" in stderr and found in stderr
        assert "To fix: " in stderr and "Traceback" not in stderr
        assert not fake.calls("getUpdates") and not fake.calls("setWebhook")
        assert fake.messages(CHANNEL_ID) == []


async def test_run_without_telegram_says_so_in_one_sentence(tmp_path: Path) -> None:
    """Issue 22, item 13: Telegram unreachable at start: one sentence, exit 1, no
    traceback (a supervisor starts it again)."""
    closed = f"http://127.0.0.1:{free_port()}/bot"  # nothing listens there
    env = cli_env(None, tmp_path / "livredor.db", api_base_url=closed)
    env.update(
        LIVREDOR_BOT_TOKEN=TOKEN,
        LIVREDOR_ORGANISERS_CHAT_ID=str(GROUP_ID),
        LIVREDOR_CHANNEL_ID=str(CHANNEL_ID),
    )
    code, _, stderr = await run_cli(tmp_path, "run", env=env, name="run")
    assert code == 1, stderr
    assert f"cannot reach Telegram at {closed}" in stderr
    assert "Traceback" not in stderr and TOKEN not in stderr


async def test_removed_from_the_group_while_running_says_so_everywhere(tmp_path: Path) -> None:
    """Issue 22, item 2 (while running): the bot is removed from the organisers' group. An
    ERROR in the log (once) as soon as Telegram says so, every attendee from then on is told
    the truth (saved, will reach the organisers), `livredor health` says unhealthy; the cards
    wait, none is dropped, and go out once the bot is back."""
    database = tmp_path / "livredor.db"
    bot = CliProcess(tmp_path, "run")
    async with fake_telegram() as (fake, server):
        env = cli_env(server, database)
        fake.add_user(ATTENDEE, "Ada", last_name="Lovelace")
        fake.add_user(ATTENDEE + 1, "Bob")
        try:
            await bot.start("run", env=env)
            await bot.wait_log("receiving updates by long polling")
            fake.set_bot_rights(GROUP_ID, member=False)
            # Telegram tells the bot (my_chat_member): no card needs to be refused first.
            await bot.wait_log("refuses the bot")
            await submit(fake, ATTENDEE, quote="Marqueur-e1 la carte attendra")
            await submit(fake, ATTENDEE + 1, name="Bob", quote="Marqueur-e2 la suivante aussi")
            for attendee in (ATTENDEE, ATTENDEE + 1):

                def told(attendee: int = attendee) -> bool:
                    return any(
                        "The organisers cannot receive it just now" in m["text"]
                        for m in fake.messages(attendee)
                    )

                await wait_until(told, 15, f"attendee {attendee} told the truth")
            code, _, err = await run_cli(tmp_path, "health", env=env, name="health")
            assert code == 1 and "Alive but not healthy" in err and "refuses the bot" in err
            fake.set_bot_rights(GROUP_ID, member=True, admin=True)
            for marker in ("Marqueur-e1", "Marqueur-e2"):

                def in_group(marker: str = marker) -> bool:
                    return any(marker in m["text"] for m in fake.messages(GROUP_ID))

                await wait_until(in_group, 60, f"the card {marker}, once the bot is back")
            await bot.wait_log("takes cards again")
            code, out, err = await run_cli(tmp_path, "health", env=env, name="healthy")
            assert code == 0 and "Alive" in out, err
            bot.signal(signal.SIGTERM)
            assert await bot.wait(10.0) == 0
        finally:
            await bot.kill()
    assert bot.stderr.count("refuses the bot") == 1, bot.stderr
