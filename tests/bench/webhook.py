"""Webhook benchmark: updates a second through the webhook over loopback HTTP, vs polling.

    .venv/bin/python -m tests.bench.webhook            # 3 x 300 attendees per mode
    .venv/bin/python -m tests.bench.webhook --quick    # 1 x 100 attendees, 50 at a time

The real ``livredor run`` runs as a child process against the fake Telegram served on
loopback HTTP, ``--rounds`` times per mode (modes in turn; medians are printed, with the
range), each time on a fresh database and fake, with the same
attendees saying the same things (the 8-update conversation, ``--concurrency`` people at a
time, each waiting for the bot's answer before the next step):

* **polling**: the bot long-polls ``getUpdates`` (its default);
* **webhook, one at a time**: the fake POSTs each update to the bot's webhook and waits for
  the answer before the next (the fake's own delivery; Telegram with ``max_connections=1``);
* **webhook, concurrent**: ``--connections`` POSTs in flight from an aiohttp client with the
  secret header (Telegram's default ``max_connections`` is 40).

The baseline is a bare PTB echo bot (``tests/bench/echo_bot.py``, PTB's own HTTP client),
polling and behind PTB's webhook server; once more polling on livredor's HTTP client
(``bot/services/telegram_http.py``), to tell what the client saves from what livredor costs.

Reported: updates handled a second (first update to the bot's last answer), the attendees'
wait for each answer (p50/p99), the webhook's own answer time to a POST, and the bot
process's CPU per update (``/proc/PID/stat``: the fake and the attendees run in this
process, so this is the bot alone, HTTP client and server included). Both processes' CPU
use is printed: on a 2-core machine, a harness near 100 % is what limits the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bot.sandbox.server import start_server
from bot.sandbox.webhook import SECRET_HEADER
from tests.bench.common import (
    GROUP_ID,
    BenchFake,
    conversation,
    machine_banner,
    percentile,
    play,
    print_table,
)
from tests.e2e.cli_process import CliProcess, cli_env, free_port

SECRET = "bench-webhook-secret_0123456789abcdef"
#: The baseline: a bare PTB echo bot, started like ``livredor`` (CliProcess, ``module=``).
ECHO_BOT = "tests.bench.echo_bot"
FAST = "1000"
ECHO = "echo bot, polling"
ECHO_WEBHOOK = "echo bot, webhook, one at a time"
#: The echo bot on livredor's HTTP client (bot/services/telegram_http.py), not PTB's httpx.
ECHO_OURS = "echo bot, polling, livredor's client"
MODES = (
    "polling",
    "webhook, one at a time",
    "webhook, concurrent",
    ECHO,
    ECHO_WEBHOOK,
    ECHO_OURS,
)
ECHOES = (ECHO, ECHO_WEBHOOK, ECHO_OURS)
#: Each livredor mode against the echo bot on the same transport.
SAME_TRANSPORT = {"polling": ECHO, "webhook, one at a time": ECHO_WEBHOOK}
JSON = dict[str, Any]

#: The updates of one attendee (``conversation``).
UPDATES_EACH = len(conversation(0, random.Random(0)))


class DeliveringFake(BenchFake):
    """The fake, whose webhook deliveries can be taken over by ``deliver`` (concurrent)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.take_over = False
        self.outbox: asyncio.Queue[JSON] = asyncio.Queue()

    def start_webhook_delivery(self) -> None:
        """Deliver as the fake does, unless taken over."""
        if not self.take_over:
            super().start_webhook_delivery()

    def queue_update(self, kind: str, payload: JSON) -> JSON | None:
        """Queue an update; hand it to our deliverers too when they have taken over."""
        update = super().queue_update(kind, payload)
        if update is not None and self.take_over and self.webhook is not None:
            self.outbox.put_nowait(update)
        return update


