"""Publishing benchmark: N approvals at once, drained into a flood-limited channel.

    .venv/bin/python -m tests.bench.publishing            # 200 approvals
    .venv/bin/python -m tests.bench.publishing --quick    # 60 approvals

The fake Telegram enforces Telegram's per-chat flood limit with a shortened window: ``--limit``
messages per ``--window`` seconds (default 20 per 1 s instead of 20 per minute) in every group
and channel; the bot gets the same numbers through its settings
(``group_messages_per_minute``, ``group_rate_period_seconds``). The overall limit, 30 a second
against 20 a minute per chat in reality (90 times more), is scaled with it: 1,000 a second on
both sides, so that it does not become the binding limit only because the window shrank.

Setup: N attendees go through the conversation (the real flow); their N cards reach the
organisers' group (at the group's limit). Then the organiser presses Approve on every card at
once, and the publisher drains the outbox: post, record, tell the author, edit the card. The
drain time runs from the first press to the last post in the channel. With a sliding window
the first ``limit`` posts go at once, so N posts take at least (ceil(N / limit) - 1) * window
seconds; the target is measured against N / rate (= N * window / limit). A second drain
runs while ``--arrivals`` new testimonials come in: their cards and the publisher's card
edits share the organisers' group and its limit.

Baseline in the same run: a bare PTB bot with PTB's own ``AIORateLimiter`` (same limit)
posting N messages into another channel of the same fake, one after the other.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from telegram import Bot
from telegram.ext import AIORateLimiter, ExtBot

from bot.sandbox.request import FakeRequest
from tests.bench.common import (
    CHANNEL_ID,
    GROUP_ID,
    ORGANISER_ID,
    TOKEN,
    BenchFake,
    attendee_name,
    button_data,
    conversation,
    machine_banner,
    play,
    print_table,
    start_livredor,
    stop_livredor,
)
from tests.support import make_settings

BASELINE_CHANNEL_ID = -1001000000099
FAST = 1000  # the overall limit, per second (scaled with the shortened window)


@dataclass
class Drain:
    """One drain of N posts into a limited channel."""

    who: str
    posts: int
    seconds: float
    too_many: int  # 429 answers the fake gave in the channel
    in_order: bool
    exactly_once: bool
    notes: str = ""


def floors(n: int, limit: int, window: float) -> tuple[float, float]:
    """Return (the sliding window's exact floor, N / rate) in seconds."""
    return (math.ceil(n / limit) - 1) * window, n * window / limit


def channel_names(fake: BenchFake, chat_id: int) -> list[str]:
    """The first line (the author's name) of every bot message in a channel, in order."""
    return [m["text"].split("\n", 1)[0] for m in fake.messages(chat_id)]


def card_edits(fake: BenchFake) -> int:
    """How many edits of messages in the organisers' group went through."""
    return sum(
        1
        for r in fake.calls("editMessageText")
        if r.ok and str(r.params.get("chat_id")) == str(GROUP_ID)
    )


def too_many(fake: BenchFake, chat_id: int) -> int:
    """How many 429s the fake answered for sends into ``chat_id``."""
    return sum(
        1 for r in fake.requests if r.status == 429 and str(r.params.get("chat_id")) == str(chat_id)
    )


async def livredor_drain(
    n: int, limit: int, window: float, database: Path, arrivals: int = 0
) -> tuple[Drain, dict[str, object]]:
    """Submit N testimonials, approve them all at once, time the drain (while ``arrivals``
    new testimonials come in, whose cards share the organisers' group with the edits)."""
    fake = BenchFake(group_limit=limit, group_window=window, global_limit=FAST)
    settings = make_settings(
        database,
        group_messages_per_minute=limit,
        group_rate_period_seconds=window,
        messages_per_second=FAST,
    )
    app, db = await start_livredor(fake, settings)
    try:
        users = range(200_000, 200_000 + n)
        newcomers = range(300_000, 300_000 + arrivals)
        rng = random.Random(n)
        slots = asyncio.Semaphore(100)
        for uid in [*users, *newcomers]:
            fake.add_user(uid, "Attendee", last_name=str(uid))

        async def submit(uid: int) -> None:
            async with slots:
                await play(fake, uid, conversation(uid, rng))

        await asyncio.gather(*(submit(uid) for uid in users))
        await fake.until_sent(GROUP_ID, n)  # every card is out, at the group's pace
        await asyncio.sleep(window + 0.1)  # and the windows are empty again
        fake.requests.clear()

        cards = [m for m in fake.messages(GROUP_ID) if m["reply_markup"]]
        started = time.perf_counter()
        for card in cards:
            data = button_data(card, "Approve")
            fake.user_presses(ORGANISER_ID, GROUP_ID, card["message_id"], data)
        arriving = asyncio.gather(*(submit(uid) for uid in newcomers))
        await fake.until_sent(CHANNEL_ID, n)
        await arriving
        seconds = fake.sent_times[CHANNEL_ID][-1] - started
        answered = [
            r.monotonic for r in fake.requests if r.method == "answerCallbackQuery" and r.ok
        ]
        # The rest of each publication: the author told, the card edited (after the post is
        # recorded). Only the group's edits: attendees' presses are answered by edits too.
        await fake.wait_for(lambda: card_edits(fake) >= n, timeout=60, what="card edits")
        with sqlite3.connect(settings.database) as conn:
            approved = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM testimonials WHERE status = 'published' ORDER BY approved_seq"
                )
            ]
        posted = channel_names(fake, CHANNEL_ID)
        drain = Drain(
            f"livredor, {arrivals} new submissions meanwhile" if arrivals else "livredor",
            len(posted),
            seconds,
            too_many(fake, CHANNEL_ID),
            in_order=posted == approved,
            exactly_once=len(posted) == n == len(set(posted))
            and set(posted) == {attendee_name(u) for u in users},
        )
        press_times = sorted(answered)
        extra: dict[str, object] = {
            "first post, after the first press (ms)": round(
                (fake.sent_times[CHANNEL_ID][0] - started) * 1000, 1
            ),
            "all approvals answered after (s)": round(press_times[-1] - started, 2),
            "channel posts": len(posted),
            "authors told": sum(
                1
                for r in fake.calls("sendMessage")
                if r.ok and int(str(r.params.get("chat_id"))) > 0
            ),
            "cards edited": card_edits(fake),
            "429s, all chats": sum(1 for r in fake.requests if r.status == 429),
        }
        return drain, extra
    finally:
        await stop_livredor(app, db)
        await fake.aclose()


