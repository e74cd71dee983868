"""The event-scale pipe: 300 submissions in five minutes, three organisers, Telegram's limits.

    .venv/bin/python -m tests.bench.pipe             # 300 attendees over 5 minutes, scale 10
    .venv/bin/python -m tests.bench.pipe --quick     # 100 attendees over 100 s, scale 10

The real ``livredor run`` runs as a child process against the fake Telegram on loopback HTTP.
The fake enforces every one of Telegram's flood limits with its windows ``--scale`` times
shorter (``FloodControl.scaled``: 20 messages per 60/k s into a group or channel, 1 per 1/k s
into a private chat, 30 per 1/k s in all), and the bot is given the same numbers through its
settings. Time runs k times faster for everyone: the attendees' arrival window, their
thinking between steps and the organisers' reaction time are scaled too, so every figure
is printed in scaled seconds and in real-time-equivalent minutes (× k).

Attendees: ``--attendees`` people start at random times over ``--minutes`` (real-time
equivalent) and go through the whole conversation (name, organisation, quote, Done, agree,
Send), thinking ``--think`` seconds before each step; names are unique (posts are told apart
by them), organisations and quotes are the seed livre d'or's (``../shared/seed``), so their
lengths are real (27 to 4,330 characters; the longest is pasted as two messages and posted
as two). Three organisers approve every testimonial ``--reaction`` seconds after they see it.

Modes, each on a fresh database and fake, measured in the same run:

* **group** (the baseline, today's path): each testimonial's card arrives in the organisers'
  group (``LIVREDOR_REVIEW_BACKLOG=0``: a card for every one); the organisers share the cards
  out (card k to organiser k mod 3) and press Approve.
* **review**: the production default (``LIVREDOR_REVIEW_BACKLOG=10``: past 10 waiting, no
  card, one summary in the group). Each organiser sends ``/review`` in their private chat and
  presses Approve on whatever the message shows (a long testimonial: "Read all" first, then
  Approve on its last part). When the message says "All caught up", the organiser sends
  ``/review`` again as soon as the group shows something new (a card, the summary, a
  reminder), or after ``--recheck`` seconds at the latest.

Reported per mode: the time from the first submission to the last post in the channel,
against the channel's floor (P posts at 20 a minute: P × 3 s real) and the sliding window's
exact floor, measured from the first submission ((ceil(P/20) - 1) minutes); the ratio (target
≤ 1.1); p50/p95 from a submission to its publication; the 429s the bot received by kind of
chat (0 when its limiter agrees with the fake); and the messages it sent into the group.
Telegram's ``retry_after`` is whole seconds (at least 1), which the fake keeps: a 429 costs
k times more in a scaled run than at real time, one more reason the bot should get none.

A killed benchmark (SIGTERM, SIGINT, SIGHUP) stops its ``livredor run`` child (its whole
process group) before exiting; ``CliProcess`` also gives the child a parent-death signal, so
that even ``kill -9`` of the benchmark leaves no bot behind.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.book.parse import BookEntry, parse_book
from bot.sandbox.limits import TEXT_MAX, FloodControl
from bot.sandbox.objects import UploadedFile
from bot.sandbox.server import start_server
from tests.bench.common import (
    CHANNEL_ID,
    GROUP_ID,
    ORGANISER_ID,
    BenchFake,
    attendee_name,
    button_data,
    machine_banner,
    percentile,
    print_table,
)
from tests.e2e.cli_process import CliProcess, cli_env

JSON = dict[str, Any]
SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "000_6078c713f019cbe3.txt"
ORGANISERS = (ORGANISER_ID, ORGANISER_ID + 1, ORGANISER_ID + 2)
FIRST_ATTENDEE = 600_000
GROUP_RATE = 20 / 60.0  # messages a second into a group or channel, at real time
MODES = ("group", "review")
CAUGHT_UP = "All caught up"

#: Process groups of the bots this benchmark started: killed on any way out.
CHILDREN: set[int] = set()


# --- the fake, telling each chat's watcher what the bot sent there ----------------------------


class PipeFake(BenchFake):
    """The benchmark's fake, plus a queue per watched chat receiving every message the bot
    sends there (and, where asked, edits): watchers wake only for their own chat."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inbox: dict[int, asyncio.Queue[tuple[str, JSON]]] = {}
        self.with_edits: set[int] = set()
        #: Set at every message the bot sends or edits in the group (organisers looking).
        self.group_seen: list[asyncio.Event] = []
        self.reviews_asked = 0  # /review commands the organisers sent

    def watch(self, chat_id: int, *, edits: bool = False) -> asyncio.Queue[tuple[str, JSON]]:
        """Start queueing what the bot sends into ``chat_id`` (edits too if asked)."""
        queue: asyncio.Queue[tuple[str, JSON]] = asyncio.Queue()
        self.inbox[chat_id] = queue
        if edits:
            self.with_edits.add(chat_id)
        return queue

    async def handle(
        self,
        token: str,
        method: str,
        params: Mapping[str, object],
        files: Mapping[str, UploadedFile] | None = None,
    ) -> tuple[int, JSON]:
        """Answer as the fake does; hand the bot's new or edited message to its watcher."""
        status, payload = await super().handle(token, method, params, files)
        if status == 200 and isinstance(payload.get("result"), dict):
            message = payload["result"]
            chat = message.get("chat", {}).get("id")
            if chat == GROUP_ID and method.startswith(("send", "edit")):
                for seen in self.group_seen:
                    seen.set()
            queue = self.inbox.get(chat) if isinstance(chat, int) else None
            if queue is not None and (
                method == "sendMessage" or (method.startswith("edit") and chat in self.with_edits)
            ):
                queue.put_nowait((method, message))
        return status, payload


