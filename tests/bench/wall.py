"""The live wall under 200 screens: how many requests a second it serves, and what that costs
the bot's answers to attendees.

One bot (in process, against the strict fake), attendees talking to it without pause the
whole time, a new testimonial published every second, and three phases measured alike:

1. **baseline**: no screen asks anything;
2. **paced**: ``--screens`` screens poll ``/wall.json`` at the page's own pace
   (``POLL_SECONDS``, with ``If-None-Match``, as ``wall.js`` does);
3. **flood**: the same screens ask as fast as they can (the worst a fleet of kiosks could do).

The screens run in a child process, as they are other machines at the venue: the bot's
process pays only for serving them. Printed: the requests a second the wall served, their
answers and latency, the attendees' answer times and the bot process's CPU, with the ratio of
each phase to the baseline measured in the same run.

    python -m tests.bench.wall                      # 200 screens, 20 s a phase
    python -m tests.bench.wall --screens 5 --seconds 1.5 --attendees 2   # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bot.cli.wall import wall_site
from bot.services.container import Services
from bot.services.wall import POLL_SECONDS, WallServer
from storage.database import Database
from storage.testimonials import Repository
from tests.bench.common import (
    BenchFake,
    conversation,
    machine_banner,
    percentile,
    play,
    print_table,
    quote_for,
    start_livredor,
    stop_livredor,
)
from tests.bench.intake import bench_settings

PHASES = ("baseline", "paced", "flood")
#: Published before the phases: a wall's worth (the seed book has 31).
ALREADY_PUBLISHED = 30


@dataclass
class Screens:
    """What the screens saw in one phase (measured in the child process)."""

    requests: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Phase:
    """One phase's figures."""

    name: str
    screens: Screens
    answers: list[float] = field(default_factory=list)
    cpu: float = 0.0
    seconds: float = 0.0
    published: int = 0
    screens_cpu: float = 0.0


# --- the screens (a child process) -----------------------------------------------------------


async def screens_child(url: str, count: int, paced: bool, seconds: float) -> None:
    """``count`` screens asking ``url`` for ``seconds``; print what they saw as JSON."""
    seen = Screens()
    stop = float("inf")
    connector = aiohttp.TCPConnector(limit=0)

    async def screen(session: aiohttp.ClientSession, n: int) -> None:
        etag = ""
        rng = random.Random(n)
        if paced:  # screens switched on at different moments
            await asyncio.sleep(rng.uniform(0, POLL_SECONDS))
        while time.monotonic() < stop:
            started = time.perf_counter()
            headers = {"If-None-Match": etag} if etag else {}
            try:
                async with session.get(url, headers=headers) as r:
                    await r.read()
                    status = str(r.status)
                    etag = r.headers.get("ETag", etag)
            except aiohttp.ClientError as exc:
                status = type(exc).__name__
            seen.latencies.append(time.perf_counter() - started)
            seen.requests += 1
            seen.statuses[status] = seen.statuses.get(status, 0) + 1
            if paced:
                await asyncio.sleep(POLL_SECONDS)

    async with aiohttp.ClientSession(connector=connector) as session:
        # Started (Python and aiohttp imported): the parent starts the phase's clock now.
        print("ready", flush=True)
        began = time.monotonic()
        stop = began + seconds
        await asyncio.gather(*(screen(session, n) for n in range(count)))
    seen.seconds = time.monotonic() - began
    print(json.dumps(seen.__dict__))


async def start_screens(url: str, count: int, mode: str, seconds: float) -> Child:
    """Start the screens' child process; return once they are about to ask."""
    # Before the start: asyncio reaps the child as soon as it ends, and its CPU is then
    # added to RUSAGE_CHILDREN (one child at a time here).
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.bench.wall",
        "--child",
        url,
        str(count),
        mode,
        str(seconds),
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert await proc.stdout.readline() == b"ready\n", "the screens' process did not start"
    return Child(proc, before)


@dataclass
class Child:
    """The screens' process, and the children's CPU before it started."""

    proc: asyncio.subprocess.Process
    before: resource.struct_rusage


async def screens_result(child: Child | None) -> tuple[Screens, float]:
    """What the screens saw, and the CPU seconds their process used."""
    if child is None:
        return Screens(), 0.0
    proc, before = child.proc, child.before
    out, _ = await proc.communicate()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert proc.returncode == 0, "the screens' process failed"
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Screens(**json.loads(out)), cpu


# --- the bot, its attendees, its publications -------------------------------------------------


async def attendees(fake: BenchFake, until: float, concurrency: int, first: int) -> list[float]:
    """Attendees taking the conversation, ``concurrency`` at a time, until ``until``."""
    times: list[float] = []
    rng = random.Random(first)

    async def lane(lane_id: int) -> None:
        uid = first + lane_id * 100_000
        while time.monotonic() < until:
            fake.add_user(uid, "Attendee", last_name=str(uid), language_code="en")
            times.extend(await play(fake, uid, conversation(uid, rng)))
            uid += 1

    await asyncio.gather(*(lane(n) for n in range(concurrency)))
    return times


async def publishing(repo: Repository, services: Services, until: float, start: int) -> int:
    """Publish one new testimonial a second until ``until`` (the wall's answers change)."""
    rng = random.Random(start)
    n = start
    while time.monotonic() < until:
        await publish(repo, services, n, rng)
        n += 1
        await asyncio.sleep(1.0)
    return n - start