async def ptb_drain(n: int, limit: int, window: float) -> Drain:
    """PTB's own floor: a bare bot with ``AIORateLimiter`` posting N messages in a row."""
    fake = BenchFake(group_limit=limit, group_window=window, global_limit=FAST)
    fake.add_channel(BASELINE_CHANNEL_ID, "Baseline")
    limiter = AIORateLimiter(
        overall_max_rate=FAST, group_max_rate=limit, group_time_period=window, max_retries=10
    )
    bot: Bot = ExtBot(TOKEN, request=FakeRequest(fake), rate_limiter=limiter)
    names = [f"Post {i}" for i in range(n)]
    async with bot:
        started = time.perf_counter()
        for name in names:
            await bot.send_message(BASELINE_CHANNEL_ID, f"{name}\n\nA testimonial.")
        seconds = time.perf_counter() - started
    posted = channel_names(fake, BASELINE_CHANNEL_ID)
    await fake.aclose()
    return Drain(
        "PTB AIORateLimiter",
        len(posted),
        seconds,
        too_many(fake, BASELINE_CHANNEL_ID),
        in_order=posted == names,
        exactly_once=posted == names,
    )


async def bench(
    n: int, limit: int, window: float, arrivals: int
) -> tuple[list[Drain], dict[str, object]]:
    """Run livredor's drain (alone, then with new submissions arriving), PTB's baseline."""
    drains = []
    with tempfile.TemporaryDirectory(prefix="livredor-bench-") as tmp:
        ours, extra = await livredor_drain(n, limit, window, Path(tmp) / "alone.db")
        drains.append(ours)
        if arrivals:
            busy, _ = await livredor_drain(n, limit, window, Path(tmp) / "busy.db", arrivals)
            drains.append(busy)
    return [*drains, await ptb_drain(n, limit, window)], extra


def main() -> None:
    """Parse the options, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--approvals", type=int, default=200)
    parser.add_argument("--limit", type=int, default=20, help="posts per window, per chat")
    parser.add_argument("--window", type=float, default=1.0, help="seconds")
    parser.add_argument(
        "--arrivals", type=int, default=100, help="new submissions during a second drain"
    )
    parser.add_argument("--quick", action="store_true", help="60 approvals, 30 arrivals")
    args = parser.parse_args()
    if args.quick:
        args.approvals, args.arrivals = 60, 30
    n, limit, window = args.approvals, args.limit, args.window
    print(machine_banner("livredor publishing benchmark"))
    exact, nominal = floors(n, limit, window)
    print(
        f"{n} approvals at once; channel limit {limit} per {window:g} s "
        f"(floor: (ceil(N/L)-1)*W = {exact:.2f} s; N/rate = {nominal:.2f} s)"
    )
    drains, extra = asyncio.run(bench(n, limit, window, args.arrivals))
    print_table(
        "Drain of the outbox into the channel (target: drain / (N/rate) <= 1.10, no post "
        "lost, none twice, approval order)",
        [
            "sender",
            "posts",
            "drain s",
            "/ (N/rate)",
            "/ exact floor",
            "posts/s",
            "429s",
            "exactly once",
            "in order",
        ],
        [
            (
                d.who,
                d.posts,
                d.seconds,
                d.seconds / nominal,
                d.seconds / exact if exact else float("nan"),
                d.posts / d.seconds,
                d.too_many,
                "yes" if d.exactly_once else "NO",
                "yes" if d.in_order else "NO",
            )
            for d in drains
        ],
    )
    print_table("livredor alone: the rest of each publication", ["what", "value"], extra.items())


if __name__ == "__main__":
    main()
