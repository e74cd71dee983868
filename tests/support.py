"""Test harness: the real bot (real PTB, real SQLite) against the in-process fake Telegram.

Updates travel the real way: the fake queues them, PTB long-polls ``getUpdates`` through a
``FakeRequest``, handlers run, replies go back through the fake's strict checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import inspect
import itertools
import os
import selectors
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import storage.database
from bot.app import ALLOWED_UPDATES, build_application, start_workers, stop_workers
from bot.sandbox.fake import FakeTelegram
from bot.sandbox.request import FakeRequest
from bot.services.clock import Clock
from bot.services.container import App, Services
from bot.services.inbox import RawUpdates
from config.settings import Settings
from storage.database import Database
from storage.migrations import MIGRATIONS
from storage.testimonials import Repository

GROUP_ID = -1001000000001
CHANNEL_ID = -1001000000002
CHANNEL_USERNAME = "livredor_demo"
ORGANISER_ID = 500
TOKEN = "123456:TEST-TOKEN"
#: The global limit (messages a second) of the tests' bot and fake, except in tests about it:
#: at Telegram's 30 a second, half the suite's time was spent waiting on it.
FAST = 1000

JSON = dict[str, Any]
_T = TypeVar("_T")


#: Debian's Chromium offline and quiet (no update checks, no sync, nothing but the page): the
#: HTML book's PDF and the wall's browser tests.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # root in CI containers
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def make_settings(database: Path, **overrides: Any) -> Settings:
    """Settings for a test bot wired to the fake's group and channel."""
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "organisers_chat_id": GROUP_ID,
        "channel_id": CHANNEL_ID,
        "event_name": "ROUMICS 2012",
        # Telegram's group limit, with a one-second window instead of a minute (the fake
        # agrees). The global limit is lifted (the fake agrees too): tests about it set it.
        "group_messages_per_minute": 20,
        "group_rate_period_seconds": 1.0,
        "messages_per_second": FAST,
        # A card for every testimonial, as before the review queue (tests about it set it).
        "review_backlog": 0,
        "private_messages_per_second": FAST,
    }
    if overrides:
        values["database"] = database
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]
    # Most tests take the defaults: validating them (and reading the environment) once per
    # process saves ~1.5 ms of CPU a test. Every field holds an immutable value (str, Path,
    # frozenset, SecretStr), so the copies share nothing a test could change for another;
    # the environment is part of the key, as it is part of what Settings reads.
    environment = tuple(
        sorted((k, v) for k, v in os.environ.items() if k.upper().startswith("LIVREDOR_"))
    )
    if environment not in _DEFAULT_SETTINGS:
        _DEFAULT_SETTINGS[environment] = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    return _DEFAULT_SETTINGS[environment].model_copy(update={"database": database})


_DEFAULT_SETTINGS: dict[tuple[tuple[str, str], ...], Settings] = {}


def make_fake(**kwargs: Any) -> FakeTelegram:
    """A fake with the organisers' group (one admin) and the channel."""
    kwargs.setdefault("group_window", 1.0)
    kwargs.setdefault("global_limit", FAST)
    fake = FakeTelegram(token=TOKEN, **kwargs)
    fake.add_user(ORGANISER_ID, "Olga", last_name="Organiser", username="olga")
    fake.add_group(GROUP_ID, "Organisers", admins=[ORGANISER_ID])
    fake.add_channel(CHANNEL_ID, "Livre d'or", username=CHANNEL_USERNAME)
    return fake


#: What ``Database.open`` writes into a new file, made once per process (see
#: ``new_database``).
_MIGRATED: bytes | None = None


async def new_database(path: Path) -> Path:
    """Put at ``path``, unless a file is there already, the database ``Database.open`` makes
    of a new file, and return ``path``.

    The migrations (18 steps, ~12 ms of CPU and a handful of fsyncs) run once per process,
    on a file of their own in a throw-away folder; each caller then gets its own copy of the
    result, private (0600) like the original: no test shares a file with another.
    ``tests/storage/test_migrations.py`` migrates for real, and checks that such a copy and a
    freshly migrated file hold the same schema and rows."""
    global _MIGRATED
    if vars(storage.database)["MIGRATIONS"] is not MIGRATIONS:
        # A test about migrations has patched the list: the file is made by that list.
        return path
    if _MIGRATED is None:
        with tempfile.TemporaryDirectory(prefix="livredor-template-") as folder:
            template = Path(folder) / "livredor.db"
            db = await Database.open(template)
            await db.close()  # checkpoints the WAL: the file alone holds everything
            _MIGRATED = template.read_bytes()
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(_MIGRATED)
    return path


