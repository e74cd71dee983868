"""Intake benchmark: attendees through the whole conversation, against PTB's own floor.

    .venv/bin/python -m tests.bench.intake            # 1,000 attendees, 500 at a time
    .venv/bin/python -m tests.bench.intake --quick    # 200 attendees, 100 at a time

Each attendee sends /start, a name, an organisation, a quote, then presses Done, Skip (no
photo), "Yes, I agree" and Send (8 updates), each time waiting for the bot's answer, as a
person does. The real bot (``build_application``: real PTB, a real SQLite file, every step
committed before the reply, a card to the organisers per submission) polls the in-process
fake Telegram through ``FakeRequest``. The baseline, in the same process and run, is a bare
PTB bot doing one ``reply_text`` per update, with the same fake, transport, ``Defaults``
(HTML) and concurrent updates, fed the same 8 updates per attendee.

Phases:

* **saturation** (``--rounds`` times, the two bots alternating; medians are printed):
  ``--concurrency`` attendees at a time with no pause between steps. Throughput and CPU per
  update. Latency here is queueing (Little's law: concurrency / throughput).
* **paced**: ``--concurrency`` attendees at a time who pause between steps (exponential,
  mean ``--think`` seconds), like people typing: handling latency at a steady load.

How it is measured:

* handling latency: a ``TypeHandler`` in group -100 stamps the update when PTB hands it to
  the handlers (after livredor's per-person queue), one in group 100 when handling ends;
* reply latency: from the attendee's action to the bot's last message answering it;
* CPU: ``time.process_time()`` over the phase (all threads, SQLite's included) divided by the
  updates. The fake Telegram's share (the Bot API methods it runs) and the attendees' share
  (the driver) are metered apart (main-thread CPU of their code) and subtracted for "bot only";
* peak RSS: VmHWM of the whole process (both bots, the fake, the attendees), reset per phase;
* garbage collection: objects left by earlier phases are frozen (``gc.freeze``) before each
  phase, as the fakes keep every message; the longest collection of the phase is printed.

Flood limits: livredor's own limiter is built from the settings; they are set to their
maximum (1,000 messages a second, Telegram's paid-broadcast ceiling) and then lifted further
(``Settings.model_copy``), so that the benchmark measures the bot, not the limit; the report
says how many updates a second the 1,000/s maximum would allow. ``--settings-cap`` keeps it.
The per-person flood guard (5 a second, burst 20) never triggers at 8 updates a person.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import html
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults, TypeHandler

from bot.app import ALLOWED_UPDATES
from bot.sandbox.request import FakeRequest
from config.settings import Settings
from storage.database import Database
from tests.bench.common import (
    GROUP_ID,
    TOKEN,
    BenchFake,
    Meter,
    conversation,
    machine_banner,
    metered,
    peak_rss_mb,
    percentile,
    play,
    print_table,
    reset_peak_rss,
    start_livredor,
    stop_livredor,
)
from tests.support import make_settings

UPDATES_PER_ATTENDEE = 7
SETTINGS_MAX_RATE = 1000  # the settings' ceiling for messages_per_second
LIFTED = 10**6
# Bot API methods livredor's limiter counts (they carry a chat_id).
LIMITED = ("sendMessage", "editMessageReplyMarkup", "editMessageText", "deleteMessage")


# --- measurements -----------------------------------------------------------------------------


@dataclass
class Phase:
    """What one bot did in one run of one phase."""

    bot: str
    phase: str
    attendees: int
    updates: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    fake_cpu: float = 0.0
    driver_cpu: float = 0.0
    handling: list[float] = field(default_factory=list)
    response: list[float] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    peak_rss: float = 0.0
    gc_pause: float = 0.0  # longest garbage collection during the phase

    @property
    def bot_cpu(self) -> float:
        """CPU of the bot alone: all of it but the fake's and the attendees'."""
        return self.cpu - self.fake_cpu - self.driver_cpu

    @property
    def api_calls(self) -> int:
        """Bot API calls the bot made, long polling aside."""
        return sum(n for method, n in self.calls.items() if method != "getUpdates")


class Stopwatch:
    """Bot-side handling time of each update: first handler group to last."""

    def __init__(self) -> None:
        self.started: dict[int, float] = {}
        self.durations: list[float] = []

    async def begin(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stamp the update as PTB hands it to the handlers."""
        self.started[update.update_id] = time.perf_counter()

    async def end(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stamp the end of its handling."""
        began = self.started.pop(update.update_id, None)
        if began is not None:
            self.durations.append(time.perf_counter() - began)

    def install(self, app: Application) -> None:  # type: ignore[type-arg]
        """Put the two stamps around every other handler group."""
        app.add_handler(TypeHandler(Update, self.begin), group=-100)
        app.add_handler(TypeHandler(Update, self.end), group=100)


class GcWatch:
    """The longest garbage collection while in the ``with`` block."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.longest = max(self.longest, time.perf_counter() - self._started)

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


# --- the two bots -----------------------------------------------------------------------------


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """PTB's floor: one reply per update."""
    message = update.effective_message
    assert message is not None
    text = message.text if update.callback_query is None else update.callback_query.data
    await message.reply_text(html.escape(text or "?"))


def build_echo(fake: BenchFake) -> Application:  # type: ignore[type-arg]
    """The baseline: livredor's transport, defaults and concurrency, one handler."""
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .concurrent_updates(1024)
        .request(FakeRequest(fake))
        .get_updates_request(FakeRequest(fake))
        .build()
    )
    app.add_handler(TypeHandler(Update, echo))
    return app


