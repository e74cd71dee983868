"""The wall's tests: the running bot against the fake Telegram, its wall on loopback, and a
real browser (Debian's Chromium, driven by Playwright; never a downloaded one)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from bot.cli.wall import wall_site
from bot.services.publishing import POST_MARKER
from bot.services.render import join_parts_plain
from bot.services.wall import WallServer
from storage.models import Status
from tests.support import (
    CHANNEL_ID,
    CHROMIUM_ARGS,
    GROUP_ID,
    ORGANISER_ID,
    Harness,
    Person,
    make_fake,
    make_settings,
)

SESSIONS = """
[[session]]
slug = "atelier-3"
title = { fr = "Atelier 3 : l’open data", en = "Workshop 3: open data" }

[[session]]
slug = "keynote"
title = "Keynote"
"""
CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.is_file()
#: A venue's screen.
SCREEN = {"width": 1920, "height": 1080}
#: The page's testimonial as a channel post's plain text: the signature's lines, a blank
#: line, the paragraphs and the hashtags (the session line is the wall's own, not the post's).
DOM_TEXT = """() => {
  const card = document.getElementById("card");
  if (card.hidden) return null;
  const text = (node) => node.textContent;
  const marker = card.querySelector(".continued");
  // Cut, it is an opening of the post: the hashtags after the cut are not part of it.
  const shown = card.querySelectorAll(marker ? ".words .para" : ".words p");
  const paragraphs = [...shown].map((p) => {
    const whole = text(p);
    return marker && p.contains(marker) ? whole.slice(0, -text(marker).length) : whole;
  });
  const signature = [...card.querySelectorAll(".name, .org")].map(text);
  return {
    key: card.dataset.key,
    cut: card.dataset.cut === "yes",
    text: signature.join("\\n") + "\\n\\n" + paragraphs.join("\\n\\n"),
    overflow: card.scrollHeight > card.clientHeight + 1 || card.scrollWidth > card.clientWidth + 1,
    leaving: card.classList.contains("leaving"),
  };
}"""


@asynccontextmanager
async def wall_bot(tmp_path: Path, *, group_window: float = 1.0) -> AsyncIterator[Harness]:
    """The bot on a fresh database, posting with the event's hashtag, with two sessions;
    ``group_window``: Telegram's 20 posts a minute into the channel, in that many seconds
    instead (the fake's and the bot's)."""
    sessions = tmp_path / "sessions.toml"
    sessions.write_text(SESSIONS, encoding="utf-8")
    fake = make_fake(group_window=group_window)
    settings = make_settings(
        tmp_path / "livredor.db",
        event_hashtag="ROUMICS",
        sessions=sessions,
        group_rate_period_seconds=group_window,
    )
    harness = Harness(fake, settings)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
        await fake.aclose()
    assert fake.unknown_methods == []


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless; skips where it is not installed (CI installs it)."""
    if not HAVE_CHROMIUM:
        pytest.skip(f"{CHROMIUM} not installed: apt-get install chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


class Clock:
    """The wall server's clock (``WallServer(clock=...)``), moved by the test together with
    the page's (Playwright's ``page.clock``): seconds."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def open_wall(browser: BrowserContext, url: str, *, clock: bool = False) -> Page:
    """Open the wall (``browser``: a context with a venue's screen); wait for its first
    answer from the server. ``clock``: the page's timers run on a fake clock, from the start."""
    page = await browser.new_page()
    if clock:
        await page.clock.install()
    await page.goto(url)
    await wait_in_page(page, "() => document.body.dataset.ready === 'yes'", None, 30.0)
    return page


async def wait_in_page(page: Page, predicate: str, arg: Any, timeout: float) -> None:
    """Wait until the JavaScript function ``predicate(arg)`` is true in the page, asking
    from here. Not Playwright's ``wait_for_function``: when the answer is not there at once
    it builds its poller with ``new Function`` inside the page, which the wall's CSP
    (rightly) refuses as 'unsafe-eval'; ``evaluate`` goes through the DevTools protocol."""
    deadline = time.monotonic() + timeout
    while not await page.evaluate(predicate, arg):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the page never made {predicate!r} true within {timeout:g} s")
        await asyncio.sleep(0.02)


#: How far the clocks move at a time: the page's answers are handled between two steps.
STEP_MS = 100


async def run_until(page: Page, clock: Clock, predicate: str, arg: Any, limit: float) -> float:
    """Move the server's clock and the page's together, ``STEP_MS`` at a time, until the
    JavaScript function ``predicate(arg)`` is true in the page; return how long that took on
    those clocks (seconds). After each step, the page's question to the server, if the step
    asked one, is answered and handled before the next: the clocks stand still meanwhile,
    so the time taken is the page's and the server's pace, not this machine's."""
    took = 0
    while not await page.evaluate(predicate, arg):
        if took >= limit * 1000:
            raise AssertionError(f"the page did not make {predicate!r} true in {limit:g} s")
        clock.now += STEP_MS / 1000  # first: the page's question reads it
        await page.clock.run_for(STEP_MS)
        await wait_in_page(page, "() => document.body.dataset.asking === undefined", None, 10.0)
        took += STEP_MS
    return took / 1000


async def shown(page: Page) -> dict[str, Any] | None:
    """What the page shows now (None: no testimonial)."""
    found: dict[str, Any] | None = await page.evaluate(DOM_TEXT)
    return found


@asynccontextmanager
async def running_wall(h: Harness, port: int = 0, clock: Clock | None = None) -> AsyncIterator[str]:
    """The wall over the harness's database (on a free port by default; ``clock``: the
    server's, else the real one); yields its URL."""
    site = wall_site(h.settings, "livredor_test_bot")
    server = WallServer(h.db, site, clock=clock or time.monotonic)
    await server.start("127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


async def submit(
    h: Harness, p: Person, quote: str, name: str = "Ada LOVELACE", start: str = "/start"
) -> int:
    """Take a person through the conversation (``start``: the deep link's command); return
    the pending testimonial's id."""
    await p.send(start)
    if start == "/start":
        await p.press("Skip")  # the session question: about the whole event
    await p.send(name)
    await p.send("Analytical Engine Society\nLondon")
    await p.send(quote)
    await p.press("Done")
    await p.press("Skip")  # no photo
    await p.press("Yes, I agree")
    await p.press("Send")
    mine = await h.repo.list_for_user(p.id)
    assert mine and mine[0].status is Status.PENDING
    return mine[0].id


async def press_card(h: Harness, tid: int, action: str) -> None:
    """An organiser presses a button of the testimonial's card."""
    await h.settle()
    t = await h.repo.get(tid)
    assert t is not None and t.card_message_ids
    h.fake.user_presses(ORGANISER_ID, GROUP_ID, t.card_message_ids[0], f"mod:{action}:{tid}")
    await h.settle()


async def publish(
    h: Harness, p: Person, quote: str, name: str = "Ada LOVELACE", start: str = "/start"
) -> int:
    """Submit and approve; return the id once it is in the channel."""
    tid = await submit(h, p, quote, name, start)
    await press_card(h, tid, "approve")
    t = await h.repo.get(tid)
    assert t is not None and t.status is Status.PUBLISHED
    return tid


async def channel_text(h: Harness, tid: int) -> str:
    """The testimonial's channel post as one plain text (its parts joined back)."""
    t = await h.repo.get(tid)
    assert t is not None and t.channel_message_ids
    parts = [h.fake.message(CHANNEL_ID, m)["text"] for m in t.channel_message_ids]
    return join_parts_plain(parts, marker=POST_MARKER)
