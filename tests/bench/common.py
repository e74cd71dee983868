"""What every benchmark shares: the machine banner, tables, percentiles, CPU meters, RSS.

Benchmarks run by hand (``python -m tests.bench.<name>``); pytest never collects this folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aiosqlite
import telegram
from telegram.ext import Application

from bot.app import ALLOWED_UPDATES, build_application, start_workers, stop_workers
from bot.sandbox.fake import FakeTelegram
from bot.sandbox.objects import UploadedFile
from bot.sandbox.request import FakeRequest
from config.settings import Settings
from storage.database import Database
from storage.testimonials import Repository
from tests.support import CHANNEL_ID, CHANNEL_USERNAME, GROUP_ID, ORGANISER_ID, TOKEN

T = TypeVar("T")
JSON = dict[str, Any]

__all__ = [
    "CHANNEL_ID",
    "GROUP_ID",
    "ORGANISER_ID",
    "TOKEN",
    "BenchFake",
    "Meter",
    "Step",
    "attendee_name",
    "button_data",
    "conversation",
    "machine_banner",
    "metered",
    "peak_rss_mb",
    "percentile",
    "play",
    "print_table",
    "quote_for",
    "reset_peak_rss",
    "rss_mb",
    "start_livredor",
    "stop_livredor",
]


# --- the machine ---------------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo", encoding="utf-8"):  # noqa: SIM115
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine_banner(title: str) -> str:
    """Return a header naming the benchmark, the machine and the versions it ran with."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"== {title} ==",
        f"date      {now}",
        f"machine   {_cpu_model()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}",
        f"versions  Python {platform.python_version()}, python-telegram-bot "
        f"{telegram.__version__}, SQLite {sqlite3.sqlite_version}, aiosqlite "
        f"{getattr(aiosqlite, '__version__', '?')}",
    ]
    return "\n".join(lines)


# --- printing ------------------------------------------------------------------------------


def print_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Print a Markdown table (readable in a terminal, pasteable in an issue)."""
    cells = [[str(h) for h in headers], *[[_fmt(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    print(f"\n{title}\n")
    for n, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def _fmt(value: object) -> str:
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def percentile(values: Sequence[float], p: float) -> float:
    """Return the ``p``-th percentile (nearest rank) of ``values``; 0 if empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


# --- memory --------------------------------------------------------------------------------


