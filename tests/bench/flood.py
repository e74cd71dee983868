"""Flood benchmark: one person sends thousands of updates; how long do the others wait?

    .venv/bin/python -m tests.bench.flood            # a flood of 5,000 updates, 20 others
    .venv/bin/python -m tests.bench.flood --quick    # 300 updates, 5 others

The real bot (``build_application``: real PTB, a real SQLite file, the per-person flood guard
at its defaults, 5 a second with a burst of 20) polls the in-process fake Telegram. ``--calm``
other attendees each send ``/start`` one after the other and wait for the answer: once with
no flood (the baseline, same process, same run), then while one person's ``--flood``
updates (``/help``) are all in the bot's hands, waiting behind the flood guard. Printed: the
answer time of the calm attendees (median and worst) in both phases and their ratio, and how
many of the flooder's updates were still waiting at the end (they are all answered: the guard
is lifted to finish the run quickly). The promise: a flood costs only the flooder.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bot.services.floodguard import FloodGuard
from tests.support import Harness, Person, running_bot


async def calm_answers(harness: Harness, count: int, first_id: int) -> list[float]:
    """``count`` attendees, one after the other, each timed from /start to the answer."""
    times = []
    for n in range(count):
        person = harness.person("Calm", user_id=first_id + n)
        before = len(person.texts())
        started = time.perf_counter()
        harness.fake.user_sends(person.id, "/start")

        def answered(person: Person = person, before: int = before) -> bool:
            return len(person.texts()) > before

        await harness.wait(answered, timeout=60)
        times.append(time.perf_counter() - started)
    return times


async def bench(flood: int, calm: int) -> tuple[list[float], list[float], int]:
    with tempfile.TemporaryDirectory() as folder:
        async with running_bot(Path(folder)) as harness:
            baseline = await calm_answers(harness, calm, 10_000)
            flooder = harness.person("Flo", user_id=9_999)
            for i in range(flood):
                harness.fake.user_sends(flooder.id, f"/help {i}")
            await harness.wait(lambda: not harness.fake.pending_updates, timeout=120)
            flooded = await calm_answers(harness, calm, 20_000)
            waiting = flood - sum("/forget" in t for t in flooder.texts())
            # Let the rest of the flood through now, so that the bot can stop.
            harness.services.flood = FloodGuard(rate=1e6, burst=1_000_000)
            await harness.wait(
                lambda: sum("/forget" in t for t in flooder.texts()) == flood, timeout=600
            )
    return baseline, flooded, waiting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flood", type=int, default=5000, help="updates from one person")
    parser.add_argument("--calm", type=int, default=20, help="other attendees, one by one")
    parser.add_argument("--quick", action="store_true", help="--flood 300 --calm 5")
    args = parser.parse_args()
    if args.quick:
        args.flood, args.calm = 300, 5
    baseline, flooded, waiting = asyncio.run(bench(args.flood, args.calm))
    base, during = statistics.median(baseline), statistics.median(flooded)
    print(f"# Flood: one person sends {args.flood:,} updates, {args.calm} others /start\n")
    print("| phase | median answer (ms) | worst answer (ms) |")
    print("|---|---|---|")
    print(f"| no flood | {base * 1000:.1f} | {max(baseline) * 1000:.1f} |")
    print(f"| during the flood | {during * 1000:.1f} | {max(flooded) * 1000:.1f} |")
    print()
    print(f"ratio during/no flood (median): {during / base:.2f}")
    print(f"flood updates still waiting when the others were done: {waiting:,}")


if __name__ == "__main__":
    main()
