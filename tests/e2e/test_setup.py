"""``livredor setup`` driven as a person would: the real command in a pseudo-terminal
(pexpect), against the fake Telegram over loopback, which sends ``my_chat_member`` updates
when the test adds the bot to the group and the channel or changes its rights."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dotenv import dotenv_values
from telegram import Bot

from bot.app import ALLOWED_UPDATES
from bot.cli.setup import KEPT_PAUSE, Listener
from bot.sandbox import FakeRequest, FakeServer, FakeTelegram, start_server
from tests.e2e.cli_process import REPO, CliProcess, cli_env, free_port, run_cli
from tests.e2e.terminal import Terminal
from tests.support import CHANNEL_ID, FAST, GROUP_ID, ORGANISER_ID, TOKEN

BOT = "@livredor_test_bot"
ATTENDEE = 7001
WAITING = "Waiting for Telegram to tell the bot"


def make_world(*, with_bot: bool = False) -> FakeTelegram:
    """An organiser with a group and a channel; the bot in neither (unless ``with_bot``)."""
    fake = FakeTelegram(token=TOKEN, group_window=1.0, global_limit=FAST)
    fake.add_user(ORGANISER_ID, "Olga", last_name="Organiser", username="olga")
    fake.add_user(ATTENDEE, "Anna")
    fake.add_group(GROUP_ID, "Organisers", admins=[ORGANISER_ID], with_bot=with_bot)
    fake.add_channel(
        CHANNEL_ID, "Livre d'or", username="livredor", admins=[ORGANISER_ID], with_bot=with_bot
    )
    return fake


@pytest.fixture
async def served() -> AsyncIterator[tuple[FakeTelegram, FakeServer]]:
    fake = make_world()
    server = await start_server(fake)
    try:
        yield fake, server
    finally:
        await server.close()
        await fake.aclose()


def setup_terminal(workdir: Path, base_url: str) -> Terminal:
    """``livredor setup`` in a pseudo-terminal, in ``workdir``, against the fake."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "LIVREDOR_API_BASE_URL": base_url,
        "LIVREDOR_DATABASE": str(workdir / "livredor.db"),
    }
    return Terminal([sys.executable, "-m", "bot", "setup"], workdir, env)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def files_in(folder: Path) -> list[str]:
    """The files setup left (no temporary file, no database: setup creates none)."""
    return sorted(p.name for p in folder.iterdir() if p.is_file())


async def test_setup_finds_the_group_and_the_channel(
    tmp_path: Path, served: tuple[FakeTelegram, FakeServer]
) -> None:
    fake, server = served
    term = setup_terminal(tmp_path, server.base_url)
    try:
        await term.answer("Token: ", TOKEN)
        await term.expect(f"this is {BOT} (Livre d'or)")
        await term.expect("Add @livredor_test_bot to your organisers' group and make it an admin")
        await term.expect(WAITING)
        # Added as a plain member first: setup explains the missing right and waits.
        fake.add_bot(GROUP_ID, by=ORGANISER_ID)
        await term.expect(f'{BOT} was added to "Organisers" (supergroup) by Olga Organiser.')
        await term.answer("your organisers' group? [Y/n]", "y")
        await term.expect("Not yet: the bot is a member but not an administrator. Make ")
        await term.expect("Waiting until it is done")
        fake.set_bot_rights(GROUP_ID, admin=True, by=ORGANISER_ID)
        await term.expect(f'ok: the organisers\' group is "Organisers" ({GROUP_ID})')

        await term.expect("to your channel as an administrator with the right to post")
        await term.expect(WAITING)
        # An attendee writes to the bot before it runs: setup must leave that for the bot.
        attendee_message = fake.user_sends(ATTENDEE, "/start")
        await term.expect(f"Anna opened a private chat with {BOT}: that is not a group.")
        fake.add_bot(CHANNEL_ID, by=ORGANISER_ID, admin=True, can_post_messages=False)
        await term.expect(f'{BOT} was made an administrator in "Livre d\'or" (channel)')
        await term.answer("your channel? [Y/n]", "")
        await term.expect("Not yet: the bot is an administrator but may not post.")
        fake.set_bot_rights(CHANNEL_ID, can_post_messages=True, by=ORGANISER_ID)
        await term.expect(f'ok: the channel is "Livre d\'or" ({CHANNEL_ID})')

        await term.answer("The event's name", "Journées « Livre d'or » 2026 #1 $HOME")
        await term.answer("the channel, en or fr [en]: ", "fr")
        await term.expect("Wrote .env (only you can read it")
        await term.expect("Everything is ready")
        await term.expect("Print the poster:  livredor poster -o poster.pdf")
        assert await term.end() == 0
    finally:
        term.kill()
    assert TOKEN not in term.output  # the hidden input is not echoed, nor printed anywhere

    env_file = tmp_path / ".env"
    assert mode(env_file) == 0o600
    values = dotenv_values(env_file)
    assert values["LIVREDOR_BOT_TOKEN"] == TOKEN
    assert values["LIVREDOR_ORGANISERS_CHAT_ID"] == str(GROUP_ID)
    assert values["LIVREDOR_CHANNEL_ID"] == str(CHANNEL_ID)
    assert values["LIVREDOR_EVENT_NAME"] == "Journées « Livre d'or » 2026 #1 $HOME"
    assert values["LIVREDOR_DEFAULT_LANGUAGE"] == "fr"
    # The new file is the documented example, filled in.
    assert "# The organisers' group, where submissions arrive as cards" in env_file.read_text()
    assert files_in(tmp_path) == [".env"]

    # Setup confirmed the group's updates, kept the attendee's message (and all after it)
    # for the bot, and gave the bot its update types back.
    pending = fake.pending_updates
    assert pending[0]["message"]["message_id"] == attendee_message["message_id"]
    assert not [
        u for u in pending if u.get("my_chat_member", {}).get("chat", {}).get("id") == GROUP_ID
    ]
    assert fake.allowed_updates == list(ALLOWED_UPDATES)

    # `livredor check`, from the .env alone (plus the fake's address).
    env = cli_env(None, tmp_path / "livredor.db", api_base_url=server.base_url)
    env.pop("LIVREDOR_DATABASE")
    code, out, err = await run_cli(tmp_path, "check", env=env)
    assert code == 0, out + err
    assert f'organisers\' group "Organisers" ({GROUP_ID}): the bot is an administrator' in out


