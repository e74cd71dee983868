"""The wall in a real browser: news on screen within 5 s, gone within 5 s, the seed's 31
entries word for word as the channel has them, the longest one without overflow.

One Chromium for every test of a worker (launching one costs seconds), a fresh context (its
own cache, storage and cookies) for each; the page's timers and the server's snapshot run on
fake clocks the test moves, so "within 5 s" is measured in the wall's own time and waits for
nothing."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext

from bot.book.parse import parse_book
from storage.models import Status
from storage.models import Testimonial as Row
from tests.support import CHANNEL_ID, Harness
from tests.wall.support import (
    SCREEN,
    Clock,
    channel_text,
    chromium,
    open_wall,
    press_card,
    publish,
    run_until,
    running_wall,
    shown,
    wall_bot,
)

# The browser outlives a test, so the tests and their fixtures share the session's loop.
pytestmark = pytest.mark.asyncio(loop_scope="session")

#: The issue's promise: on screen, and off it, within five seconds.
PROMISE = 5.0
#: ``WALL_SCREENSHOT=docs/wall.png`` makes the seed's test picture the wall there (the docs').
SCREENSHOT = os.environ.get("WALL_SCREENSHOT")
#: The page shows ``key`` (null: no testimonial, or another one than before) settled, not
#: fading.
ON_SCREEN = """(key) => {
  const card = document.getElementById("card");
  const settled = !card.classList.contains("leaving");
  return key === null ? card.hidden || settled && card.dataset.key !== undefined
                      : !card.hidden && settled && card.dataset.key === key;
}"""
EMPTY = "() => !document.getElementById('empty').hidden"
#: Steps through the rotation: shorter than the shortest time a testimonial stays (9 s), so
#: each one is seen settled at least once.
ROTATION_STEP_MS = 8000
OFFLINE = "() => !document.getElementById('offline').hidden"
ONLINE = "() => document.getElementById('offline').hidden"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium_once() -> AsyncIterator[Browser]:
    """The worker's one Chromium."""
    async with chromium() as browser:
        yield browser


