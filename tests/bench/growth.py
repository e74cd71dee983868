"""Growth benchmark: the real ``livredor run`` with 1,000 then 100,000 testimonials stored.

    .venv/bin/python -m tests.bench.growth            # 1,000 and 100,000 rows; export 10,000
    .venv/bin/python -m tests.bench.growth --quick    # 1,000 and 20,000 rows; export 2,000

For each size, a database is seeded straight through SQL (a realistic mix: mostly
published, some rejected, withdrawn and open drafts, and ``--pending`` waiting for review;
quotes of realistic lengths), then the real CLI (``python -m bot run``) is started as a child
process against the fake Telegram served on loopback HTTP (``LIVREDOR_API_BASE_URL``).

Measured, per size:

* start-up: from the process start to "receiving updates" in its log;
* RSS: ``VmRSS`` of the child (``/proc/PID/status``) after a warm-up (/stats and /pending
  once each); the smaller database is the baseline;
* ``/stats`` and ``/pending`` typed by the organiser in the group: time until the bot's
  first answer in the fake, and for /pending until its last card (it sends every waiting
  card again, oldest first, deleting the old one: 2 Bot API calls per card);
* ``/export`` (Markdown, as a file in the group), informative: its time, the file's size,
  how long an attendee's /start sent meanwhile waits, and the RSS afterwards.

Then ``livredor export --format html`` of a book of ``--export`` entries, as a child process,
against the same command on an empty book (interpreter and imports: the baseline).

Flood limits are set out of the way (1,000 a second, on both sides): this measures the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.sandbox.server import start_server
from storage.database import Database
from tests.bench.common import (
    GROUP_ID,
    ORGANISER_ID,
    BenchFake,
    machine_banner,
    peak_rss_mb,
    print_table,
    quote_for,
    rss_mb,
)
from tests.e2e.cli_process import CliProcess, cli_env, run_cli

FAST = "1000"
Mix = tuple[tuple[str, float], ...]
# Share of each status among the rows that are not pending (the pending count is fixed).
MIX: Mix = (("published", 0.86), ("rejected", 0.08), ("withdrawn", 0.03), ("draft", 0.03))
BOOK: Mix = (("published", 1.0),)


# --- seeding -----------------------------------------------------------------------------------


def _statuses(total: int, pending: int, mix: Mix) -> list[str]:
    """The status of each row, oldest first: the mix, then the pending ones."""
    decided = total - pending
    counts = {status: round(share * decided) for status, share in mix}
    counts["published"] = decided - sum(n for s, n in counts.items() if s != "published")
    statuses = [s for s, n in counts.items() for _ in range(n)]
    random.Random(total).shuffle(statuses)
    return statuses + ["pending"] * pending


def _rows(total: int, pending: int, mix: Mix, rng: random.Random) -> list[tuple[object, ...]]:
    quotes = [quote_for(rng, longest=4330) for _ in range(2000)]
    start = datetime(2026, 6, 1, 9, tzinfo=UTC)
    statuses = _statuses(total, pending, mix)
    rows: list[tuple[object, ...]] = []
    seq = 0
    for i, status in enumerate(statuses, start=1):
        at = (start + timedelta(seconds=7 * i)).isoformat(timespec="microseconds")
        published = status == "published"
        if published:
            seq += 1
        rows.append(
            (
                i,  # id
                10_000_000 + i,  # user_id
                status,
                "name" if status == "draft" else None,  # step
                rng.choice(("fr", "en")),
                f"Attendee {i} LASTNAME",
                rng.choice(("", "Research engineer\nUniversité de Lille", "CNRS")),
                rng.choice(quotes),
                at,
                at,
                at if status != "draft" else None,  # submitted_at
                at if status in ("published", "rejected") else None,  # decided_at
                seq if published else None,
                json.dumps([100_000 + seq]) if published else "[]",
            )
        )
    return rows


async def seed(path: Path, total: int, pending: int, mix: Mix = MIX) -> None:
    """Create a database at ``path`` (the bot's own migrations) holding ``total`` rows."""
    db = await Database.open(path)
    await db.close()
    rows = _rows(total, pending, mix, random.Random(total))
    now = datetime(2026, 6, 1, tzinfo=UTC).isoformat()
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO users (user_id, first_name, created_at, updated_at) VALUES (?, ?, ?, ?)",
            [(row[1], f"First{row[0]}", now, now) for row in rows],
        )
        conn.executemany(
            "INSERT INTO testimonials (id, user_id, status, step, language, name, organisation,"
            " quote, created_at, updated_at, submitted_at, decided_at, approved_seq,"
            " channel_message_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (count,) = conn.execute("SELECT count(*) FROM testimonials").fetchone()
    assert count == total, (count, total)


# --- one running bot ---------------------------------------------------------------------------


@dataclass
class Size:
    """Figures for one database size."""

    rows: int
    file_mb: float
    startup: float = 0.0
    rss: float = 0.0
    stats: list[float] = field(default_factory=list)
    pending_first: list[float] = field(default_factory=list)
    pending_last: list[float] = field(default_factory=list)
    export: float = 0.0
    export_mb: float = 0.0
    blocked: float = 0.0
    rss_after_export: float = 0.0
    peak_rss: float = 0.0


async def command(fake: BenchFake, text: str, answers: int = 1) -> tuple[float, float]:
    """The organiser types ``text`` in the group; return the time to the bot's first and to
    its ``answers``-th message there."""
    before = fake.sent_to.get(GROUP_ID, 0)
    sent = time.perf_counter()
    fake.user_sends(ORGANISER_ID, text, chat_id=GROUP_ID)
    await asyncio.wait_for(fake.until_sent(GROUP_ID, before + answers), 120)
    times = fake.sent_times[GROUP_ID]
    return times[before] - sent, times[before + answers - 1] - sent


async def measure(workdir: Path, rows: int, pending: int, repeats: int) -> Size:
    """Seed, start ``livredor run``, warm it up, measure, stop it."""
    database = workdir / f"growth-{rows}.db"
    await seed(database, rows, pending)
    size = Size(rows, database.stat().st_size / 2**20)
    fake = BenchFake(group_limit=10**6, global_limit=10**6)
    server = await start_server(fake)
    env = cli_env(
        server,
        database,
        group_messages_per_minute=FAST,
        group_rate_period_seconds="1",
        messages_per_second=FAST,
    )
    process = CliProcess(workdir, f"bot-{rows}")
    try:
        await process.start("run", env=env)
        await process.wait_log("receiving updates", timeout=120)
        size.startup = time.monotonic() - process.started
        await fake.until_sent(GROUP_ID, pending)  # the cards of the waiting testimonials
        await command(fake, "/stats")
        await command(fake, "/pending", pending + 1)
        await asyncio.sleep(0.5)
        size.rss = rss_mb(process.pid)
        for _ in range(repeats):
            size.stats.append((await command(fake, "/stats"))[0])
        for _ in range(max(2, repeats // 4)):
            first, last = await command(fake, "/pending", pending + 1)
            size.pending_first.append(first)
            size.pending_last.append(last)
        docs = fake.count("sendDocument")
        attendee = 900_000 + rows
        fake.add_user(attendee, "Ada")
        sent = time.perf_counter()
        fake.user_sends(ORGANISER_ID, "/export", chat_id=GROUP_ID)
        # Someone else writes to the bot meanwhile: how long do they wait?
        await asyncio.sleep(0.05)
        greeted = fake.expect(attendee)
        hello = time.perf_counter()
        fake.user_sends(attendee, "/start")
        await asyncio.wait_for(greeted, 300)
        size.blocked = time.perf_counter() - hello
        await fake.wait_for(lambda: fake.count("sendDocument") > docs, 300, what="the book")
        size.export = time.perf_counter() - sent
        [upload] = [r for r in fake.calls("sendDocument") if r.ok][-1:]
        size.export_mb = sum(len(f.content) for f in upload.files.values()) / 2**20
        size.rss_after_export = rss_mb(process.pid)
        size.peak_rss = peak_rss_mb(process.pid)
        process.signal(signal.SIGTERM)
        await process.wait(30)
    finally:
        await process.kill()
        await server.close()
        await fake.aclose()
    return size


# --- the CLI export ----------------------------------------------------------------------------


async def cli_export(workdir: Path, entries: int, rounds: int = 3) -> tuple[float, float, float]:
    """Time ``livredor export --format html`` of ``entries`` (median of ``rounds``), and of an
    empty book; return (seconds, empty-book seconds, output MB)."""
    book = workdir / f"book-{entries}.db"
    await seed(book, entries, pending=0, mix=BOOK)
    empty = workdir / "empty.db"
    await seed(empty, 0, pending=0)
    times: dict[Path, list[float]] = {book: [], empty: []}
    output = workdir / "book.html"
    for _ in range(rounds):
        for database in (empty, book):
            env = cli_env(None, database, log_level="WARNING")
            started = time.perf_counter()
            # --force: each round replaces the last round's book (export refuses without it).
            code, _, err = await run_cli(
                workdir,
                *("export", "--format", "html", "-o", str(output), "--force"),
                env=env,
                timeout=120,
            )
            times[database].append(time.perf_counter() - started)
            assert code == 0, err
    return (
        statistics.median(times[book]),
        statistics.median(times[empty]),
        output.stat().st_size / 2**20,
    )


# --- report ------------------------------------------------------------------------------------


def main() -> None:
    """Parse the options, run, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--pending", type=int, default=30, help="waiting for review")
    parser.add_argument("--export", type=int, default=10_000, help="entries in the HTML book")
    parser.add_argument("--repeats", type=int, default=20, help="/stats per size")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, export 2,000")
    args = parser.parse_args()
    if args.quick:
        args.large, args.export, args.repeats = 20_000, 2_000, 8
    print(machine_banner("livredor growth benchmark"))
    print(
        f"databases of {args.small:,} and {args.large:,} testimonials, {args.pending} of them "
        f"pending; the real `livredor run` against the loopback fake"
    )

    async def run() -> tuple[list[Size], tuple[float, float, float]]:
        with tempfile.TemporaryDirectory(prefix="livredor-bench-") as tmp:
            sizes = [
                await measure(Path(tmp), rows, args.pending, args.repeats)
                for rows in (args.small, args.large)
            ]
            return sizes, await cli_export(Path(tmp), args.export)

    sizes, (export, empty, html_mb) = asyncio.run(run())
    ms = 1000.0
    print_table(
        "The running bot (targets: RSS grows < 20 MB, each command answers < 100 ms)",
        [
            "testimonials",
            "file MB",
            "start-up s",
            "RSS MB",
            "/stats p50 ms",
            "/stats max ms",
            "/pending 1st ms",
            f"/pending all {args.pending} cards ms",
            "/export md s",
            "book MB",
            "/start meanwhile ms",
            "RSS after /export MB",
            "peak RSS MB",
        ],
        [
            (
                s.rows,
                s.file_mb,
                s.startup,
                s.rss,
                statistics.median(s.stats) * ms,
                max(s.stats) * ms,
                statistics.median(s.pending_first) * ms,
                statistics.median(s.pending_last) * ms,
                s.export,
                s.export_mb,
                s.blocked * ms,
                s.rss_after_export,
                s.peak_rss,
            )
            for s in sizes
        ],
    )
    small, large = sizes
    print(f"\nRSS growth {small.rows:,} -> {large.rows:,}: {large.rss - small.rss:+.1f} MB")
    print_table(
        "livredor export --format html (target: < 3 s for 10,000 entries)",
        ["entries", "seconds", "empty book (start-up) s", "export itself s", "output MB"],
        [(args.export, export, empty, export - empty, html_mb)],
    )


if __name__ == "__main__":
    main()