async def deliver(fake: DeliveringFake, connections: int, answers: list[float]) -> None:
    """POST queued updates to the bot's webhook, ``connections`` at a time, like Telegram."""
    assert fake.webhook is not None
    url = fake.webhook.url
    headers = {"Content-Type": "application/json", SECRET_HEADER: SECRET}

    async def worker(session: aiohttp.ClientSession) -> None:
        while True:
            update = await fake.outbox.get()
            started = time.perf_counter()
            async with session.post(url, data=json.dumps(update), headers=headers) as response:
                await response.read()
                assert response.status == 200, response.status
            answers.append(time.perf_counter() - started)
            fake.confirm_updates(int(update["update_id"]) + 1)

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(connections)))


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    """One mode's figures."""

    mode: str
    updates: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    harness_cpu: float = 0.0  # this process: the fake, the attendees, the deliverers
    polls: int = 0  # getUpdates calls
    replies: list[float] = field(default_factory=list)
    post_answers: list[float] = field(default_factory=list)


async def run_mode(
    mode: str, workdir: Path, attendees: int, concurrency: int, connections: int
) -> Run:
    """Start the bot in ``mode``, play the attendees, measure, stop."""
    fake = DeliveringFake(group_limit=10**6, global_limit=10**6)
    fake.take_over = mode == "webhook, concurrent"
    server = await start_server(fake)
    settings = {
        "group_messages_per_minute": FAST,
        "group_rate_period_seconds": "1",
        "messages_per_second": FAST,
        "log_level": "WARNING",
        # A card for every testimonial (the run waits for them all), not the group's summary.
        "review_backlog": "0",
    }
    if mode not in ("polling", ECHO, ECHO_OURS):  # a webhook
        port = free_port()
        settings.update(
            webhook_url=f"http://127.0.0.1:{port}/livredor-hook",
            webhook_listen="127.0.0.1",
            webhook_port=str(port),
            webhook_secret=SECRET,
        )
    database = workdir / "livredor.db"
    process = CliProcess(workdir, "bot")
    result = Run(mode)
    delivering: asyncio.Task[None] | None = None
    echo = mode in ECHOES
    try:
        if echo:
            env = cli_env(server, database, **settings)
            if mode == ECHO_OURS:
                env["ECHO_TRANSPORT"] = "livredor"
            await process.start(env=env, module=ECHO_BOT)
        else:
            await process.start("run", env=cli_env(server, database, **settings))
        if mode in ("polling", ECHO, ECHO_OURS):
            # Asked, not answered: the first long poll is held until an update comes.
            await fake.wait_for(lambda: fake.calls("getUpdates"), 60, what="polling")
        else:
            await fake.wait_for(lambda: fake.webhook is not None, 60, what="setWebhook")
        if fake.take_over:
            delivering = asyncio.create_task(deliver(fake, connections, result.post_answers))
        users = range(400_000, 400_000 + attendees)
        rng = random.Random(attendees)
        scripts = {uid: conversation(uid, rng) for uid in users}
        for uid in users:
            fake.add_user(uid, "Attendee", last_name=str(uid))
        slots = asyncio.Semaphore(concurrency)

        async def one(uid: int) -> None:
            async with slots:
                result.replies += await play(fake, uid, scripts[uid], echo=echo)

        # Warm up (imports, first connections), then measure.
        await asyncio.gather(*(one(uid) for uid in users[:20]))
        if not echo:
            await fake.until_sent(GROUP_ID, 20)
        cpu0, wall0 = cpu_seconds(process.pid), time.perf_counter()
        harness0 = time.process_time()
        polls0 = fake.count("getUpdates")
        result.replies.clear()
        result.post_answers.clear()
        await asyncio.gather(*(one(uid) for uid in users[20:]))
        if not echo:
            await fake.until_sent(GROUP_ID, attendees)  # the organisers' cards too
        result.wall = time.perf_counter() - wall0
        result.cpu = cpu_seconds(process.pid) - cpu0
        result.harness_cpu = time.process_time() - harness0
        result.polls = fake.count("getUpdates") - polls0
        result.updates = (attendees - 20) * UPDATES_EACH
        if mode in ("webhook, one at a time", ECHO_WEBHOOK):
            result.post_answers = []  # the fake's delivery does not time its POSTs
        process.signal(signal.SIGTERM)
        await process.wait(30)
    finally:
        if delivering is not None:
            delivering.cancel()
        await process.kill()
        await server.close()
        await fake.aclose()
    assert fake.unknown_methods == [], fake.unknown_methods
    return result