@pytest_asyncio.fixture(loop_scope="session")
async def browser(chromium_once: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser context on a 1920 × 1080 screen, closed after the test."""
    context = await chromium_once.new_context(viewport=SCREEN)  # type: ignore[arg-type]
    try:
        yield context
    finally:
        await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """The wall's bot (``tests/wall/conftest.py``), in the session's loop."""
    async with wall_bot(tmp_path) as harness:
        yield harness


async def test_published_on_screen_within_5_s_then_withdrawn_off_it(
    h: Harness, browser: BrowserContext
) -> None:
    clock = Clock()
    async with running_wall(h, clock=clock) as base:
        page = await open_wall(browser, base + "/", clock=True)
        assert await page.is_visible("#empty")
        # Published just after the page asked: the longest wait for its next question.
        tid = await publish(h, h.person(), "Une journée « formidable » !\n\nMerci ☺")
        took = await run_until(page, clock, ON_SCREEN, str(tid), PROMISE)
        assert 0 < took < PROMISE
        seen = await shown(page)
        assert seen is not None and seen["text"] == await channel_text(h, tid)
        assert not seen["cut"] and not seen["overflow"]
        assert await page.is_visible(".qr")
        await press_card(h, tid, "unpublish")
        await press_card(h, tid, "unpublish_yes")
        assert (await h.repo.get(tid)).status is Status.WITHDRAWN  # type: ignore[union-attr]
        took = await run_until(page, clock, EMPTY, None, PROMISE)
        assert 0 < took < PROMISE
        assert await page.is_hidden("#card")
        assert "formidable" not in await page.inner_text("body")


async def test_a_newcomer_is_shown_first_and_the_screen_survives_a_restart(
    h: Harness, browser: BrowserContext
) -> None:
    await publish(h, h.person(), "Already there.")
    # Two already there: the rotation's next one is not the newcomer.
    first = await publish(h, h.person("Cy"), "Also there, and newer.", "Cy")
    clock = Clock()
    async with running_wall(h, clock=clock) as base:
        page = await open_wall(browser, base + "/?lang=fr", clock=True)
        await run_until(page, clock, ON_SCREEN, str(first), PROMISE)  # the newest first
    # The server is gone: the page keeps what it shows and says it is reconnecting.
    await run_until(page, clock, OFFLINE, None, PROMISE)
    assert (await shown(page) or {}).get("key") == str(first)
    assert await page.inner_text("#offline") == "Reconnexion…"
    newcomer = await publish(h, h.person("Bob"), "Arrived while the wall was down.", "Bob")
    async with running_wall(h, port=int(base.rsplit(":", 1)[1]), clock=clock) as again:
        assert again == base
        await run_until(page, clock, ON_SCREEN, str(newcomer), PROMISE)
        await run_until(page, clock, ONLINE, None, PROMISE)


async def test_the_seed_word_for_word_and_the_longest_without_overflow(
    tmp_path: Path, browser: BrowserContext, seed_text: str
) -> None:
    book = parse_book(seed_text)
    # The channel's pace, 20 posts a tenth of a second: the seed is posted in no time.
    async with wall_bot(tmp_path, group_window=0.1) as h:
        added, _ = await h.repo.import_entries(
            [(e.import_key, e.name, e.organisation, e.quote) for e in book.entries],
            language="fr",
            publish=True,
        )
        assert added == 31
        h.services.publisher.wake()  # type: ignore[union-attr]
        await h.wait(lambda: len(h.fake.messages(CHANNEL_ID)) >= 31, timeout=60)
        await h.settle()
        published = await h.repo.list_by_status(Status.PUBLISHED)
        assert len(published) == 31
        channel = {str(t.id): await channel_text(h, t.id) for t in published}
        longest = max(published, key=lambda t: len(t.quote))
        assert len(longest.quote) > 4000
        async with running_wall(h) as base:
            page = await open_wall(browser, base + "/?lang=fr", clock=True)
            seen: dict[str, bool] = {}
            for _ in range(400):  # the rotation's pace, on the page's fake clock
                now = await shown(page)
                if now is not None and not now["leaving"] and now["key"] not in seen:
                    assert not now["overflow"], now["key"]
                    full = channel[now["key"]]
                    if now["cut"]:
                        # The opening, cut after a word, then "… (suite sur le canal)".
                        assert full.startswith(now["text"]) and len(now["text"]) < len(full)
                        assert full[len(now["text"])] in " \n,;:"
                        assert await page.inner_text(".continued") == "… (suite sur le canal)"
                    else:
                        assert now["text"] == full
                    seen[now["key"]] = now["cut"]
                    if SCREENSHOT and now["key"] == _pictured(published):
                        await page.screenshot(path=SCREENSHOT)
                if len(seen) == 31:
                    break
                await page.clock.run_for(ROTATION_STEP_MS)
    assert sorted(seen) == sorted(channel), "the wall did not cycle through all 31"
    assert seen[str(longest.id)] is True  # 4,330 characters do not fit a screen
    assert sum(not cut for cut in seen.values()) >= 25  # most are shown in full


async def test_a_signature_shows_as_chosen_and_an_anonymous_name_nowhere(
    h: Harness, browser: BrowserContext
) -> None:
    """Issue 24, item 2: the screen shows each testimonial signed as its author chose, as
    the channel does; the name behind "Anonyme" is nowhere in the page, whatever it shows."""
    entries = [
        ("k1", "Marguerite YOURCENAR", "Académie française", "Anonyme et fière.", "anonymous"),
        ("k2", "Florence DELORME", "UnderConstruction", "Merci pour tout.", "initial"),
        ("k3", "Florence", "UnderConstruction", "Trop bien !", "full"),
    ]
    await h.repo.import_entries(entries, language="fr", publish=True)
    h.services.publisher.wake()  # type: ignore[union-attr]
    await h.wait(lambda: len(h.fake.messages(CHANNEL_ID)) >= 3, timeout=30)
    await h.settle()
    published = await h.repo.list_by_status(Status.PUBLISHED)
    channel = {str(t.id): await channel_text(h, t.id) for t in published}
    assert sorted(text.split("\n")[0] for text in channel.values()) == [
        "Anonyme",
        "Florence",
        "Florence D.",
    ]
    async with running_wall(h) as base:
        page = await open_wall(browser, base + "/?lang=en", clock=True)
        seen: dict[str, str] = {}
        for _ in range(40):
            now = await shown(page)
            if now is not None and not now["leaving"]:
                seen[now["key"]] = now["text"]
                body = await page.inner_text("body")
                assert not [s for s in ("Marguerite", "YOURCENAR", "DELORME") if s in body]
                assert "Académie" not in body  # anonymous without the organisation
            if len(seen) == 3:
                break
            await page.clock.run_for(ROTATION_STEP_MS)
        assert seen == channel


def _pictured(published: list[Row]) -> str:
    """The entry the README's screenshot shows: the first of a pleasant length."""
    return str(next(t.id for t in published if 300 < len(t.quote) < 700))