def has_button(message: JSON, label: str) -> bool:
    """Whether the message carries a button whose text contains ``label``."""
    try:
        button_data(message, label)
    except LookupError:
        return False
    return True


# --- attendees -----------------------------------------------------------------------------------


def seed_entries() -> list[BookEntry]:
    """The seed livre d'or's entries (organisations and quotes of real lengths)."""
    if not SEED.is_file():
        raise SystemExit(f"the seed livre d'or is not at {SEED} (../shared/seed beside the clone)")
    return parse_book(SEED.read_text(encoding="utf-8")).entries


def chunks_of(quote: str) -> list[str]:
    """The messages an attendee pastes a quote as: one, or two cut at a paragraph when it
    is longer than a Telegram message."""
    if len(quote.encode("utf-16-le")) // 2 <= TEXT_MAX - 100:
        return [quote]
    paragraphs = quote.split("\n\n")
    half = len(quote) / 2
    best = min(
        range(1, len(paragraphs)), key=lambda i: abs(len("\n\n".join(paragraphs[:i])) - half)
    )
    return ["\n\n".join(paragraphs[:best]), "\n\n".join(paragraphs[best:])]


@dataclass
class Attendee:
    """One person at the event: when they start, what they type."""

    user_id: int
    start: float  # scaled seconds after the benchmark's start
    entry: BookEntry
    submitted: float | None = None  # perf_counter of the Send press


async def next_with(
    queue: asyncio.Queue[tuple[str, JSON]], label: str | None, *, sent_only: bool = False
) -> JSON:
    """The bot's next message or edit in a chat (carrying a ``label`` button, if given; a new
    message only, if ``sent_only``)."""
    while True:
        method, message = await queue.get()
        if sent_only and method != "sendMessage":
            continue
        if label is None or has_button(message, label):
            return message


async def attend(fake: PipeFake, a: Attendee, think: float, t0: float) -> None:
    """Play one attendee through the conversation, thinking ``think`` s before each step. A
    message is answered by a new message; a press by an edit of the message that carries the
    button (the choice, and the next question with its buttons)."""
    uid = a.user_id
    inbox = fake.watch(uid, edits=True)
    rng = random.Random(uid)

    async def pause() -> None:
        await asyncio.sleep(think * rng.uniform(0.5, 1.5))

    async def press(message: JSON, label: str) -> None:
        fake.user_presses(uid, uid, message["message_id"], button_data(message, label))

    await asyncio.sleep(max(0.0, t0 + a.start - time.perf_counter()))
    fake.user_sends(uid, "/start")
    await next_with(inbox, None, sent_only=True)
    await pause()
    fake.user_sends(uid, attendee_name(uid))
    await next_with(inbox, None, sent_only=True)
    await pause()
    fake.user_sends(uid, a.entry.organisation)
    await next_with(inbox, None, sent_only=True)
    await pause()
    chunks = chunks_of(a.entry.quote)
    for chunk in chunks:  # a long paste arrives as several messages at once
        fake.user_sends(uid, chunk)
    received = [await next_with(inbox, "Done", sent_only=True) for _ in chunks]
    await pause()
    await press(received[-1], "Done")
    photo = await next_with(inbox, "Skip")
    await pause()
    await press(photo, "Skip")  # no photo
    consent = await next_with(inbox, "Yes, I agree")
    await pause()
    await press(consent, "Yes, I agree")
    preview = await next_with(inbox, "Send")
    await pause()
    a.submitted = time.perf_counter()
    await press(preview, "Send")
    await next_with(inbox, None)  # the thanks (an edit, or a new message)
    del fake.inbox[uid]