def _status_kb(field: str, pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def rss_mb(pid: int | str = "self") -> float:
    """Return the resident set size (VmRSS) of a process, in MB."""
    return _status_kb("VmRSS", pid) / 1024


def peak_rss_mb(pid: int | str = "self") -> float:
    """Return the peak RSS (VmHWM) since start or the last ``reset_peak_rss``, in MB."""
    return _status_kb("VmHWM", pid) / 1024


def reset_peak_rss() -> None:
    """Reset this process's VmHWM to its current RSS (Linux ``clear_refs``)."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as f:
        f.write("5")


# --- CPU of one part of the process --------------------------------------------------------


class Meter:
    """Accumulated main-thread CPU seconds of the code run under ``metered``."""

    def __init__(self) -> None:
        self.seconds = 0.0


class _Metered:
    """Drive a coroutine step by step, charging the CPU of each step (not the time it
    spends suspended) to a meter. ``thread_time``: aiosqlite's thread is not charged."""

    def __init__(self, coro: Coroutine[Any, Any, T], meter: Meter) -> None:
        self.coro = coro
        self.meter = meter

    def __await__(self) -> Generator[Any, Any, Any]:
        gen = self.coro.__await__()
        send: Any = None
        error: BaseException | None = None
        while True:
            started = time.thread_time()
            try:
                yielded = gen.send(send) if error is None else gen.throw(error)
            except StopIteration as stop:
                self.meter.seconds += time.thread_time() - started
                return stop.value
            except BaseException:
                self.meter.seconds += time.thread_time() - started
                raise
            self.meter.seconds += time.thread_time() - started
            try:
                send, error = (yield yielded), None
            except BaseException as exc:  # cancellation and the like: pass it in
                send, error = None, exc


def metered(coro: Coroutine[Any, Any, T], meter: Meter) -> Awaitable[T]:
    """Return an awaitable running ``coro`` with its CPU charged to ``meter``."""
    return _Metered(coro, meter)


# --- the fake Telegram, metered and with cheap per-chat waits --------------------------------


class _Expectation:
    def __init__(self, count: int) -> None:
        self.left = count
        self.last: JSON | None = None
        self.future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()


class BenchFake(FakeTelegram):
    """The strict fake, unchanged, plus: the CPU it spends answering the bot (``cpu``), a
    count of answers by method and status, and ``expect(chat, n)``, a future resolved by the
    bot's n-th next message (or text edit) in a chat (``wait_for`` would wake every waiter
    at every call)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("token", TOKEN)
        super().__init__(**kwargs)
        self.cpu = Meter()
        self.answers: dict[tuple[str, int], int] = {}
        self.sent_to: dict[int, int] = {}
        self.sent_times: dict[int, list[float]] = {}
        self._expected: dict[int, _Expectation] = {}
        self._totals: dict[int, list[tuple[int, asyncio.Future[None]]]] = {}
        self.keep_requests = True
        self.add_user(ORGANISER_ID, "Olga", last_name="Organiser", username="olga")
        self.add_group(GROUP_ID, "Organisers", admins=[ORGANISER_ID])
        self.add_channel(CHANNEL_ID, "Livre d'or", username=CHANNEL_USERNAME)

    async def handle(
        self,
        token: str,
        method: str,
        params: Mapping[str, object],
        files: Mapping[str, UploadedFile] | None = None,
    ) -> tuple[int, JSON]:
        """Answer as the fake does; count and dispatch the answer."""
        status, payload = await metered(super().handle(token, method, params, files), self.cpu)
        key = (method, status)
        self.answers[key] = self.answers.get(key, 0) + 1
        if not self.keep_requests:
            self.requests.clear()
        answer = method in ("sendMessage", "sendDocument", "editMessageText")
        if status == 200 and answer and isinstance(payload["result"], dict):
            message = payload["result"]
            chat_id = int(message["chat"]["id"])
            if method != "editMessageText":
                self.sent_to[chat_id] = self.sent_to.get(chat_id, 0) + 1
                self.sent_times.setdefault(chat_id, []).append(time.perf_counter())
                for total, done in self._totals.get(chat_id, []):
                    if self.sent_to[chat_id] >= total and not done.done():
                        done.set_result(None)
            # A press is answered by editing the message that carries its button.
            waiting = self._expected.get(chat_id)
            if waiting is not None:
                waiting.left -= 1
                waiting.last = message
                if waiting.left <= 0:
                    del self._expected[chat_id]
                    if not waiting.future.done():
                        waiting.future.set_result(message)
        return status, payload

    def expect(self, chat_id: int, count: int = 1) -> asyncio.Future[JSON]:
        """A future for the bot's ``count``-th next message or text edit in ``chat_id`` (the
        message's JSON)."""
        expectation = _Expectation(count)
        self._expected[chat_id] = expectation
        return expectation.future

    async def until_sent(self, chat_id: int, total: int) -> None:
        """Wait until the bot has sent ``total`` messages into ``chat_id`` since the start."""
        if self.sent_to.get(chat_id, 0) >= total:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._totals.setdefault(chat_id, []).append((total, done))
        try:
            await done
        finally:
            self._totals[chat_id].remove((total, done))

    def count(self, method: str, status: int | None = None) -> int:
        """How many calls of ``method`` (with that status, or any) the fake answered."""
        return sum(n for (m, s), n in self.answers.items() if m == method and status in (None, s))


def button_data(message: JSON, label: str) -> str:
    """Return the callback data of the button whose text contains ``label``."""
    markup = message.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if label in button["text"] and "callback_data" in button:
                return str(button["callback_data"])
    raise LookupError(f"no {label!r} button in {json.dumps(markup)[:200]}")


# --- attendees ---------------------------------------------------------------------------------

_TEXT = (
    "une journée formidable merci aux organisateurs pour ces échanges riches et la qualité "
    "des interventions nous repartons avec des idées plein la tête « bravo » à toute "
    "l'équipe & rendez-vous l'an prochain 😊 the talks were inspiring and the people kind"
)
WORDS = _TEXT.split()


@dataclass(frozen=True)
class Step:
    """One update: a message (``text``) or a button press (``label``), and how many
    messages or edits livredor answers it with (the attendee waits for the last one; a press
    is answered by one edit of the message that carries its button)."""

    text: str | None = None
    label: str | None = None
    replies: int = 1


def quote_for(rng: random.Random, longest: int = 2500) -> str:
    """A testimonial of realistic length: mostly a few sentences, sometimes a page (the
    seed book runs from five words to 4,330 characters; median here ~330)."""
    length = min(int(rng.lognormvariate(5.8, 0.8)), longest)
    words: list[str] = []
    size = 0
    while size < length:
        words.append(rng.choice(WORDS))
        size += len(words[-1]) + 1
    return " ".join(words).capitalize() + "."


def attendee_name(user_id: int) -> str:
    """The name attendee ``user_id`` signs with (unique: posts are told apart by it)."""
    return f"Attendee {user_id} LASTNAME"


def conversation(user_id: int, rng: random.Random) -> list[Step]:
    """The 8 updates of one attendee: /start, name, organisation, quote, Done, Skip (no
    photo), agree, Send."""
    return [
        Step(text="/start"),
        Step(text=attendee_name(user_id)),
        Step(text="Research engineer\nUniversité de Lille"),
        Step(text=quote_for(rng)),
        Step(label="Done"),
        Step(label="Skip"),  # no photo
        Step(label="Yes, I agree"),  # the preview: intro, the post as it will look, buttons
        Step(label="Send"),
    ]


async def play(
    fake: BenchFake,
    user_id: int,
    steps: list[Step],
    *,
    echo: bool = False,
    think: Callable[[], float] | None = None,
) -> list[float]:
    """Play one attendee: each update, then wait for the bot's (last) answer to it; return
    the time each answer took. ``echo``: the bot answers everything with one message and
    has no buttons (a press is forged on its last message)."""
    last: JSON | None = None
    times = []
    for step in steps:
        pause = think() if think is not None else 0.0
        if pause:
            await asyncio.sleep(pause)
        answered = fake.expect(user_id, 1 if echo else step.replies)
        sent = time.perf_counter()
        if step.text is not None:
            fake.user_sends(user_id, step.text)
        else:
            assert last is not None and step.label is not None
            if echo:
                data = f"in:{step.label.lower()}:{user_id}"[:64]
                fake.user_presses(user_id, user_id, last["message_id"], data, forge=True)
            else:
                data = button_data(last, step.label)
                fake.user_presses(user_id, user_id, last["message_id"], data)
        last = await answered
        times.append(time.perf_counter() - sent)
    return times


# --- livredor in process -----------------------------------------------------------------------


async def start_livredor(
    fake: FakeTelegram,
    settings: Settings,
    *,
    before_start: Callable[[Application], None] | None = None,  # type: ignore[type-arg]
) -> tuple[Application, Database]:  # type: ignore[type-arg]
    """Open the database and start the real bot long polling ``fake`` (as tests.support)."""
    db = await Database.open(settings.database)
    app = build_application(
        settings, Repository(db), request=FakeRequest(fake), updates_request=FakeRequest(fake)
    )
    if before_start is not None:
        before_start(app)
    await app.initialize()
    await start_workers(app)
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=10, allowed_updates=ALLOWED_UPDATES)
    await app.start()
    return app, db


async def stop_livredor(app: Application, db: Database) -> None:  # type: ignore[type-arg]
    """Stop the bot and close its database."""
    assert app.updater is not None
    await app.updater.stop()
    await app.stop()
    await stop_workers(app)
    await app.shutdown()
    await db.close()