async def test_an_existing_env_keeps_its_lines(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    mine = (
        "# My own notes: keep them.\n"
        f"LIVREDOR_BOT_TOKEN={TOKEN}\n"
        f"LIVREDOR_ORGANISERS_CHAT_ID={GROUP_ID}\n"
        "LIVREDOR_EVENT_NAME=Old name\n"
        "LIVREDOR_LOG_LEVEL=WARNING\n"
        "export OTHER_TOOL=yes  # not livredor's\n"
        f"LIVREDOR_CHANNEL_ID={GROUP_ID}\n"  # a mistake: the group's id
    )
    env_file.write_text(mine)
    env_file.chmod(0o644)
    fake = make_world(with_bot=True)
    server = await start_server(fake)
    term = setup_terminal(tmp_path, server.base_url)
    try:
        await term.answer("Token: ", "")  # Enter: keep the token of .env
        await term.expect(f"this is {BOT}")
        await term.answer(
            f'Keep the organisers\' group "Organisers" ({GROUP_ID}), already set?', ""
        )
        await term.expect("ok: the organisers' group")
        # The "channel" of .env is the group: said, and the channel found through Telegram.
        await term.expect(
            f'LIVREDOR_CHANNEL_ID is set to "Organisers" ({GROUP_ID}), which is a supergroup, '
            "not a channel"
        )
        await term.expect(WAITING)
        fake.set_bot_rights(CHANNEL_ID, member=False, by=ORGANISER_ID)
        await term.expect(f'{BOT} was removed from "Livre d\'or".')
        fake.add_bot(CHANNEL_ID, by=ORGANISER_ID, admin=True)
        await term.answer("your channel? [Y/n]", "yes")
        await term.answer("[Old name]: ", "")
        await term.answer("[en]: ", "")
        await term.expect("exists; setup keeps every line of it and changes only these:")
        await term.expect(f"-LIVREDOR_CHANNEL_ID={GROUP_ID}")
        await term.expect(f"+LIVREDOR_CHANNEL_ID={CHANNEL_ID}")
        await term.answer("Write these changes to .env? [Y/n]", "y")
        await term.expect("Everything is ready")
        assert await term.end() == 0
    finally:
        term.kill()
        await server.close()
        await fake.aclose()
    assert TOKEN not in term.output
    text = env_file.read_text()
    # Every line kept, in its place; only the channel's value changed.
    kept = mine.replace(f"CHANNEL_ID={GROUP_ID}", f"CHANNEL_ID={CHANNEL_ID}")
    assert text.startswith(kept)
    values = dotenv_values(env_file)
    assert values["LIVREDOR_CHANNEL_ID"] == str(CHANNEL_ID)
    assert values["LIVREDOR_DEFAULT_LANGUAGE"] == "en"
    assert mode(env_file) == 0o600


async def test_ctrl_c_leaves_the_old_env(
    tmp_path: Path, served: tuple[FakeTelegram, FakeServer]
) -> None:
    fake, server = served
    env_file = tmp_path / ".env"
    old = "LIVREDOR_EVENT_NAME=Before\nLIVREDOR_LOG_LEVEL=INFO\n"
    env_file.write_text(old)
    env_file.chmod(0o640)
    term = setup_terminal(tmp_path, server.base_url)
    try:
        await term.answer("Token: ", TOKEN)
        await term.expect(WAITING)
        fake.add_bot(GROUP_ID, by=ORGANISER_ID, admin=True)
        await term.answer("your organisers' group? [Y/n]", "y")
        fake.add_bot(CHANNEL_ID, by=ORGANISER_ID, admin=True)
        await term.answer("your channel? [Y/n]", "y")
        await term.answer("[Before]: ", "After")
        await term.answer("[en]: ", "")
        # Everything is ready to be written: Ctrl-C now.
        await term.expect("Write these changes to .env? [Y/n]")
        await term.interrupt("Stopped (Ctrl-C): nothing was written, .env is as it was.")
        assert await term.end() == 130
    finally:
        term.kill()
    assert env_file.read_text() == old
    assert mode(env_file) == 0o640
    assert files_in(tmp_path) == [".env"]
    # Even stopped, setup gave the bot its update types back.
    assert fake.allowed_updates == list(ALLOWED_UPDATES)


async def test_no_network_wrong_token_and_a_channel_offered_as_the_group(tmp_path: Path) -> None:
    fake = make_world()
    port = free_port()
    term = setup_terminal(tmp_path, f"http://127.0.0.1:{port}/bot")
    server: FakeServer | None = None
    try:
        await term.answer("Token: ", "hello")
        await term.expect("That is not a token: a token looks like 123456789:AAE-your-token")
        await term.answer("Token: ", TOKEN)
        # Nothing listens there yet: no network.
        await term.expect(f"Could not reach Telegram (127.0.0.1:{port}): check this machine's")
        server = await start_server(fake, port=port)
        term.child.sendline("")
        await term.expect(f"this is {BOT}")
        await term.interrupt("Stopped (Ctrl-C)")
        assert await term.end() == 130

        term = setup_terminal(tmp_path, server.base_url)
        await term.answer("Token: ", "123456:NOT-THE-TOKEN")
        await term.expect("Telegram refused this token: copy it again from @BotFather")
        await term.answer("Token: ", TOKEN)
        await term.expect(WAITING)
        fake.add_bot(CHANNEL_ID, by=ORGANISER_ID, admin=True)
        await term.expect('"Livre d\'or" is a channel, not a group')
        fake.add_bot(GROUP_ID, by=ORGANISER_ID, admin=True)
        await term.answer('Is "Organisers" your organisers\' group? [Y/n]', "y")
        await term.expect("ok: the organisers' group")
        # The channel seen too early is offered in its own step.
        await term.answer('Is "Livre d\'or" your channel? [Y/n]', "y")
        await term.expect("ok: the channel")
        await term.expect("The event's name")
        await term.interrupt("Stopped (Ctrl-C)")
        assert await term.end() == 130
    finally:
        term.kill()
        if server is not None:
            await server.close()
        await fake.aclose()
    assert "NOT-THE-TOKEN" not in term.output and TOKEN not in term.output
    assert not (tmp_path / ".env").exists()


async def test_non_interactive_prints_what_it_found(
    tmp_path: Path, served: tuple[FakeTelegram, FakeServer]
) -> None:
    fake, server = served
    env = cli_env(None, tmp_path / "livredor.db", api_base_url=server.base_url, bot_token=TOKEN)
    process = CliProcess(tmp_path, "setup")
    try:
        await process.start("setup", "--non-interactive", "--wait", "30", env=env)
        await fake.wait_for(
            lambda: fake.allowed_updates == ["my_chat_member", "message"], 15, what="a poll"
        )
        fake.add_bot(GROUP_ID, by=ORGANISER_ID)  # a member only: not enough, said on stderr
        await process.wait_log("Make @livredor_test_bot an administrator", 15)
        fake.set_bot_rights(GROUP_ID, admin=True, by=ORGANISER_ID)
        fake.add_bot(CHANNEL_ID, by=ORGANISER_ID, admin=True)
        assert await process.wait(15) == 0, process.stderr
    finally:
        await process.kill()
    assert process.stdout.splitlines() == [
        '# The organisers\' group: "Organisers" (supergroup)',
        f"LIVREDOR_ORGANISERS_CHAT_ID={GROUP_ID}",
        '# The channel: "Livre d\'or" (channel)',
        f"LIVREDOR_CHANNEL_ID={CHANNEL_ID}",
    ]
    assert TOKEN not in process.stdout + process.stderr
    assert fake.allowed_updates == list(ALLOWED_UPDATES)


async def test_setup_confirms_only_the_updates_it_used() -> None:
    """The offset passes the group's updates at the head of the queue, never an attendee's
    message nor anything after it; the last call puts the bot's update types back."""
    fake = make_world()
    bot = Bot(TOKEN, request=FakeRequest(fake), get_updates_request=FakeRequest(fake))
    paused: list[float] = []

    async def pause(seconds: float) -> None:
        paused.append(seconds)

    listener = Listener(bot, sleep=pause)
    await listener.poll(timeout=0)  # from now on, Telegram sends my_chat_member
    fake.add_bot(GROUP_ID, by=ORGANISER_ID, admin=True)  # my_chat_member + service message
    fake.user_sends(ATTENDEE, "Hello")
    fake.add_bot(CHANNEL_ID, by=ORGANISER_ID, admin=True)
    events = await listener.poll(timeout=0)
    assert [type(e).__name__ for e in events] == ["Seen", "PrivateChat", "Seen"]
    assert paused == []
    assert await listener.poll(timeout=0) == []  # seen already: not shown twice
    assert paused == [KEPT_PAUSE]  # Telegram answered at once: a pause, not a spin
    await listener.close()
    kinds = [next(k for k in u if k != "update_id") for u in fake.pending_updates]
    assert kinds == ["message", "my_chat_member"]
    assert fake.pending_updates[0]["message"]["text"] == "Hello"
    assert fake.allowed_updates == list(ALLOWED_UPDATES)


async def test_a_group_that_becomes_a_supergroup(tmp_path: Path) -> None:
    """A basic group turned into a supergroup while setup waits: the new id is the one kept."""
    fake = make_world()
    basic, upgraded = -4000001, -1004000001
    fake.add_group(basic, "Team", admins=[ORGANISER_ID], supergroup=False, with_bot=False)
    # Before setup runs: Telegram keeps the update (up to 24 hours) until someone asks.
    fake.add_bot(CHANNEL_ID, by=ORGANISER_ID, admin=True)
    server = await start_server(fake)
    term = setup_terminal(tmp_path, server.base_url)
    try:
        await term.answer("Token: ", TOKEN)
        await term.expect('"Livre d\'or" is a channel, not a group')
        fake.add_bot(basic, by=ORGANISER_ID)
        await term.answer('Is "Team" your organisers\' group? [Y/n]', "y")
        await term.expect("Not yet: the bot is a member but not an administrator.")
        fake.migrate_group(basic, upgraded, by=ORGANISER_ID)
        fake.set_bot_rights(upgraded, admin=True, by=ORGANISER_ID)
        await term.expect(f'ok: the organisers\' group is "Team" ({upgraded})')
        await term.answer('Is "Livre d\'or" your channel? [Y/n]', "y")
        await term.answer("The event's name", "Team day")
        await term.answer("[en]: ", "")
        await term.expect("Everything is ready")
        assert await term.end() == 0
    finally:
        term.kill()
        await server.close()
        await fake.aclose()
    assert dotenv_values(tmp_path / ".env")["LIVREDOR_ORGANISERS_CHAT_ID"] == str(upgraded)


async def test_without_a_terminal_or_with_a_webhook_set(
    tmp_path: Path, served: tuple[FakeTelegram, FakeServer]
) -> None:
    fake, server = served
    env = cli_env(None, tmp_path / "livredor.db", api_base_url=server.base_url)
    code, out, err = await run_cli(tmp_path, "setup", env=env)  # stdin is /dev/null
    assert code == 2
    assert "there is no terminal to answer them in: run `livredor setup --non-interactive`" in err

    # Nothing found in time: said, with what to do.
    env["LIVREDOR_BOT_TOKEN"] = TOKEN
    code, out, err = await run_cli(tmp_path, "setup", "--non-interactive", "--wait", "1", env=env)
    assert (code, out) == (1, "")
    assert "Not found: the organisers' group and the channel. Add @livredor_test_bot" in err

    # A webhook receives the updates: setup cannot read them, and says so.
    await fake.handle(TOKEN, "setWebhook", {"url": "http://127.0.0.1:9/hook"})
    term = setup_terminal(tmp_path, server.base_url)
    try:
        await term.answer("Token: ", TOKEN)
        await term.expect(
            "Another program is receiving this bot's updates (a running `livredor run`, or a "
            "webhook): stop it, then run setup again."
        )
        assert await term.end() == 1
    finally:
        term.kill()
    assert fake.webhook is not None  # left as it was
