"""``livredor check`` against the loopback fake: each misconfiguration is reported with the
sentence that fixes it, and the exit code says whether all is ready.

Most cases run the check in process (over real HTTP to the fake); the real ``livredor check``
process runs where the process itself is the point: the exit codes, reading a ``.env``, the
settings' error messages, and dropping root's privileges to make a file unwritable.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Callable
from pathlib import Path

from bot.cli.check import run_check
from bot.sandbox import FakeTelegram
from config.settings import Settings
from storage.database import Database
from storage.migrations import SCHEMA_VERSION
from tests.e2e.cli_process import (
    CHANNEL_ID,
    GROUP_ID,
    REPO,
    TOKEN,
    cli_env,
    fake_telegram,
    run_cli,
)
from tests.support import make_settings

BOT = "@livredor_test_bot"


async def _check(
    tmp_path: Path,
    change: Callable[[FakeTelegram], None] | None = None,
    *,
    capabilities_dropped: tuple[int, ...] = (),
    database: Path | None = None,
    process: bool = False,
    **settings: str,
) -> tuple[int, str]:
    """Run the check against a fake changed by ``change``; return (code, output). It runs in
    process unless ``process`` or ``capabilities_dropped`` asks for the real ``livredor
    check``."""
    if database is None:
        database = tmp_path / "livredor.db"
        db = await Database.open(database)
        await db.close()
    async with fake_telegram() as (fake, server):
        if change is not None:
            change(fake)
        if process or capabilities_dropped:
            code, out, err = await run_cli(
                tmp_path,
                "check",
                env=cli_env(server, database, **settings),
                capabilities_dropped=capabilities_dropped,
            )
            assert "Traceback" not in err, err
        else:
            config = make_settings(database, api_base_url=server.base_url, **settings)
            with contextlib.redirect_stdout(io.StringIO()) as printed:
                code = await run_check(config)
            out, err = printed.getvalue(), ""
    assert TOKEN not in out + err
    return code, out


async def test_all_good(tmp_path: Path) -> None:
    code, out = await _check(tmp_path, process=True)
    assert code == 0, out
    assert f"ok    bot: {BOT}" in out
    assert "the bot is an administrator\n" in out
    assert "the bot is an administrator and may post" in out
    assert "post links: https://t.me/" in out
    assert f"writable, schema {SCHEMA_VERSION} (current)" in out
    assert "long polling" in out
    assert "Everything is ready" in out
    assert "FAIL" not in out


async def test_missing_database_is_fine(tmp_path: Path) -> None:
    code, out = await _check(tmp_path, database=tmp_path / "new.db")
    assert code == 0, out
    assert "does not exist yet; `livredor run` will create it" in out
    assert not (tmp_path / "new.db").exists(), "check must not create the database"


async def test_bot_not_admin_in_group(tmp_path: Path) -> None:
    code, out = await _check(tmp_path, lambda f: f.set_bot_rights(GROUP_ID, admin=False))
    assert code == 1
    assert 'FAIL  organisers\' group "Organisers"' in out
    assert f"to fix: Make {BOT} an administrator of the organisers' group" in out
    assert "1 problem: fix it" in out


async def test_bot_not_in_group(tmp_path: Path) -> None:
    code, out = await _check(tmp_path, lambda f: f.set_bot_rights(GROUP_ID, member=False))
    assert code == 1
    assert f"to fix: Add {BOT} to the organisers' group and make it an administrator." in out


async def test_wrong_group_id(tmp_path: Path) -> None:
    code, out = await _check(tmp_path, organisers_chat_id="-1009999999999")
    assert code == 1
    assert "LIVREDOR_ORGANISERS_CHAT_ID is that group's id" in out


async def test_channel_given_as_group(tmp_path: Path) -> None:
    code, out = await _check(tmp_path, organisers_chat_id=str(CHANNEL_ID))
    assert code == 1
    assert "this chat is a channel, not a group" in out


async def test_cannot_post_in_channel(tmp_path: Path) -> None:
    code, out = await _check(tmp_path, lambda f: f.set_bot_rights(CHANNEL_ID, admin=False))
    assert code == 1
    assert f"to fix: Add {BOT} to the channel as an administrator with 'Post messages'." in out


async def test_admin_without_post_right_in_channel(tmp_path: Path) -> None:
    code, out = await _check(
        tmp_path, lambda f: f.set_bot_rights(CHANNEL_ID, can_post_messages=False)
    )
    assert code == 1
    assert "the bot is an administrator but may not post" in out
    assert f"to fix: Give {BOT} the 'Post messages' right" in out


async def test_bad_token(tmp_path: Path) -> None:
    # Well-formed, so the settings accept it; the fake answers 401 like Telegram.
    other = "654321:ANOTHER-TOKEN-NOT-KNOWN"
    code, out = await _check(tmp_path, bot_token=other)
    assert code == 1
    assert other not in out
    assert "Telegram refused the token" in out
    assert "to fix: Copy the token again from @BotFather" in out
    # The database is still checked; the chats cannot be.
    assert "(current)" in out
    assert "organisers' group" not in out


async def test_all_problems_at_once(tmp_path: Path) -> None:
    def break_both(fake: FakeTelegram) -> None:
        fake.set_bot_rights(GROUP_ID, admin=False)
        fake.set_bot_rights(CHANNEL_ID, can_post_messages=False)

    code, out = await _check(tmp_path, break_both, database=tmp_path / "no" / "such.db")
    assert code == 1
    assert out.count("to fix:") == 3
    assert "3 problems: fix them" in out
    assert f"Create the folder {tmp_path / 'no'}" in out


#: The capabilities that let root pass permission bits (<linux/capability.h>):
#: CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER.
BYPASS_PERMISSIONS = (1, 2, 3)


def _unprivileged() -> tuple[int, ...]:
    """As root, permission bits do not stop writes: the capabilities to drop so that the
    command obeys them like anyone (none for anyone else)."""
    return BYPASS_PERMISSIONS if os.geteuid() == 0 else ()


async def test_database_not_writable(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    database = folder / "livredor.db"
    db = await Database.open(database)
    await db.close()
    database.chmod(0o444)
    folder.chmod(0o555)
    try:
        code, out = await _check(tmp_path, database=database, capabilities_dropped=_unprivileged())
    finally:
        folder.chmod(0o755)
        database.chmod(0o644)
    assert code == 1
    assert f"FAIL  database {database}: not writable" in out
    assert "to fix: Let the user that runs the bot write the file livredor.db" in out


async def test_database_from_a_newer_version(tmp_path: Path) -> None:
    database = tmp_path / "livredor.db"
    db = await Database.open(database)
    await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    await db.close()
    code, out = await _check(tmp_path, database=database)
    assert code == 1
    assert f"schema {SCHEMA_VERSION + 1}, newer than this livredor knows" in out


async def test_database_from_an_older_version_is_upgraded_at_start(tmp_path: Path) -> None:
    database = tmp_path / "livredor.db"
    db = await Database.open(database)
    await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    await db.close()
    code, out = await _check(tmp_path, database=database)
    assert code == 0, out
    assert f"note: `livredor run` will upgrade it to schema {SCHEMA_VERSION}" in out


async def test_missing_settings_exit_2(tmp_path: Path) -> None:
    env = cli_env(None, tmp_path / "livredor.db")
    code, _out, err = await run_cli(tmp_path, "check", env=env)
    assert code == 2
    assert "LIVREDOR_BOT_TOKEN is not set" in err


ENV_EXAMPLE = REPO / "deploy" / "env.example"


def _set(text: str, name: str, value: str) -> str:
    line = re.compile(rf"^#?LIVREDOR_{name.upper()}=.*$", re.MULTILINE)
    assert line.search(text), name
    return line.sub(lambda _: f"LIVREDOR_{name.upper()}={value}", text)


def test_env_example_documents_every_setting() -> None:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for name in Settings.model_fields:
        variable = f"LIVREDOR_{name.upper()}="
        found = [i for i, line in enumerate(lines) if line.lstrip("#").startswith(variable)]
        assert len(found) == 1, f"{variable} missing from deploy/env.example"
        assert lines[found[0] - 1].startswith("# "), f"{variable} has no comment above it"


async def test_env_example_filled_in_is_ready(tmp_path: Path) -> None:
    """deploy/env.example, with the three Telegram settings filled in, read as a .env."""
    database = tmp_path / "livredor.db"
    async with fake_telegram() as (_fake, server):
        text = ENV_EXAMPLE.read_text(encoding="utf-8")
        for name, value in (
            ("bot_token", TOKEN),
            ("organisers_chat_id", str(GROUP_ID)),
            ("channel_id", str(CHANNEL_ID)),
            ("api_base_url", server.base_url),
            ("database", str(database)),
        ):
            text = _set(text, name, value)
        (tmp_path / ".env").write_text(text, encoding="utf-8")
        env = {k: v for k, v in cli_env(None, database).items() if not k.startswith("LIVREDOR_")}
        code, out, err = await run_cli(tmp_path, "check", env=env)
    assert code == 0, out + err
    assert "Everything is ready" in out


def test_webhook_url_telegram_would_refuse(tmp_path: Path) -> None:
    from bot.cli.check import _webhook_findings

    def fixes(**values: str) -> list[str | None]:
        return [f.fix for f in _webhook_findings(make_settings(tmp_path / "x.db", **values))]

    assert fixes() == [None]
    assert fixes(webhook_url="https://bot.example.org/livredor") == [None]
    assert fixes(webhook_url="https://bot.example.org:8443/livredor") == [None]
    for refused in ("http://bot.example.org/livredor", "https://bot.example.org:9000/x"):
        [fix] = fixes(webhook_url=refused)
        assert fix is not None and "https:// address on port 443, 80, 88 or 8443" in fix
    # A self-hosted Bot API server takes any URL.
    assert fixes(webhook_url="http://bot:9000/x", api_base_url="http://127.0.0.1:8081/bot") == [
        None
    ]


async def test_a_text_override_telegram_would_refuse_stops_run_and_fails_check(
    tmp_path: Path,
) -> None:
    """Issue 22, item 11: an unclosed <b> in ask_name would answer every /start with an
    error: `run` does not start (exit 2, one sentence naming the key), `check` says FAIL."""
    custom = tmp_path / "texts.toml"
    custom.write_text('[en.intake]\nask_name = "<b>Who is speaking?"\n', encoding="utf-8")
    async with fake_telegram() as (fake, server):
        env = cli_env(server, tmp_path / "livredor.db", texts=str(custom))
        code, _, stderr = await run_cli(tmp_path, "run", env=env, name="run")
        assert code == 2, stderr
        assert "LIVREDOR_TEXTS is not valid" in stderr and "en.intake.ask_name" in stderr
        assert "Traceback" not in stderr and not fake.calls("getUpdates")
        code, stdout, _ = await run_cli(tmp_path, "check", env=env, name="check")
        assert code == 1 and "en.intake.ask_name is HTML Telegram refuses" in stdout