async def open_new_database(path: Path) -> Database:
    """``Database.open`` on ``new_database(path)``: a migrated database, opened the way the
    bot opens it, without running the migrations again."""
    return await Database.open(await new_database(path))


async def wait_until(
    predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition"
) -> Any:
    """Poll ``predicate`` (a function, or an async one) until truthy and return its value;
    the loop keeps serving the fake (and the bot, when it runs in process) meanwhile."""
    deadline = time.monotonic() + timeout
    pause = 0.0005  # most waits end within a few steps of the bot: look soon, then less often
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.005)


class KeepingFakeRequest(FakeRequest):
    """The fake's ``getUpdates`` read as the bot's ``UpdatesRequest`` reads Telegram's: each
    answer's updates kept as JSON for the inbox (``RawUpdates``), which then need not rebuild
    them with PTB's ``to_dict`` (production's path, and a tenth of the tests' CPU)."""

    raw: RawUpdates | None = None

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:  # type: ignore[override]
        answer = FakeRequest.parse_json_payload(payload)
        if self.raw is not None:
            self.raw.keep(answer)
        return answer


class VirtualClock(Clock):
    """Time that passes only when the bot waits for it and for nothing else (the "autojump"
    of trio's ``MockClock``): ``sleep`` waits until the clock reaches its end, and once the
    bot has been still for a moment (no call to Telegram, no update, nothing left in its
    database's hands) the clock jumps to the nearest end. Given to the bot
    (``running_bot(..., clock=VirtualClock())``), Telegram's flood limits and
    ``retry_after``, the flood guard and the back-offs cost next to no real time, in the
    order and at the pace they would have, and the fake Telegram reads the same time (its
    flood windows agree with the bot's; it starts at the Unix time, the fake's dates).

    Not for a test that checks that something is still waiting (a chat paused for 30 s):
    once everything else is done, every wait is over."""

    #: Real seconds between two looks at whether the bot is still.
    TICK = 0.001

    def __init__(self, start: float | None = None) -> None:
        self.t = time.time() if start is None else start
        self._ends: list[tuple[float, int, asyncio.Future[None]]] = []  # a heap
        self._order = itertools.count()
        self._jumper: asyncio.Task[None] | None = None
        #: Set by the harness: what changes whenever the bot does something, and a round
        #: trip to its database (behind whatever the bot has in hand there).
        self.activity: Callable[[], object] = lambda: None
        self.barrier: Callable[[], Awaitable[object]] = lambda: asyncio.sleep(0)
        self.standing = False

    def stand_still(self) -> None:
        """From now on, time stands still: what waits keeps waiting (for a test that checks
        what the bot does meanwhile)."""
        self.standing = True

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        end = asyncio.get_running_loop().create_future()
        heapq.heappush(self._ends, (self.t + seconds, next(self._order), end))
        if not self.standing and (self._jumper is None or self._jumper.done()):
            self._jumper = asyncio.create_task(self._jump(), name="virtual-clock")
        await end

    async def _jump(self) -> None:
        still = 0
        while True:
            while self._ends and self._ends[0][2].done():  # a sleeper cancelled
                heapq.heappop(self._ends)
            if not self._ends:
                return
            before = self.activity()
            await asyncio.sleep(self.TICK)
            await self.barrier()
            await asyncio.sleep(0)  # what the database answered runs first
            still = still + 1 if self.activity() == before else 0
            if self.standing:
                return
            if still < 2:
                continue
            still = 0
            self.t = max(self.t, self._ends[0][0])
            while self._ends and self._ends[0][0] <= self.t:
                _, _, end = heapq.heappop(self._ends)
                if not end.done():
                    end.set_result(None)

    async def stop(self) -> None:
        """Stop jumping (the bot is stopping; a later ``sleep`` starts again)."""
        if self._jumper is not None:
            self._jumper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._jumper
            self._jumper = None


