"""The disk fills up while the bot runs (issue 22, item 15): the real ``livredor run`` with
its database on a small tmpfs, filled to the last byte between two of an attendee's messages.
Nobody is told their words are kept when they are not, nothing is lost, and the bot carries
on by itself once there is room again: no restart."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli_process import CliProcess, cli_env, fake_telegram, say, wait_until
from tests.e2e.test_crash_recovery import ASKS_ORGANISATION, ASKS_QUOTE, NAME, ORGANISATION, USER

TIMEOUT = 20.0
NOT_SAVED = "I could not save that: the server is short of space"


@contextlib.contextmanager
def small_disk(path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs mounted at ``path`` (root only), unmounted at the end."""
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk refuses another byte; return it."""
    filler = disk / "filler"
    block = b"\0" * 65536
    with filler.open("wb", buffering=0) as handle:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    handle.write(block[:size])
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return filler


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("mount") is None, reason="mounting a tmpfs needs root"
)
async def test_a_full_disk_loses_nothing_and_recovers_without_a_restart(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        database = disk / "livredor.db"
        async with fake_telegram() as (fake, server):
            fake.add_user(USER, "Ada", last_name="Lovelace")
            bot = CliProcess(tmp_path, "run")
            try:
                await bot.start("run", env=cli_env(server, database))
                await bot.wait_log("receiving updates by long polling")
                await say(fake, USER, "/start", timeout=TIMEOUT)
                # The name is stored and its answer is on its way (held) when the
                # organisation arrives: committed to the inbox, waiting for its turn.
                fake.hold("sendMessage", chat_id=USER)
                fake.user_sends(USER, NAME)
                await fake.wait_held(timeout=TIMEOUT)
                fake.user_sends(USER, ORGANISATION)
                await wait_until(lambda: not fake.pending_updates, TIMEOUT, "updates taken")
                filler = fill(disk)
                fake.release()
                # The organisation cannot be stored: the attendee is told so, truthfully.
                await wait_until(
                    lambda: any(NOT_SAVED in m["text"] for m in fake.messages(USER)),
                    TIMEOUT,
                    "the attendee told the organisation was not saved",
                )
                filler.unlink()
                # Room again: the bot takes it again by itself and asks the next question.
                await wait_until(
                    lambda: ASKS_QUOTE in fake.messages(USER)[-1]["text"],
                    TIMEOUT,
                    "the next question",
                )
                await bot.wait_log("writes work again")
                bot.signal(signal.SIGTERM)
                assert await bot.wait(10.0) == 0
            finally:
                await bot.kill()
            texts = [m["text"] for m in fake.messages(USER)]
        log = bot.stderr
        assert not any("What you gave me so far is kept" in t for t in texts), texts
        assert sum(ASKS_ORGANISATION in t for t in texts) == 1, texts
        assert "Traceback" not in log, log
        with sqlite3.connect(database) as conn:
            name, organisation, step = conn.execute(
                "SELECT name, organisation, step FROM testimonials WHERE user_id = ?", (USER,)
            ).fetchone()
            unfinished = conn.execute("SELECT count(*) FROM inbox WHERE done_at IS NULL")
            [[not_done]] = unfinished.fetchall()
        assert (name, organisation, step) == (NAME, ORGANISATION, "quote")
        assert not_done == 0
