"""The database file (issue 11, items 8 and 11-14): private modes whatever the umask, one
instance per database, and a sentence (exit 2) for a file livredor must not use."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest

from storage.database import APPLICATION_ID, Database
from storage.migrations import SCHEMA_VERSION
from tests.e2e.cli_process import CliProcess, cli_env, fake_telegram, run_cli
from tests.e2e.test_check import _unprivileged

# Run the CLI under the usual permissive umask, as a shell or systemd without UMask= would.
UMASK_022 = 0o022


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_second_run_exits_2_and_files_are_private(tmp_path: Path) -> None:
    database = tmp_path / "livredor.db"
    first = CliProcess(tmp_path, "first")
    async with fake_telegram() as (fake, server):
        env = cli_env(server, database)
        try:
            await first.start("run", env=env, umask=UMASK_022)
            await first.wait_log("receiving updates by long polling")
            code, _out, err = await run_cli(
                tmp_path, "run", env=env, name="second", umask=UMASK_022
            )
            assert code == 2, err
            assert "Another livredor run is already using" in err and "Traceback" not in err
            for name in ("livredor.db", "livredor.db-wal", "livredor.db-shm"):
                assert _mode(tmp_path / name) == 0o600, name
            backups = tmp_path / "backups"
            backups.mkdir()
            code, _out, err = await run_cli(
                tmp_path, "backup", str(backups), env=env, name="backup", umask=UMASK_022
            )
            assert code == 0, err
            [copy] = backups.iterdir()
            assert _mode(copy) == 0o600
        finally:
            await first.kill()
        assert fake.unknown_methods == []


async def test_existing_files_are_brought_to_0600(tmp_path: Path) -> None:
    database = tmp_path / "livredor.db"
    db = await Database.open(database)
    await db.close()
    database.chmod(0o644)
    db = await Database.open(database)
    await db.close()
    assert _mode(database) == 0o600


async def _newer(path: Path) -> None:
    db = await Database.open(path)
    await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    await db.close()


@pytest.mark.parametrize(
    "args", [("run",), ("export",), ("import", "book.json"), ("backup", "copy.db")]
)
async def test_a_newer_database_is_refused(tmp_path: Path, args: tuple[str, ...]) -> None:
    database = tmp_path / "livredor.db"
    await _newer(database)
    (tmp_path / "book.json").write_text(json.dumps([{"name": "A", "quote": "B"}]))
    async with fake_telegram() as (_fake, server):
        code, _out, err = await run_cli(tmp_path, *args, env=cli_env(server, database))
    assert code == 2, err
    assert "written by a newer livredor" in err and "Traceback" not in err
    assert not (tmp_path / "copy.db").exists()


async def test_a_foreign_database_is_not_taken_over(tmp_path: Path) -> None:
    database = tmp_path / "other.db"
    conn = sqlite3.connect(database)
    conn.execute("CREATE TABLE users (login TEXT, password TEXT)")
    conn.commit()
    conn.close()
    async with fake_telegram() as (_fake, server):
        for args in (("run",), ("export",), ("import", "x.json")):
            (tmp_path / "x.json").write_text(json.dumps([{"name": "A", "quote": "B"}]))
            code, _out, err = await run_cli(tmp_path, *args, env=cli_env(server, database))
            assert code == 2, err
            assert "belongs to another program" in err and "Traceback" not in err
    conn = sqlite3.connect(database)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    conn.close()
    assert tables == ["users"] and app_id == 0


async def test_our_files_are_marked_and_old_ones_accepted(tmp_path: Path) -> None:
    database = tmp_path / "livredor.db"
    db = await Database.open(database)
    await db.execute("PRAGMA application_id = 0")  # as written before the mark existed
    await db.close()
    db = await Database.open(database)
    await db.close()
    conn = sqlite3.connect(database)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    conn.close()


async def test_not_sqlite_and_read_only_get_a_sentence(tmp_path: Path) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("shopping list\n" * 100)
    async with fake_telegram() as (_fake, server):
        code, _out, err = await run_cli(tmp_path, "run", env=cli_env(server, text_file))
        assert code == 2 and "is not a SQLite database" in err and "Traceback" not in err
        assert text_file.read_text() == "shopping list\n" * 100

        folder = tmp_path / "ro"
        folder.mkdir()
        database = folder / "livredor.db"
        db = await Database.open(database)
        await db.execute("PRAGMA user_version = 1")  # an older schema: run must migrate
        await db.close()
        database.chmod(0o400)
        folder.chmod(0o500)
        try:
            code, _out, err = await run_cli(
                tmp_path, "run", env=cli_env(server, database), capabilities_dropped=_unprivileged()
            )
        finally:
            folder.chmod(0o700)
        assert code == 2, err
        assert "read-only" in err and "Traceback" not in err, err


async def test_backup_keep_prunes_old_dated_copies(tmp_path: Path) -> None:
    database = tmp_path / "livredor.db"
    db = await Database.open(database)
    await db.close()
    backups = tmp_path / "backups"
    backups.mkdir()
    for stamp in ("20240101-000000", "20240102-000000", "20240103-000000"):
        (backups / f"livredor-{stamp}.db").write_bytes(b"old copy")
    (backups / "notes.txt").write_text("not ours")
    env = cli_env(None, database)
    code, out, err = await run_cli(tmp_path, "backup", str(backups), "--keep", "2", env=env)
    assert code == 0, err
    assert "deleted 2 older ones" in out
    names = sorted(p.name for p in backups.iterdir())
    assert names[0] == "livredor-20240103-000000.db" and "notes.txt" in names
    assert len([n for n in names if n.startswith("livredor-")]) == 2
    code, _out, err = await run_cli(
        tmp_path, "backup", str(backups / "x.db"), "--keep", "2", env=env
    )
    assert code == 2 and "--keep N needs" in err