class Person:
    """A user of the fake Telegram, talking to the bot in their private chat."""

    def __init__(self, harness: Harness, user_id: int) -> None:
        self.h = harness
        self.id = user_id

    def _seen(self) -> int:
        return len(self.h.fake.messages(self.id))

    async def send(
        self,
        text: str | None = None,
        *,
        kind: str = "text",
        photo: bytes | None = None,
        media_group_id: str | None = None,
        reply_to: int | None = None,
    ) -> list[JSON]:
        """Send a message and return the bot's new messages once it has handled it
        (``photo``: a photo's image; ``media_group_id``: one item of an album; ``reply_to``:
        as a reply to that message of the chat)."""
        before = self._seen()
        self.h.fake.user_sends(
            self.id,
            text,
            kind=kind,
            photo=photo,
            media_group_id=media_group_id,
            reply_to=reply_to,
        )
        await self.h.settle()
        return self.h.fake.messages(self.id)[before:]

    async def edit(self, message_id: int, text: str) -> list[JSON]:
        """Edit one of my messages."""
        before = self._seen()
        self.h.fake.user_edits(self.id, message_id, text)
        await self.h.settle()
        return self.h.fake.messages(self.id)[before:]

    def last_user_message_id(self) -> int:
        """Return the id of the last message I sent."""
        mine = [m for m in self.h.fake.messages(self.id, include_users=True) if not m["from_bot"]]
        return int(mine[-1]["message_id"])

    async def press(self, label: str) -> list[JSON]:
        """Press the button whose text contains ``label`` on the bot's latest message with
        buttons; return the bot's new messages."""
        for message in reversed(self.h.fake.messages(self.id)):
            for text, data in self.h.fake.buttons(self.id, message["message_id"]):
                if label in text and data is not None:
                    return await self.press_data(message["message_id"], data)
        raise LookupError(f"no button {label!r} in the chat of user {self.id}")

    async def press_data(self, message_id: int, data: str, *, forge: bool = False) -> list[JSON]:
        """Press a button by its callback data; return the bot's answer: the pressed message
        if the bot changed its text (a press is answered in place), then its new messages."""
        before = self._seen()
        shown = self._text(message_id)
        query_id = self.h.fake.user_presses(self.id, self.id, message_id, data, forge=forge)
        await self.h.settle()
        self.last_answer = self.h.fake.callback_answers.get(query_id)
        edited = self._text(message_id) != shown
        pressed = [self.h.fake.message(self.id, message_id)] if edited else []
        return pressed + self.h.fake.messages(self.id)[before:]

    def _text(self, message_id: int) -> str | None:
        try:
            return str(self.h.fake.message(self.id, message_id)["text"])
        except LookupError:
            return None

    def texts(self) -> list[str]:
        """Return the texts of all the bot's messages to me."""
        return [m["text"] for m in self.h.fake.messages(self.id)]

    async def start(self, command: str = "/start") -> list[JSON]:
        """Send /start and, if one of mine waits for review (the bot then offers to write
        another one), accept; return the bot's messages since /start."""
        before = self._seen()
        await self.send(command)
        for message in reversed(self.h.fake.messages(self.id)[before:]):
            for _, data in self.h.fake.buttons(self.id, message["message_id"]):
                if data is not None and data.startswith("in:another"):
                    await self.press_data(message["message_id"], data)
                    return self.h.fake.messages(self.id)[before:]
        return self.h.fake.messages(self.id)[before:]

    async def reach_quote(
        self, name: str = "Ada LOVELACE", organisation: str = "Analytical Engine Society\nLondon"
    ) -> None:
        """Start a testimonial and answer up to the quote, the question then open."""
        await self.start()
        await self.send(name)
        await self.send(organisation)

    async def reach_preview(
        self, quote: str = "Wonderful day.", *, photo: bytes | None = None, **answers: str
    ) -> None:
        """Answer up to the preview: ``reach_quote``, the quote, Done, the photo (or Skip)
        and consent."""
        await self.reach_quote(**answers)
        await self.send(quote)
        await self.press("Done")
        if photo is None:
            await self.press("Skip")
        else:
            await self.send(kind="photo", photo=photo)
        await self.press("Yes, I agree")