async def publish(repo: Repository, services: Services, n: int, rng: random.Random) -> None:
    """Queue one testimonial for the channel (as ``livredor import --publish`` does)."""
    entry = (f"bench-{n}", f"Speaker {n} LASTNAME", "Université de Lille", quote_for(rng))
    await repo.import_entries([entry], language="en", publish=True)
    assert services.publisher is not None
    services.publisher.wake()


async def run_phase(
    name: str, fake: BenchFake, repo: Repository, services: Services, url: str, args: Any, n: int
) -> Phase:
    """One phase: attendees and publications for ``args.seconds``, screens as ``name`` says."""
    child = None
    if name != "baseline":
        child = await start_screens(url, args.screens, name, args.seconds)
    until = time.monotonic() + args.seconds
    cpu0, wall0 = time.process_time(), time.perf_counter()
    answers, published = await asyncio.gather(
        attendees(fake, until, args.attendees, first=(n + 1) * 1_000_000),
        publishing(repo, services, until, start=(n + 1) * 10_000),
    )
    phase = Phase(name, Screens(), answers, published=published)
    phase.cpu = time.process_time() - cpu0
    phase.seconds = time.perf_counter() - wall0
    phase.screens, phase.screens_cpu = await screens_result(child)
    return phase


async def bench(args: argparse.Namespace) -> list[Phase]:
    """Start the bot and its wall, publish a wall's worth, run the phases."""
    with tempfile.TemporaryDirectory(prefix="livredor-bench-wall-") as tmp:
        fake = BenchFake(group_limit=10**9, global_limit=10**9, group_window=1.0)
        fake.keep_requests = False
        settings = bench_settings(Path(tmp) / "livredor.db", lift=True)
        app, db = await start_livredor(fake, settings)
        services: Services = app.bot_data.services
        repo = services.repo
        wall = WallServer(db, wall_site(settings, "livredor_bench_bot"))
        await wall.start("127.0.0.1", 0)
        url = f"http://127.0.0.1:{wall.port}/wall.json"
        try:
            rng = random.Random(0)
            for n in range(ALREADY_PUBLISHED):
                await publish(repo, services, n, rng)
            await _until_published(db, ALREADY_PUBLISHED)
            # Warm-up: the first conversations and the first answers are not the steady state.
            await attendees(fake, time.monotonic() + 1.0, args.attendees, first=1)
            phases = [
                await run_phase(name, fake, repo, services, url, args, n)
                for n, name in enumerate(PHASES)
            ]
            assert fake.unknown_methods == [], fake.unknown_methods
            errors = {k: n for k, n in fake.answers.items() if k[1] != 200}
            assert not errors, f"the fake answered with errors: {errors}"
        finally:
            await wall.stop()
            await stop_livredor(app, db)
            await fake.aclose()
    return phases


async def _until_published(db: Database, count: int) -> None:
    while True:
        rows = await db.fetchall("SELECT count(*) FROM testimonials WHERE status = 'published'")
        if int(rows[0][0]) >= count:
            return
        await asyncio.sleep(0.05)


def report(phases: list[Phase], args: argparse.Namespace) -> None:
    """Print the figures, each phase against the baseline of the same run."""
    base = phases[0]
    base_p95 = percentile(base.answers, 95) or float("nan")
    base_cpu = base.cpu / base.seconds
    rows = []
    for p in phases:
        s = p.screens
        rate = s.requests / s.seconds if s.seconds else 0.0
        answers = ", ".join(f"{k} {v:,}" for k, v in sorted(s.statuses.items())) or "-"
        rows.append(
            (
                p.name,
                args.screens if p.name != "baseline" else 0,
                rate,
                answers,
                percentile(s.latencies, 50) * 1000,
                percentile(s.latencies, 99) * 1000,
                len(p.answers),
                percentile(p.answers, 50) * 1000,
                percentile(p.answers, 95) * 1000,
                percentile(p.answers, 95) / base_p95,
                p.cpu / p.seconds,
                (p.cpu / p.seconds) / base_cpu,
                p.screens_cpu / p.seconds,
            )
        )
    print_table(
        f"The wall's requests a second and the bot's answers ({args.attendees} attendees "
        f"without pause, one testimonial published a second, {args.seconds:g} s a phase)",
        (
            "phase",
            "screens",
            "requests a second",
            "answers",
            "wall p50 ms",
            "wall p99 ms",
            "bot answers",
            "answer p50 ms",
            "answer p95 ms",
            "p95 x baseline",
            "CPU s/s",
            "CPU x baseline",
            "screens' CPU s/s",
        ),
        rows,
    )
    print(
        "\nScreens poll every "
        f"{POLL_SECONDS:g} s in 'paced' (the page's pace) and without pause in 'flood'. "
        "CPU: the bot's process (the bot, the fake Telegram, the attendees and the wall's "
        "server). The screens run in another process, on the same "
        f"cores here ({os.cpu_count()}): at the venue they are other machines, so the flood's "
        "slower answers are partly the screens' own CPU (last column)."
    )


def main() -> None:
    """Parse the arguments, run, report."""
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        url, count, mode, seconds = sys.argv[2:6]
        asyncio.run(screens_child(url, int(count), mode == "paced", float(seconds)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--screens", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0, help="per phase")
    parser.add_argument("--attendees", type=int, default=10, help="talking at once")
    parser.add_argument("--quick", action="store_true", help="50 screens, 5 s a phase")
    args = parser.parse_args()
    if args.quick:
        args.screens, args.seconds = 50, 5.0
    print(machine_banner("livredor: the live wall under many screens"))
    report(asyncio.run(bench(args)), args)


if __name__ == "__main__":
    main()
