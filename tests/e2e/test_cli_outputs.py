"""Every command that writes a file, through the outputs that go wrong (issue 22, items 1,
13, 16): the database or its companions (directly or through a link), another SQLite
database, a folder, a missing folder, a place it may not write, a full disk. One sentence and
a non-zero exit each, never a traceback, and the database intact."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

from storage.database import Database
from tests.e2e.cli_process import cli_env, fake_telegram, run_cli

SESSIONS = '[[session]]\nslug = "keynote"\ntitle = "Keynote"\n'


async def _database(tmp_path: Path) -> Path:
    path = tmp_path / "livredor.db"
    db = await Database.open(path)
    await db.close()
    return path


def _bad_outputs(tmp_path: Path, database: Path) -> list[tuple[str, str]]:
    """(output, what the sentence must say) for a single file."""
    link = tmp_path / "book.pdf"
    link.symlink_to(database)
    other = tmp_path / "old-backup.db"
    other.write_bytes(database.read_bytes())
    (tmp_path / "folder").mkdir()
    return [
        (str(database), "is the bot's database"),
        (str(link), "is the bot's database (through a link)"),
        (f"{database}-wal", "is the bot's database"),
        (str(other), "is an SQLite database"),
        (str(tmp_path / "folder"), "is a folder"),
        (str(tmp_path / "missing" / "p.pdf"), "does not exist: create it first"),
        ("/proc/nope/p.pdf", "does not exist: create it first"),
        ("/sys/p.pdf", "not allowed to write"),
        ("/dev/full", "is full: nothing was written"),
    ]


async def test_poster_refuses_every_bad_output_in_one_sentence(tmp_path: Path) -> None:
    database = await _database(tmp_path)
    before = database.read_bytes()
    sessions = tmp_path / "sessions.toml"
    sessions.write_text(SESSIONS, encoding="utf-8")
    async with fake_telegram() as (_fake, server):
        env = cli_env(server, database, sessions=str(sessions))
        cases = [*_bad_outputs(tmp_path, database)]
        for output, said in cases:
            code, _, err = await run_cli(
                tmp_path, "poster", "--format", "pdf", "-o", output, env=env
            )
            assert code != 0 and said in err, (output, err)
            assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        code, _, err = await run_cli(tmp_path, "poster", "--all-sessions", "-o", "x.pdf", env=env)
        assert code != 0 and "into a folder" in err and not (tmp_path / "x.pdf").exists(), err
        # --format wins over the name: an SVG into /dev/full is refused for the full disk.
        code, _, err = await run_cli(
            tmp_path, "poster", "--format", "svg", "-o", "/dev/full", env=env
        )
        assert code != 0 and "is full" in err and "must end in" not in err, err
    assert database.read_bytes() == before
    assert Path("/dev/full").is_char_device()  # noqa: ASYNC240 - a test


async def test_backup_refuses_the_database_a_device_and_a_missing_folder(tmp_path: Path) -> None:
    database = await _database(tmp_path)
    before = database.read_bytes()
    env = cli_env(None, database)
    link = tmp_path / "copy.db"
    link.symlink_to(database)
    for output, said in [
        (str(database), "is the bot's database"),
        (str(link), "is the bot's database (through a link)"),
        (f"{database}-shm", "is the bot's database"),
        ("/dev/full", "is not a file"),
        (f"{tmp_path}/backups/", "does not exist: create it first"),
        ("/sys/copy.db", "not allowed to write"),
    ]:
        code, out, err = await run_cli(tmp_path, "backup", output, env=env)
        assert code != 0 and said in err, (output, out, err)
        assert "Traceback" not in err, err
    assert not (tmp_path / "backups").exists()
    assert database.read_bytes() == before and Path("/dev/full").is_char_device()  # noqa: ASYNC240 - a test


async def test_backup_on_a_full_disk_says_so(tmp_path: Path) -> None:
    """A file-size limit stands in for a full disk: the copy fails, one sentence, nothing
    left behind, the previous backup kept."""
    database = await _database(tmp_path)
    db = await Database.open(database)
    await db.execute("CREATE TABLE filler (x BLOB)")
    await db.execute("INSERT INTO filler VALUES (zeroblob(2000000))")
    await db.close()
    previous = tmp_path / "backup.db"
    previous.write_bytes(b"SQLite format 3\x00 the previous backup")
    code, _, err = await run_cli(
        tmp_path,
        "backup",
        str(previous),
        env=cli_env(None, database),
        file_size_limit=1_000_000,
    )
    assert code == 1 and "Backup failed" in err and "Traceback" not in err, err
    assert previous.read_bytes() == b"SQLite format 3\x00 the previous backup"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []  # noqa: ASYNC240 - a test


BOOK = "Ada LOVELACE\nAnalytical Engine Society\n« Une journée formidable. »\n"


async def _book_database(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A database with one imported testimonial, whose author has a Telegram account."""
    database = await _database(tmp_path)
    env = cli_env(None, database)
    source = tmp_path / "book.txt"
    source.write_text(BOOK, encoding="utf-8")
    code, _, err = await run_cli(tmp_path, "import", str(source), env=env)
    assert code == 0, err
    with contextlib.closing(sqlite3.connect(database)) as conn, conn:
        conn.execute("UPDATE testimonials SET user_id = 4242, author_username = 'zoe_x9'")
    return database, env