class Harness:
    """The running bot and its fake Telegram."""

    def __init__(
        self,
        fake: FakeTelegram,
        settings: Settings,
        read_timeout: float | None = 5.0,
        concurrent_updates: int = 1024,
        clock: Clock | None = None,
    ) -> None:
        self.fake = fake
        self.settings = settings
        #: What the bot's waits are measured on (``VirtualClock``: the fake's too).
        self.clock = clock or Clock()
        if isinstance(clock, VirtualClock):
            fake.clock = clock.now
            clock.activity = self._activity
            clock.barrier = lambda: self.db.schema_version()
        #: How many updates the bot handles at once (``build_application``).
        self.concurrent_updates = concurrent_updates
        #: How long the bot waits for the fake's answer to a call (PTB's read timeout, 5 s
        #: as over HTTP) before it takes the call as lost (None: for ever, as a held call
        #: on a ``VirtualClock`` needs, or the clock's jump would time it out).
        self.read_timeout = read_timeout
        self.db: Database
        self.repo: Repository
        self.app: App
        self._users = 1000
        #: ``settle`` leaves the card sender to its work (see there).
        self.updates_only = False

    @property
    def services(self) -> Services:
        """Return the bot's services."""
        return self.app.bot_data.services

    def pause(self, seconds: float = 60.0) -> None:
        """Move the fake Telegram's clock (message dates) ``seconds`` on: what is sent next
        comes after a pause, as a message typed apart rather than a part of a cut paste."""
        clock = self.fake.clock
        self.fake.clock = lambda: clock() + seconds

    async def start(self) -> None:
        """Open the database (a new one unless there is one: ``new_database``) and start the
        bot, polling the fake."""
        self.db = await open_new_database(self.settings.database)
        self.repo = Repository(self.db)
        # On a virtual clock, the read timeout too (a call lost on its way times out as
        # soon as the bot has nothing else to do).
        virtual = isinstance(self.clock, VirtualClock)
        request = FakeRequest(
            self.fake, read_timeout=self.read_timeout, sleep=self.clock.sleep if virtual else None
        )
        updates_request = KeepingFakeRequest(self.fake)
        self.app = build_application(
            self.settings,
            self.repo,
            request=request,
            updates_request=updates_request,
            concurrent_updates=self.concurrent_updates,
            clock=self.clock,
        )
        updates_request.raw = self.services.update_queue.raw
        await self.app.initialize()
        await start_workers(self.app)
        assert self.app.updater is not None
        await self.app.updater.start_polling(
            poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES
        )
        await self.app.start()

    async def stop(self) -> None:
        """Stop the bot and close the database."""
        assert self.app.updater is not None
        if self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await stop_workers(self.app)
        await self.app.shutdown()
        if isinstance(self.clock, VirtualClock):
            await self.clock.stop()
        await self.db.close()

    def _activity(self) -> tuple[int, int, int]:
        """What changes whenever the bot does something (for ``VirtualClock``): its calls to
        the fake Telegram, the updates waiting for it, the updates it holds."""
        return (
            len(self.fake.requests),
            len(self.fake.pending_updates),
            self.app.update_queue.qsize(),
        )

    async def restart(self) -> None:
        """Stop and start again on the same database (a clean restart)."""
        await self.stop()
        await self.start()

    def person(
        self,
        first_name: str = "Ada",
        *,
        last_name: str | None = "Lovelace",
        username: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
    ) -> Person:
        """Create a user of the fake Telegram."""
        if user_id is None:
            self._users += 1
            user_id = self._users
        self.fake.add_user(
            user_id,
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        return Person(self, user_id)

    async def settle(self, timeout: float = 30.0) -> None:
        """Wait until the bot is idle: every update sent so far fetched and fully handled,
        no card queued or being sent, the publisher waiting with the outbox empty (or paused
        by a channel refusal). Use it before asserting that nothing else happened.

        With ``updates_only`` set, the card sender is left to its work (meant to be busy or
        waiting on the group meanwhile): only the updates and the publisher are waited for."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while quiet < 2:  # twice in a row: a task woken by the last step gets its turn
            try:
                async with asyncio.timeout(max(deadline - time.monotonic(), 0)):
                    # Every update taken from the queue handled: PTB calls task_done() once
                    # its handlers are done.
                    await self.app.update_queue.join()
                    # Idle once: only let the tasks it woke run (every worker says when it
                    # has work, so no time need pass). Busy: look again shortly, without
                    # spinning while it waits for the database's thread.
                    await asyncio.sleep(0 if quiet else 0.001)
            except TimeoutError:
                raise TimeoutError(f"bot still busy after {timeout:g} s: {self.busy()}") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"bot still busy after {timeout:g} s: {self.busy()}")
            quiet = quiet + 1 if await self._idle(confirm=quiet > 0) else 0

    def busy(self) -> list[str]:
        """What the bot still has in hand besides the update queue (empty when idle)."""
        svc = self.services
        assert svc.desk is not None and svc.publisher is not None
        busy = []
        if svc.reasking is not None and not svc.reasking.done():
            busy.append("the open questions are being asked again (after a start)")
        if self.fake.pending_updates:
            busy.append(f"{len(self.fake.pending_updates)} update(s) not fetched")
        if self.app.update_queue.qsize():
            busy.append(f"{self.app.update_queue.qsize()} update(s) queued")
        if self.app.update_processor.current_concurrent_updates:
            busy.append("the update processor is running handlers")
        if not self.updates_only and not svc.desk.idle():
            busy.append("cards to send")
        if not svc.publisher.idle():
            busy.append("the publisher is working")
        if svc.backlog is not None and not svc.backlog.idle():
            busy.append("the review summary is being written")
        if not svc.bulk.idle():
            busy.append("bulk approvals are being committed")
        return busy

    async def _idle(self, *, confirm: bool) -> bool:
        """Whether the bot looks idle; ``confirm``: and the outbox is done too (a round trip
        to the database, after which whatever it answered has run: look again)."""
        if self.busy():
            return False
        if self.updates_only or not confirm:
            return True
        return await self._outbox_done() and not self.busy()

    async def _outbox_done(self) -> bool:
        publisher = self.services.publisher
        assert publisher is not None
        return publisher.paused or await self.repo.next_outbox() is None

    async def wait(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Poll ``predicate`` until truthy (for background work: cards, the publisher)."""
        return await wait_until(predicate, timeout)

    async def wait_async(
        self,
        fetch: Callable[[], Awaitable[Any]],
        predicate: Callable[[Any], bool],
        timeout: float = 10.0,
    ) -> Any:
        """Poll an async ``fetch()`` until ``predicate`` holds for its result; return it."""

        async def found() -> Any:
            value = await fetch()
            return value if value is not None and predicate(value) else None

        return await wait_until(found, timeout)

    def group_messages(self) -> list[JSON]:
        """Return the bot's messages in the organisers' group."""
        return self.fake.messages(GROUP_ID)

    def channel_messages(self) -> list[JSON]:
        """Return the bot's messages in the channel."""
        return self.fake.messages(CHANNEL_ID)


@asynccontextmanager
async def running_bot(
    tmp_path: Path,
    fake: FakeTelegram | None = None,
    *,
    read_timeout: float | None = 5.0,
    concurrent_updates: int = 1024,
    clock: Clock | None = None,
    **settings: Any,
) -> AsyncIterator[Harness]:
    """The bot started on a new database in ``tmp_path`` (``new_database``; one there
    already is kept, as after a restart) against ``fake`` (``make_fake()`` unless given),
    with ``make_settings`` plus ``settings``, its waits on ``clock`` (real time unless
    given: see ``VirtualClock``); stopped on the way out, which then checks that it called
    no method the fake lacks."""
    fake = fake or make_fake()
    h = Harness(
        fake,
        make_settings(tmp_path / "livredor.db", **settings),
        read_timeout,
        concurrent_updates,
        clock,
    )
    await h.start()
    try:
        yield h
    finally:
        await h.stop()
        await fake.aclose()
    assert fake.unknown_methods == [], (
        f"the bot called methods the fake lacks: {fake.unknown_methods}"
    )


class _SkippingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """Never sleeps on a timeout: when nothing is ready, the loop's clock skips it."""

    def __init__(self, loop: FastForwardLoop) -> None:
        super().__init__()
        self.loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        ready: list[tuple[Any, int]] = super().select(0)
        if ready or timeout is None or timeout <= 0:
            return ready if ready or timeout is not None else super().select(None)
        self.loop.skipped += timeout
        return []


class FastForwardLoop(asyncio.SelectorEventLoop):
    """An event loop on a fake clock, for tests about waiting (like ``tests/test_limiter.py``
    fakes the limiter's): whenever every task waits for a timer, the clock jumps to it.

    Only for code that runs in the loop (the in-process fake): a thread's answer (aiosqlite,
    a DNS lookup) would arrive after the clock has skipped past every timeout."""

    def __init__(self) -> None:
        self.skipped = 0.0
        super().__init__(selector=_SkippingSelector(self))

    def time(self) -> float:
        return super().time() + self.skipped


def fast_forward(main: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run ``main()`` on a :class:`FastForwardLoop` and return its result."""
    with asyncio.Runner(loop_factory=FastForwardLoop) as runner:
        return runner.run(main())