# --- organisers ----------------------------------------------------------------------------------


async def organisers_in_group(fake: PipeFake, reaction: float) -> None:
    """Three organisers watch the group; card k is organiser k mod 3's: they press Approve
    ``reaction`` seconds after it appears (the buttons are on a card's last part)."""
    inbox = fake.watch(GROUP_ID)
    rng = random.Random(3)
    seen = 0
    pressing: set[asyncio.Task[None]] = set()

    async def approve(card: JSON, organiser: int) -> None:
        await asyncio.sleep(reaction * rng.uniform(0.5, 1.5))
        data = button_data(card, "Approve")
        fake.user_presses(organiser, GROUP_ID, card["message_id"], data)

    while True:
        card = await next_with(inbox, "Approve")
        task = asyncio.create_task(approve(card, ORGANISERS[seen % len(ORGANISERS)]))
        pressing.add(task)
        task.add_done_callback(pressing.discard)
        seen += 1


async def organiser_reviewing(
    fake: PipeFake, organiser: int, reaction: float, recheck: float
) -> None:
    """One organiser in their private chat: /review, then a tap on whatever it shows as soon
    as it shows it; when all is caught up, /review again once the group shows something new
    (or after ``recheck`` seconds)."""
    inbox = fake.watch(organiser, edits=True)
    seen = asyncio.Event()
    fake.group_seen.append(seen)
    rng = random.Random(organiser)

    async def react() -> None:
        await asyncio.sleep(reaction * rng.uniform(0.5, 1.5))

    seen.clear()
    fake.reviews_asked += 1
    fake.user_sends(organiser, "/review")
    while True:
        _, message = await inbox.get()
        if has_button(message, "Read all"):  # a long one: read it all before deciding
            await react()
            data = button_data(message, "Read all")
            fake.user_presses(organiser, organiser, message["message_id"], data)
        elif has_button(message, "Approve"):
            await react()
            data = button_data(message, "Approve")
            fake.user_presses(organiser, organiser, message["message_id"], data)
        elif CAUGHT_UP in message.get("text", ""):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(seen.wait(), recheck)
            await react()
            seen.clear()
            fake.reviews_asked += 1
            fake.user_sends(organiser, "/review")


# --- one run --------------------------------------------------------------------------------------


@dataclass
class Run:
    """One mode's figures (seconds are scaled: multiply by the scale for real time)."""

    mode: str
    testimonials: int = 0
    posts: int = 0
    first_submission: float = 0.0
    last_submission: float = 0.0
    last_post: float = 0.0
    latencies: list[float] = field(default_factory=list)
    too_many: Counter[str] = field(default_factory=Counter)
    group_calls: Counter[str] = field(default_factory=Counter)
    organiser_chats: int = 0  # messages sent or edited in the organisers' private chats
    reviews_asked: int = 0
    complete: bool = True
    exactly_once: bool = True
    bot_cpu: float = 0.0


def chat_kind(chat_id: object) -> str:
    """group, channel or private, for a Bot API ``chat_id``."""
    if str(chat_id) == str(GROUP_ID):
        return "group"
    if str(chat_id) == str(CHANNEL_ID):
        return "channel"
    return "private" if not str(chat_id).startswith("-") else "other"