def main() -> None:
    """Parse the options, run the three modes ``--rounds`` times, print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attendees", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=100, help="attendees at a time")
    parser.add_argument("--connections", type=int, default=40, help="concurrent POSTs")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each mode")
    parser.add_argument("--quick", action="store_true", help="100 attendees, 50 at a time, once")
    args = parser.parse_args()
    if args.quick:
        args.attendees, args.concurrency, args.rounds = 100, 50, 1
    print(machine_banner("livredor webhook benchmark"))
    print(
        f"{args.attendees} attendees ({args.concurrency} at a time, 8 updates each) per run, "
        f"after 20 to warm up; {args.rounds} run(s) of each mode, in turn; the real "
        f"`livredor run` against the loopback fake"
    )

    async def run() -> dict[str, list[Run]]:
        runs: dict[str, list[Run]] = {mode: [] for mode in MODES}
        with tempfile.TemporaryDirectory(prefix="livredor-bench-") as tmp:
            for n in range(args.rounds):
                for mode in MODES:
                    workdir = Path(tmp) / f"{n}-{MODES.index(mode)}"
                    workdir.mkdir()
                    runs[mode].append(
                        await run_mode(
                            mode, workdir, args.attendees, args.concurrency, args.connections
                        )
                    )
        return runs

    runs = asyncio.run(run())
    ms = 1000.0

    def rate(r: Run) -> float:
        return r.updates / r.wall

    def cpu(r: Run) -> float:
        return r.cpu / r.updates * ms

    polling = statistics.median(rate(r) for r in runs["polling"])
    rows = []
    for mode, done in runs.items():
        replies = [x for r in done for x in r.replies]
        posts = [x for r in done for x in r.post_answers]
        rows.append(
            (
                mode,
                statistics.median(rate(r) for r in done),
                f"{min(rate(r) for r in done):.0f}-{max(rate(r) for r in done):.0f}",
                statistics.median(rate(r) for r in done) / polling,
                statistics.median(r.polls / r.updates for r in done),
                percentile(replies, 50) * ms,
                percentile(replies, 99) * ms,
                percentile(posts, 50) * ms if posts else "-",
                percentile(posts, 99) * ms if posts else "-",
                statistics.median(cpu(r) for r in done),
                f"{min(cpu(r) for r in done):.2f}-{max(cpu(r) for r in done):.2f}",
                statistics.median(100 * r.cpu / r.wall for r in done),
                statistics.median(100 * r.harness_cpu / r.wall for r in done),
            )
        )
    print_table(
        "Updates through each transport (same bot, same updates; medians, range over runs)",
        [
            "mode",
            "updates/s",
            "range",
            "vs polling",
            "getUpdates/update",
            "answer p50 ms",
            "answer p99 ms",
            "POST answered p50 ms",
            "POST p99 ms",
            "bot CPU ms/update",
            "range",
            "bot CPU %",
            "harness CPU %",
        ],
        rows,
    )

    def median_cpu(mode: str) -> float:
        return statistics.median(cpu(r) for r in runs[mode])

    echo_cpu = median_cpu(ECHO)
    print(
        "\nbot CPU per update against the echo bot over real HTTP (target: at most 2.0): "
        + ", ".join(
            f"{mode} {statistics.median(cpu(r) for r in runs[mode]) / echo_cpu:.2f}"
            for mode in MODES
            if mode not in ECHOES
        )
    )
    print(
        "against the echo bot on the same transport: "
        + ", ".join(
            f"{mode} {median_cpu(mode) / median_cpu(echo):.2f}"
            for mode, echo in SAME_TRANSPORT.items()
        )
    )
    ours = median_cpu(ECHO_OURS)
    print(
        f"against the echo bot on livredor's HTTP client ({ours:.2f} ms/update, "
        f"{ours / echo_cpu:.2f} x the baseline's): "
        + ", ".join(f"{mode} {median_cpu(mode) / ours:.2f}" for mode in MODES if mode not in ECHOES)
    )


if __name__ == "__main__":
    main()