async def test_export_refuses_every_bad_output_and_never_overwrites_unasked(
    tmp_path: Path,
) -> None:
    """Issue 22, item 1: `export -o livredor.db` (one letter from livredor.md) no longer
    destroys the event; nor through a link; an existing file needs --force."""
    database, env = await _book_database(tmp_path)
    for output, said in _bad_outputs(tmp_path, database):
        code, _, err = await run_cli(tmp_path, "export", "--format", "json", "-o", output, env=env)
        assert code != 0 and said in err, (output, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    with contextlib.closing(sqlite3.connect(database)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT name FROM testimonials").fetchall() == [("Ada LOVELACE",)]
    book = tmp_path / "livredor.md"
    book.write_text("my own notes", encoding="utf-8")
    code, _, err = await run_cli(tmp_path, "export", "-o", str(book), env=env)
    assert code == 1 and "exists: add --force" in err
    assert book.read_text(encoding="utf-8") == "my own notes"
    code, _, err = await run_cli(tmp_path, "export", "-o", str(book), "--force", env=env)
    assert code == 0 and "Ada LOVELACE" in book.read_text(encoding="utf-8"), err
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []  # noqa: ASYNC240 - a test


async def test_export_is_private_takes_its_format_from_the_name_and_keeps_accounts_out(
    tmp_path: Path,
) -> None:
    """Issue 22, items 4 and 16: 0600 whatever the umask, `-o book.html` is HTML, and the
    JSON has the author's Telegram account only with --with-identity."""
    _, env = await _book_database(tmp_path)
    html = tmp_path / "book.html"
    code, _, err = await run_cli(
        tmp_path,
        "export",
        "-o",
        str(html),
        env=env,
        umask=0o022,
    )
    assert code == 0, err
    assert html.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert html.stat().st_mode & 0o777 == 0o600
    plain, with_identity = tmp_path / "book.json", tmp_path / "identity.json"
    code, _, err = await run_cli(tmp_path, "export", "-o", str(plain), env=env)
    assert code == 0, err
    code, _, err = await run_cli(
        tmp_path, "export", "-o", str(with_identity), "--with-identity", env=env
    )
    assert code == 0, err
    [entry] = json.loads(plain.read_text(encoding="utf-8"))["testimonials"]
    assert entry["name"] == "Ada LOVELACE"
    assert not {"user_id", "author_username", "author_name"} & set(entry)
    [entry] = json.loads(with_identity.read_text(encoding="utf-8"))["testimonials"]
    assert (entry["user_id"], entry["author_username"]) == (4242, "zoe_x9")


async def test_import_of_a_file_that_is_not_text_says_so(tmp_path: Path) -> None:
    database = await _database(tmp_path)
    document = tmp_path / "livre.docx"
    document.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\x8d\x9d" * 64)
    code, _, err = await run_cli(tmp_path, "import", str(document), env=cli_env(None, database))
    assert code == 1 and "is not a text file" in err and "codec" not in err, err