def bot_settings(mode: str, scale: float) -> dict[str, str]:
    """The bot's flood settings, the fake's ``FloodControl.scaled(scale)`` numbers; in the
    group mode, a card for every testimonial (today's path)."""
    review = {"review_backlog": "0"} if mode == "group" else {}
    return review | {
        "group_messages_per_minute": "20",
        "group_rate_period_seconds": repr(60.0 / scale),
        "messages_per_second": "30",
        "global_rate_period_seconds": repr(1.0 / scale),
        "private_messages_per_second": "1",
        "private_rate_period_seconds": repr(1.0 / scale),
        "log_level": "WARNING",
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_mode(mode: str, workdir: Path, args: argparse.Namespace) -> Run:
    """Start the bot, let the attendees come and the organisers decide, measure, stop."""
    scale: float = args.scale
    fake = PipeFake(flood=FloodControl.scaled(scale))
    for organiser in ORGANISERS[1:]:
        fake.add_user(organiser, "Organiser", last_name=str(organiser))
        fake.set_member(GROUP_ID, organiser, "administrator")
    rng = random.Random(args.attendees)
    entries = seed_entries()
    window = args.minutes * 60 / scale
    think = args.think / scale
    # Starts spread over the window, leaving room for the conversation (7 pauses), so that
    # the submissions fall inside it.
    room = max(0.0, window - 7 * think)
    attendees = [
        Attendee(FIRST_ATTENDEE + i, rng.uniform(0, room), rng.choice(entries))
        for i in range(args.attendees)
    ]
    for a in attendees:
        fake.add_user(a.user_id, "Attendee", last_name=str(a.user_id))
    server = await start_server(fake)
    process = CliProcess(workdir, "bot")
    result = Run(mode, testimonials=len(attendees))
    tasks: list[asyncio.Future[Any]] = []
    try:
        env = cli_env(server, workdir / "livredor.db", **bot_settings(mode, scale))
        await process.start("run", env=env)  # it dies with us (CliProcess: parent-death signal)
        CHILDREN.add(process.pid)
        # Asked, not answered: the first long poll is held until an update comes.
        await fake.wait_for(lambda: fake.calls("getUpdates"), 60, what="polling")
        fake.requests.clear()
        cpu0 = cpu_seconds(process.pid)
        t0 = time.perf_counter()
        if mode == "group":
            tasks.append(asyncio.create_task(organisers_in_group(fake, args.reaction / scale)))
        else:
            for organiser in ORGANISERS:
                reviewing = organiser_reviewing(
                    fake, organiser, args.reaction / scale, args.recheck / scale
                )
                tasks.append(asyncio.create_task(reviewing))
        people = asyncio.gather(*(attend(fake, a, think, t0) for a in attendees))
        tasks.append(people)
        names = {attendee_name(a.user_id) for a in attendees}
        posts_expected = sum(2 if len(chunks_of(a.entry.quote)) > 1 else 1 for a in attendees)
        # Bounded: twice the group's old pace (10 a minute) and the window, at the least.
        limit = window + 2 * 6 * len(attendees) / scale + 60
        try:
            await asyncio.wait_for(people, limit)
            await asyncio.wait_for(fake.until_sent(CHANNEL_ID, posts_expected), limit)
        except TimeoutError:
            result.complete = False
        result.bot_cpu = cpu_seconds(process.pid) - cpu0
        submitted = [a.submitted for a in attendees if a.submitted is not None]
        result.first_submission = min(submitted) - t0
        result.last_submission = max(submitted) - t0
        posts = fake.messages(CHANNEL_ID)
        times = fake.sent_times.get(CHANNEL_ID, [])
        result.posts = len(posts)
        result.last_post = (times[-1] - t0) if times else math.nan
        # Each testimonial's first post (its name line) against its submission.
        published: dict[str, float] = {}
        for post, at in zip(posts, times, strict=False):
            name = post["text"].split("\n", 1)[0]
            if name in names:
                published.setdefault(name, at)
        starts = [post["text"].split("\n", 1)[0] for post in posts]
        result.exactly_once = sorted(n for n in starts if n in names) == sorted(names)
        for a in attendees:
            post_at = published.get(attendee_name(a.user_id))
            if post_at is not None and a.submitted is not None:
                result.latencies.append(post_at - a.submitted)
        for r in fake.requests:
            chat = r.params.get("chat_id")
            if r.status == 429:
                result.too_many[chat_kind(chat)] += 1
            if r.ok and str(chat) == str(GROUP_ID) and r.method.startswith(("send", "edit")):
                result.group_calls[r.method] += 1
            if r.ok and str(chat) in {str(o) for o in ORGANISERS}:
                result.organiser_chats += r.method.startswith(("send", "edit"))
        result.reviews_asked = fake.reviews_asked
        process.signal(signal.SIGTERM)
        await process.wait(30)
    finally:
        await process.kill()  # first: whatever happens next, no bot is left behind
        CHILDREN.discard(process.pid)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.close()
        await fake.aclose()
    assert fake.unknown_methods == [], fake.unknown_methods
    return result


# --- report --------------------------------------------------------------------------------------


def report(runs: list[Run], scale: float) -> None:
    """Print the table: scaled seconds and real-time minutes, the ratios to the floor."""

    def real_min(seconds: float) -> float:
        return seconds * scale / 60

    rows = []
    for r in runs:
        span = r.last_post - r.first_submission
        floor = r.posts / GROUP_RATE / scale  # P posts at 20 a minute
        exact = (math.ceil(r.posts / 20) - 1) * 60 / scale  # a sliding window's first 20 at once
        lat = [x * scale / 60 for x in r.latencies]
        rows.append(
            (
                r.mode,
                f"{r.posts}/{r.testimonials}" + ("" if r.complete else " (TIMED OUT)"),
                real_min(r.last_submission - r.first_submission),
                span,
                real_min(span),
                real_min(floor),
                span / floor if floor else math.nan,
                span / exact if exact else math.nan,
                percentile(lat, 50),
                percentile(lat, 95),
                ", ".join(f"{k} {n}" for k, n in sorted(r.too_many.items())) or "0",
                sum(r.group_calls.values()),
                ", ".join(f"{n} {k}" for k, n in sorted(r.group_calls.items())),
                f"{r.organiser_chats} ({r.reviews_asked} /review)",
                "yes" if r.exactly_once else "NO",
                100 * r.bot_cpu / span if span else math.nan,
            )
        )
    print_table(
        "First submission to last channel post, against the channel's floor "
        "(target: ≤ 1.10 × P posts at 20 a minute)",
        [
            "mode",
            "posts/testimonials",
            "submissions over min",
            "first submission → last post s (scaled)",
            "min (real)",
            "floor min (real)",
            "/ floor",
            "/ exact floor",
            "submission → post p50 min",
            "p95 min",
            "429s the bot got",
            "group messages",
            "of which",
            "organisers' private chats",
            "each posted once",
            "bot CPU %",
        ],
        rows,
    )
    if len(runs) > 1:
        base = runs[0]
        base_span = base.last_post - base.first_submission
        for r in runs[1:]:
            span = r.last_post - r.first_submission
            print(f"\n{r.mode} / {base.mode}: {span / base_span:.2f} of the time to the last post")


# --- main ----------------------------------------------------------------------------------------


def kill_children() -> None:
    """Kill every bot process group still running (a benchmark interrupted mid-run)."""
    for pid in list(CHILDREN):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    CHILDREN.clear()


async def bench(args: argparse.Namespace) -> list[Run]:
    """Run every mode in turn; a signal cancels the run (and so stops the bot)."""
    loop = asyncio.get_running_loop()
    me = asyncio.current_task()
    assert me is not None
    for signum in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, me.cancel)
    runs = []
    with tempfile.TemporaryDirectory(prefix="livredor-pipe-") as tmp:
        for mode in args.modes:
            workdir = Path(tmp) / mode
            workdir.mkdir()
            runs.append(await run_mode(mode, workdir, args))
    return runs


