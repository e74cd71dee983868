"""``livredor backup PATH``: an online copy taken while the bot runs, verified, and complete."""

from __future__ import annotations

import signal
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli.backup import BackupError, make_backup, target_path
from storage.database import Database
from storage.migrations import SCHEMA_VERSION
from tests.e2e.cli_process import (
    CliProcess,
    approve,
    cli_env,
    fake_telegram,
    run_cli,
    say,
    submit,
)

QUOTE = "Backed up, paragraph one.\n\nParagraph two, with « guillemets » and ☺."


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _rows(path: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        assert [r[0] for r in conn.execute("PRAGMA integrity_check")] == ["ok"]
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        return list(conn.execute("SELECT * FROM testimonials ORDER BY id"))
    finally:
        conn.close()


async def test_backup_while_the_bot_runs(tmp_path: Path) -> None:
    database = tmp_path / "livredor.db"
    copy = tmp_path / "backups" / "livredor-backup.db"
    copy.parent.mkdir()
    bot = CliProcess(tmp_path, "run")
    async with fake_telegram() as (fake, server):
        fake.add_user(1001, "Ada", last_name="Lovelace")
        fake.add_user(1002, "Grace", last_name="Hopper")
        env = cli_env(server, database)
        try:
            await bot.start("run", env=env)
            await bot.wait_log("receiving updates by long polling")
            await submit(fake, 1001, quote=QUOTE)
            await approve(fake)
            # A second attendee is mid-conversation: the draft is data too.
            await say(fake, 1002, "/start")
            await say(fake, 1002, "Grace HOPPER")

            code, out, err = await run_cli(tmp_path, "backup", str(copy), env=env, name="backup")
            assert code == 0, err
            assert f"Backup written to {copy}" in out
            assert "2 testimonials" in out and "integrity check ok" in out

            # The bot did not notice: it still answers.
            reply = await say(fake, 1002, "Navy")
            assert "Now your testimonial" in reply["text"]
            bot.signal(signal.SIGTERM)
            assert await bot.wait(10.0) == 0
        finally:
            await bot.kill()
    published, draft = _rows(copy)
    assert (published["status"], published["quote"]) == ("published", QUOTE)
    assert published["channel_message_ids"] != "[]"
    assert (draft["status"], draft["name"]) == ("draft", "Grace HOPPER")
    # A single self-contained file: nothing beside it, no temporary left.
    assert _names(copy.parent) == [copy.name]


async def _database(path: Path, name: str = "Ada") -> None:
    db = await Database.open(path)
    await db.execute(
        "INSERT INTO testimonials (status, language, name, created_at, updated_at)"
        " VALUES ('draft', 'en', ?, '2025-01-01', '2025-01-01')",
        (name,),
    )
    await db.close()


async def test_backup_into_a_folder_is_dated(tmp_path: Path) -> None:
    await _database(tmp_path / "livredor.db")
    folder = tmp_path / "backups"
    folder.mkdir()
    report = await make_backup(tmp_path / "livredor.db", folder)
    assert report.path.parent == folder
    assert report.path.name.startswith("livredor-") and report.path.suffix == ".db"
    assert report.testimonials == 1 and report.schema == SCHEMA_VERSION
    assert [r["name"] for r in _rows(report.path)] == ["Ada"]
    when = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert target_path(folder, when).name == "livredor-20250304-050607.db"


async def test_backup_replaces_an_older_copy(tmp_path: Path) -> None:
    source = tmp_path / "livredor.db"
    copy = tmp_path / "copy.db"
    await _database(source, "first")
    await make_backup(source, copy)
    db = await Database.open(source)
    await db.execute("UPDATE testimonials SET name = 'second'")
    await db.close()
    await make_backup(source, copy)
    assert [r["name"] for r in _rows(copy)] == ["second"]


async def test_backup_refuses_bad_paths(tmp_path: Path) -> None:
    source = tmp_path / "livredor.db"
    with pytest.raises(BackupError, match="no database"):
        await make_backup(source, tmp_path / "copy.db")
    await _database(source)
    with pytest.raises(BackupError, match=r"is the bot.s database"):
        await make_backup(source, tmp_path / "." / "livredor.db")
    with pytest.raises(BackupError, match="does not exist: create it"):
        await make_backup(source, tmp_path / "missing" / "copy.db")
    assert _names(tmp_path) == ["livredor.db"]


async def test_cli_backup_failure_exits_1(tmp_path: Path) -> None:
    env = cli_env(None, tmp_path / "nothing.db")
    code, out, err = await run_cli(tmp_path, "backup", str(tmp_path / "copy.db"), env=env)
    assert code == 1
    assert out == ""
    assert "Backup failed: there is no database at" in err