def bench_settings(database: Path, *, lift: bool) -> Settings:
    """livredor's settings with the flood limits at their maximum (or beyond, ``lift``)."""
    settings = make_settings(
        database,
        group_messages_per_minute=SETTINGS_MAX_RATE,
        group_rate_period_seconds=1.0,
        messages_per_second=SETTINGS_MAX_RATE,
    )
    if lift:
        settings = settings.model_copy(
            update={"messages_per_second": LIFTED, "group_messages_per_minute": LIFTED}
        )
    return settings


class Bot:
    """A running bot (livredor or echo) with its own fake Telegram."""

    def __init__(self, name: str, workdir: Path, *, lift: bool) -> None:
        self.name = name
        self.database = workdir / f"{name}.db"
        self.lift = lift
        self.fake = BenchFake(group_limit=10**9, global_limit=10**9, group_window=1.0)
        self.fake.keep_requests = False  # the fake's log of calls would grow with the run
        self.stopwatch = Stopwatch()
        self.db: Database | None = None
        self.app: Application  # type: ignore[type-arg]

    @property
    def livredor(self) -> bool:
        return self.name == "livredor"

    async def start(self) -> None:
        """Build and start the bot, long polling the fake."""
        if self.livredor:
            settings = bench_settings(self.database, lift=self.lift)
            self.app, self.db = await start_livredor(
                self.fake, settings, before_start=self.stopwatch.install
            )
            return
        self.app = build_echo(self.fake)
        self.stopwatch.install(self.app)
        await self.app.initialize()
        assert self.app.updater is not None
        await self.app.updater.start_polling(
            poll_interval=0, timeout=10, allowed_updates=ALLOWED_UPDATES
        )
        await self.app.start()

    async def stop(self) -> None:
        """Stop the bot and close its database."""
        if self.db is not None:
            await stop_livredor(self.app, self.db)
        else:
            assert self.app.updater is not None
            await self.app.updater.stop()
            await self.app.stop()
            await self.app.shutdown()
        await self.fake.aclose()

    def submitted_in_database(self) -> int:
        """Count submitted testimonials, read from the file by another connection."""
        with sqlite3.connect(self.database) as conn:
            row = conn.execute("SELECT count(*) FROM testimonials WHERE status = 'pending'")
            return int(row.fetchone()[0])


# --- the simulated attendees ------------------------------------------------------------------


async def run_phase(
    bot: Bot, phase: Phase, users: range, concurrency: int, think: Callable[[], float]
) -> Phase:
    """Take ``users`` through the conversation, ``concurrency`` at a time; measure it."""
    rng = random.Random(users.start)
    scripts = {uid: conversation(uid, rng) for uid in users}
    for uid in users:
        bot.fake.add_user(uid, "Attendee", last_name=str(uid), language_code="en")
    driver = Meter()
    slots = asyncio.Semaphore(concurrency)

    async def one(uid: int) -> None:
        async with slots:
            replies = play(bot.fake, uid, scripts[uid], echo=not bot.livredor, think=think)
            phase.response += await metered(replies, driver)

    cards_before = bot.fake.sent_to.get(GROUP_ID, 0)
    calls_before = dict(bot.fake.answers)
    fake_before = bot.fake.cpu.seconds
    bot.stopwatch.durations = []
    # What earlier phases left (the fakes keep every message) is not the bot's heap: keep the
    # collector from walking it again and again (a bot would freeze after start-up as well).
    gc.collect()
    gc.freeze()
    collections = GcWatch()
    reset_peak_rss()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with collections:
        await asyncio.gather(*(one(uid) for uid in users))
        if bot.livredor:  # the organisers' cards are part of the work
            await bot.fake.until_sent(GROUP_ID, cards_before + len(users))
    phase.wall = time.perf_counter() - wall0
    phase.cpu = time.process_time() - cpu0
    phase.gc_pause = collections.longest
    phase.fake_cpu = bot.fake.cpu.seconds - fake_before
    phase.driver_cpu = driver.seconds
    phase.updates = len(users) * UPDATES_PER_ATTENDEE
    phase.handling = list(bot.stopwatch.durations)
    for (method, _status), n in bot.fake.answers.items():
        phase.calls[method] = phase.calls.get(method, 0) + n
    for (method, _status), n in calls_before.items():
        phase.calls[method] -= n
    phase.peak_rss = peak_rss_mb()
    return phase


