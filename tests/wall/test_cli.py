"""``livredor run`` with LIVREDOR_WALL_PORT serves the wall beside the bot; ``livredor wall``
serves it alone from the same database, with no token (the bot's username is stored)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import aiohttp
import pytest

from bot.cli.demo import SEED_BOOK, wall_book
from tests.conftest import SEED
from tests.e2e.cli_process import (
    CliProcess,
    approve,
    cli_env,
    fake_telegram,
    free_port,
    submit,
    wait_until,
)

ATTENDEE = 1001
BOOK = """name,organisation,quote,signature
Grace HOPPER,US Navy,« A ship in port is safe. »,full
Anne ONYME,,Sans nom.,anonymous
"""


async def _json(url: str) -> list[dict[str, object]]:
    async with aiohttp.ClientSession() as session, session.get(url) as r:
        assert r.status == 200
        entries: list[dict[str, object]] = json.loads(await r.read())["entries"]
        return entries


async def test_run_serves_the_wall_and_the_wall_runs_alone(tmp_path: Path) -> None:
    database = tmp_path / "livredor.db"
    port = free_port()
    wall = f"http://127.0.0.1:{port}"
    bot = CliProcess(tmp_path, "run")
    async with fake_telegram() as (fake, server):
        fake.add_user(ATTENDEE, "Ada", last_name="Lovelace", username="ada")
        env = cli_env(server, database, wall_port=str(port), wall_listen="127.0.0.1")
        try:
            await bot.start("run", env=env)
            await bot.wait_log("receiving updates by long polling")
            await bot.wait_log(f"the wall is on http://127.0.0.1:{port}/")
            # The page, not yet its feed: the feed's first answer would be kept a second
            # (REFRESH_SECONDS), which the in-process tests check on a fake clock.
            async with aiohttp.ClientSession() as session, session.get(wall + "/") as r:
                assert r.status == 200 and "t.me/livredor_test_bot" in await r.text()
            await submit(fake, ATTENDEE, quote="Seen on the big screen.")
            await approve(fake)
            await bot.wait_log("published")
            [entry] = await _json(wall + "/wall.json")
            assert entry["paragraphs"] == ["«\u00a0Seen on the big screen.\u00a0»"]
            bot.signal(signal.SIGTERM)
            assert await bot.wait(10.0) == 0
        finally:
            await bot.kill()

    # Alone, without Telegram or a token: the QR code's bot comes from the database.
    alone = CliProcess(tmp_path, "wall")
    try:
        await alone.start(
            "wall", "--port", str(port), "--listen", "127.0.0.1", env=cli_env(None, database)
        )
        await alone.wait_log(f"The wall is on http://127.0.0.1:{port}/")
        [entry] = await _json(wall + "/wall.json?lang=fr")
        assert entry["name"] == "Ada LOVELACE"
        async with aiohttp.ClientSession() as session, session.get(wall + "/") as r:
            assert "t.me/livredor_test_bot" in await r.text()
        alone.signal(signal.SIGTERM)
        assert await alone.wait(10.0) == 0
    finally:
        await alone.kill()


async def test_demo_wall_publishes_a_book_and_serves_it_until_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    # Two entries, not the seed's 31: the channel's pace (20 posts a second) is the demo's,
    # and the seed goes through the publisher and onto the wall in tests/wall/test_browser.py.
    book = tmp_path / "book.csv"
    book.write_text(BOOK, encoding="utf-8")
    demo = CliProcess(tmp_path, "demo")
    try:
        await demo.start(
            "demo", "--wall", "--book", str(book), "--port", str(port), "--quiet", env=env
        )
        url = f"The wall: http://127.0.0.1:{port}/"
        await wait_until(lambda: url in demo.stdout, 60.0, f"{url!r} in:\n{demo.stderr}")
        assert "2 testimonials of book.csv published in the channel too." in demo.stdout
        entries = await _json(f"http://127.0.0.1:{port}/wall.json")
        # The book's two, newest first, after Ada's testimonial from the demo's conversation.
        assert [e["name"] for e in entries] == ["Anonyme", "Grace HOPPER", "Ada Lovelace"]
        demo.signal(signal.SIGINT)
        assert await demo.wait(15.0) == 0
    finally:
        await demo.kill()
    assert "Traceback" not in demo.stderr


def test_demo_wall_shows_the_seed_when_no_book_is_given(tmp_path: Path) -> None:
    """The seed beside a clone (CI has it), found from the installed code."""
    if not SEED.is_file():
        pytest.skip(f"seed document not found at {SEED}")
    assert wall_book(None) == SEED_BOOK and SEED_BOOK.samefile(SEED)
    assert wall_book(tmp_path / "b.csv") == tmp_path / "b.csv"