def main() -> None:
    """Parse the options, run the modes, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attendees", type=int, default=300)
    parser.add_argument("--minutes", type=float, default=5.0, help="arrival window, real time")
    parser.add_argument("--scale", type=float, default=10.0, help="time runs this much faster")
    parser.add_argument("--think", type=float, default=4.0, help="real s before each step")
    parser.add_argument("--reaction", type=float, default=2.0, help="organisers' real s")
    parser.add_argument(
        "--recheck", type=float, default=30.0, help="real s before /review again, at most"
    )
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--quick", action="store_true", help="100 attendees over 100 s")
    args = parser.parse_args()
    if args.quick:
        args.attendees, args.minutes = 100, 100 / 60
    print(machine_banner("livredor event-scale pipe benchmark"))
    print(f"load      {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")
    print(
        f"{args.attendees} attendees over {args.minutes:g} min (real time), "
        f"{len(ORGANISERS)} organisers; Telegram's limits {args.scale:g} times faster "
        f"(20 per {60 / args.scale:g} s per group or channel, 1 per {1 / args.scale:g} s per "
        f"private chat, 30 per {1 / args.scale:g} s in all), on the fake and in the bot"
    )
    try:
        runs = asyncio.run(bench(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\ninterrupted", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        kill_children()
    report(runs, args.scale)


if __name__ == "__main__":
    main()