async def bench(args: argparse.Namespace) -> list[Phase]:
    """Start both bots, warm them up, run the phases, check what livredor stored."""
    next_user = 100_000

    def users(n: int) -> range:
        nonlocal next_user
        next_user += n
        return range(next_user - n, next_user)

    with tempfile.TemporaryDirectory(prefix="livredor-bench-") as tmp:
        bots = [Bot(name, Path(tmp), lift=not args.settings_cap) for name in ("echo", "livredor")]
        for bot in bots:
            await bot.start()
        phases: list[Phase] = []
        try:
            for bot in bots:
                await run_phase(bot, Phase(bot.name, "warm-up", 100), users(100), 100, no_pause)
            for _ in range(args.rounds):
                for bot in bots:
                    phase = Phase(bot.name, "saturation", args.attendees)
                    phases.append(
                        await run_phase(
                            bot, phase, users(args.attendees), args.concurrency, no_pause
                        )
                    )
            for bot in bots:
                phase = Phase(bot.name, "paced", args.paced)
                think = pauses(args.think, seed=args.paced)
                phases.append(
                    await run_phase(bot, phase, users(args.paced), args.concurrency, think)
                )
            expected = 100 + args.rounds * args.attendees + args.paced
            for bot in bots:
                assert bot.fake.unknown_methods == [], bot.fake.unknown_methods
                errors = {k: n for k, n in bot.fake.answers.items() if k[1] != 200}
                assert not errors, f"the fake answered {bot.name} with errors: {errors}"
            stored = bots[1].submitted_in_database()
            assert stored == expected, f"{stored} testimonials stored, {expected} submitted"
        finally:
            for bot in bots:
                await bot.stop()
    return phases


def no_pause() -> float:
    """No thinking between steps (saturation)."""
    return 0.0


def pauses(mean: float, seed: int) -> Callable[[], float]:
    """Pauses between steps, exponential around ``mean`` seconds (people typing)."""
    rng = random.Random(seed)
    return lambda: rng.expovariate(1 / mean)


# --- report -----------------------------------------------------------------------------------


@dataclass
class Summary:
    """The median run of a bot in a phase, with latencies pooled over its runs."""

    bot: str
    phase: str
    runs: list[Phase]

    def median(self, value: Callable[[Phase], float]) -> float:
        return statistics.median(value(p) for p in self.runs)

    def pooled(self, values: Callable[[Phase], list[float]], p: float) -> float:
        return percentile([v for run in self.runs for v in values(run)], p) * 1000

    def per_update(self, value: Callable[[Phase], float]) -> float:
        """Median over runs of ``value`` per update, in milliseconds."""
        return self.median(lambda p: value(p) / p.updates * 1000)


def summarise(phases: list[Phase]) -> list[Summary]:
    """Group the runs by bot and phase, in order of appearance."""
    groups: dict[tuple[str, str], list[Phase]] = {}
    for p in phases:
        groups.setdefault((p.phase, p.bot), []).append(p)
    return [Summary(bot, phase, runs) for (phase, bot), runs in groups.items()]


