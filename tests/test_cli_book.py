"""``livredor import`` and ``livredor export`` as a user runs them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import unicodedata
from pathlib import Path

from bot.book.parse import parse_book
from bot.cli.wording import counted
from storage.database import Database
from storage.testimonials import Repository
from tests.e2e import forkserver
from tests.e2e.cli_process import cli_env


def livredor(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with a database in ``tmp_path`` and the event's name (``cli_env``: no
    Telegram setting)."""
    env = cli_env(None, tmp_path / "book.db", event_name="ROUMICS 2012")
    return forkserver.run_sync(list(args), env=env, cwd=tmp_path)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def test_seed_import_export_round_trip(tmp_path: Path, seed_text: str) -> None:
    seed = tmp_path / "seed.txt"
    seed.write_text(seed_text, encoding="utf-8")
    result = livredor(tmp_path, "import", str(seed))
    assert result.returncode == 0, result.stderr
    assert "Imported 31 testimonials; 0 already there." in result.stderr
    # Importing twice does not duplicate.
    again = livredor(tmp_path, "import", str(seed))
    assert "Imported 0 testimonials; 31 already there." in again.stderr

    expected = parse_book(seed_text).entries
    for fmt, reader in (("md", "md"), ("csv", "csv"), ("json", "json")):
        out = tmp_path / f"book.{fmt}"
        result = livredor(tmp_path, "export", "--format", fmt, "-o", str(out))
        assert result.returncode == 0, result.stderr
        other = tmp_path / f"other-{fmt}"
        other.mkdir()
        result = livredor(other, "import", "--format", reader, str(out))
        assert "Imported 31 testimonials" in result.stderr, result.stderr
        db_path = other / "book.db"

        async def read(path: Path = db_path) -> list[tuple[str, str, str]]:
            db = await Database.open(path)
            rows = await Repository(db).list_for_book()
            await db.close()
            return [(r.name, r.organisation, r.quote) for r in rows]

        got = asyncio.run(read())
        assert got == [(nfc(e.name), nfc(e.organisation), nfc(e.quote)) for e in expected], fmt
    longest = max(expected, key=lambda e: len(e.quote))
    assert len(longest.quote) == 4330


def test_export_markdown_to_stdout(tmp_path: Path, seed_text: str) -> None:
    seed = tmp_path / "seed.txt"
    seed.write_text(seed_text, encoding="utf-8")
    livredor(tmp_path, "import", str(seed))
    result = livredor(tmp_path, "export", "--order", "name")
    assert result.returncode == 0
    assert result.stdout.startswith("# Livre d’or")
    names = [line for line in result.stdout.splitlines() if line.startswith("**")]
    assert len(names) == 31
    assert names[0].startswith("**Alain MAILLY")


def test_import_reports_the_bad_line_and_imports_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(
        "Livre d'or\n\nAda LOVELACE\nSociety\n\n« Fine. »\n\n"
        "Bob\nOne\nTwo\nThree\nFour\n\n« Hi »\n",
        encoding="utf-8",
    )
    result = livredor(tmp_path, "import", str(bad))
    assert result.returncode == 1
    assert f"{bad}:12: more than three organisation lines" in result.stderr
    # A good entry before the bad one was not imported either.
    good = tmp_path / "good.txt"
    good.write_text("Carol\n\n« Hello. »\n", encoding="utf-8")
    assert livredor(tmp_path, "import", str(good)).returncode == 0
    assert livredor(tmp_path, "import", str(bad)).returncode == 1
    result = livredor(tmp_path, "export", "--format", "json")
    assert [t["name"] for t in json.loads(result.stdout)["testimonials"]] == ["Carol"]


def test_import_publish_queues_in_file_order(tmp_path: Path) -> None:
    book = tmp_path / "book.txt"
    book.write_text("Ada\nSociety\n\n« First. »\n\nBob\nClub\n\n« Second. »\n", encoding="utf-8")
    result = livredor(tmp_path, "import", "--publish", str(book))
    assert "queued for the channel" in result.stderr

    async def outbox() -> list[str]:
        db = await Database.open(tmp_path / "book.db")
        repo = Repository(db)
        names = []
        while (item := await repo.next_outbox()) is not None:
            names.append(item[1].name)
            await repo.finish_outbox(item[0].id)
        await db.close()
        return names

    assert asyncio.run(outbox()) == ["Ada", "Bob"]


def test_export_without_database_says_so(tmp_path: Path) -> None:
    result = livredor(tmp_path, "export")
    assert result.returncode == 1
    assert "No database" in result.stderr


def test_the_commands_count_without_a_plural_left_to_the_reader() -> None:
    """ "1 testimonial", "2 testimonials", "31,000 ...": never "testimonial(s)"."""
    assert counted(1, "testimonial") == "1 testimonial"
    assert counted(0, "testimonial") == "0 testimonials"
    assert counted(31_000, "older one") == "31,000 older ones"
    assert counted(2, "entry", "entries") == "2 entries"