def report(phases: list[Phase], args: argparse.Namespace) -> None:
    """Print the tables and the ratios."""
    summaries = summarise(phases)
    print_table(
        f"Throughput and latency ({args.concurrency} attendees at a time; saturation: median "
        f"of {args.rounds} runs, latencies pooled; paced: pauses ~{args.think:g} s)",
        [
            "bot",
            "phase",
            "attendees",
            "updates/s",
            "testimonials/s",
            "handling p50 ms",
            "handling p99 ms",
            "reply p50 ms",
            "reply p99 ms",
            "longest GC ms",
        ],
        [
            (
                s.bot,
                s.phase,
                s.runs[0].attendees,
                s.median(lambda p: p.updates / p.wall),
                s.median(lambda p: p.attendees / p.wall),
                s.pooled(lambda p: p.handling, 50),
                s.pooled(lambda p: p.handling, 99),
                s.pooled(lambda p: p.response, 50),
                s.pooled(lambda p: p.response, 99),
                max(p.gc_pause for p in s.runs) * 1000,
            )
            for s in summaries
        ],
    )
    print_table(
        "CPU per update, ms (process CPU, all threads; medians)",
        [
            "bot",
            "phase",
            "total",
            "fake Telegram",
            "attendees",
            "bot only",
            "Bot API calls/update",
            "bot only per call",
            "peak RSS MB",
        ],
        [
            (
                s.bot,
                s.phase,
                s.per_update(lambda p: p.cpu),
                s.per_update(lambda p: p.fake_cpu),
                s.per_update(lambda p: p.driver_cpu),
                s.per_update(lambda p: p.bot_cpu),
                s.median(lambda p: p.api_calls / p.updates),
                s.median(lambda p: p.bot_cpu / p.api_calls * 1000),
                s.median(lambda p: p.peak_rss),
            )
            for s in summaries
        ],
    )
    by = {(s.bot, s.phase): s for s in summaries}
    rows = []
    for phase in ("saturation", "paced"):
        ours, floor = by[("livredor", phase)], by[("echo", phase)]
        rows.append(
            (
                phase,
                ours.per_update(lambda p: p.cpu) / floor.per_update(lambda p: p.cpu),
                ours.per_update(lambda p: p.bot_cpu) / floor.per_update(lambda p: p.bot_cpu),
                ours.median(lambda p: p.bot_cpu / p.api_calls)
                / floor.median(lambda p: p.bot_cpu / p.api_calls),
                ours.median(lambda p: p.updates / p.wall)
                / floor.median(lambda p: p.updates / p.wall),
            )
        )
    print_table(
        "livredor / echo (target: CPU per update at most 2.0)",
        [
            "phase",
            "CPU/update, total",
            "CPU/update, bot only",
            "CPU per Bot API call",
            "throughput",
        ],
        rows,
    )
    sat = by[("livredor", "saturation")]
    limited = sat.median(lambda p: sum(p.calls.get(m, 0) for m in LIMITED) / p.updates)
    print(
        f"\nlivredor's Bot API calls per attendee: "
        f"{sat.median(lambda p: p.api_calls / p.attendees):.1f} (echo: 7); "
        f"{limited:.2f} per update go through its flood limiter."
    )
    if args.settings_cap:
        print(f"Flood limits at the settings' maximum ({SETTINGS_MAX_RATE} messages/s).")
    else:
        print(
            f"Flood limits lifted: at the settings' maximum ({SETTINGS_MAX_RATE} messages/s, "
            f"Telegram's paid-broadcast ceiling) livredor would top out at "
            f"~{SETTINGS_MAX_RATE / limited:.0f} updates/s; at the default 30/s, "
            f"~{30 / limited:.0f} updates/s ({30 / limited / UPDATES_PER_ATTENDEE * 60:.0f} "
            f"testimonials a minute)."
        )
    print(
        "Every livredor step was committed (SQLite WAL, synchronous=NORMAL) before its reply; "
        f"all {100 + args.rounds * args.attendees + args.paced} submissions were found in the "
        "file afterwards."
    )


def main() -> None:
    """Parse the options, run both bots, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attendees", type=int, default=1000, help="per saturation run")
    parser.add_argument("--concurrency", type=int, default=500, help="attendees at a time")
    parser.add_argument("--rounds", type=int, default=3, help="saturation runs per bot")
    parser.add_argument("--paced", type=int, default=500, help="attendees in the paced phase")
    parser.add_argument("--think", type=float, default=2.0, help="mean pause between steps")
    parser.add_argument(
        "--settings-cap", action="store_true", help="keep the flood limits at 1,000/s"
    )
    parser.add_argument(
        "--quick", action="store_true", help="200 attendees, 100 at a time, pauses ~0.5 s"
    )
    args = parser.parse_args()
    if args.quick:
        args.attendees, args.concurrency, args.paced, args.rounds = 200, 100, 100, 2
        args.think = 0.5
    print(machine_banner("livredor intake benchmark"))
    print(
        f"{args.rounds} x {args.attendees} attendees per bot at saturation, {args.paced} paced, "
        f"{args.concurrency} at a time, {UPDATES_PER_ATTENDEE} updates each"
    )
    report(asyncio.run(bench(args)), args)


if __name__ == "__main__":
    main()
