"""``livredor demo``: the whole flow, with no token and no internet, in a few seconds.

The fake Telegram is served on loopback, the real bot (``bot.cli.run.serve``, polling over
HTTP exactly as in production) runs against it with a throw-away database, and the script
below plays an attendee and an organiser. What the bot said is then printed as a transcript,
read back from the fake's chats, followed by the Markdown livre d'or.

``livredor demo --wall`` then publishes a livre d'or's entries too (``--book``, by default the
seed where a clone has it beside it) and serves their live wall on 127.0.0.1 until Ctrl-C:
the wall of ``livredor run`` with ``LIVREDOR_WALL_PORT``, started by the same ``serve``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from bot.book.formats import to_markdown
from bot.book.imports import read_entries
from bot.cli.run import serve
from bot.sandbox.fake import FakeTelegram
from bot.sandbox.server import FakeServer, start_server
from bot.services.container import Services
from config.settings import Settings
from storage.database import Database
from storage.models import Status
from storage.testimonials import Repository

T = TypeVar("T")
JSON = dict[str, Any]

# A well-formed token the fake accepts; Telegram would not.
DEMO_TOKEN = "123456:DEMO-not-a-real-token"
BOT_USERNAME = "livredor_demo_bot"
BOT_NAME = "Livre d'or"
GROUP_ID = -1001000000001
CHANNEL_ID = -1001000000002
CHANNEL_USERNAME = "livredor_demo"
ORGANISER_ID = 500
ATTENDEE_ID = 1001
EVENT = "Demo Day"
STEP_TIMEOUT = 10.0
#: The seed book's 31 entries (some in two parts) at the demo's 20 channel posts a second.
BOOK_TIMEOUT = 60.0
#: The seed livre d'or, where a clone of livredor has it beside it (as CI does): what
#: ``demo --wall`` publishes when no ``--book`` is given.
SEED_BOOK = (
    Path(__file__).resolve().parents[2].parent / "shared" / "seed" / "000_6078c713f019cbe3.txt"
)

NAME = "Ada LOVELACE"
ORGANISATION = "Analytical Engine Society\nLondon"
QUOTE = (
    "What a day! I came for the talks on *open data* and stayed for the conversations in "
    "the corridors. The slides are at https://example.org/slides",
    "Thank you to the organisers, and « see you next year » ☺",
)

BAR = "━" * 3


class DemoError(Exception):
    """The flow did not go as scripted; the message says where."""


class _DemoSettings(Settings):
    """Settings from the arguments only: the demo ignores LIVREDOR_* and .env, so a real
    configuration on this machine can neither leak into it nor be touched by it."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def demo_settings(server: FakeServer, database: Path, wall_port: int | None = None) -> Settings:
    """The bot's settings for the demo: the fake's chats, a one-second flood window (and the
    wall on 127.0.0.1:``wall_port``, if given)."""
    return _DemoSettings(
        bot_token=SecretStr(DEMO_TOKEN),
        organisers_chat_id=GROUP_ID,
        # By @username, as many channels are set up: posts then link to t.me/<username>/<id>.
        channel_id=f"@{CHANNEL_USERNAME}",
        api_base_url=server.base_url,
        database=database,
        event_name=EVENT,
        event_hashtag="DemoDay",
        default_language="en",
        # The fake counts group messages per second instead of per minute: so does the bot.
        group_rate_period_seconds=1.0,
        webhook_url=None,
        wall_port=wall_port,
        wall_listen="127.0.0.1",
        log_level="WARNING",
    )


def demo_fake() -> FakeTelegram:
    """A fake Telegram with an organiser, her group, the channel and an attendee."""
    fake = FakeTelegram(
        token=DEMO_TOKEN,
        bot_username=BOT_USERNAME,
        bot_first_name=BOT_NAME,
        group_window=1.0,
    )
    fake.add_user(ORGANISER_ID, "Olga", last_name="Organiser", username="olga")
    fake.add_group(GROUP_ID, "Organisers", admins=[ORGANISER_ID])
    fake.add_channel(CHANNEL_ID, BOT_NAME, username=CHANNEL_USERNAME)
    fake.add_user(ATTENDEE_ID, "Ada", last_name="Lovelace", username="ada")
    return fake


@dataclass
class _Press:
    after: int  # the chat's last message id when the button was pressed
    who: str
    label: str


@dataclass
class Transcript:
    """What happened in the fake's chats, printed chat by chat as the story goes on.

    Each message is remembered as first seen (buttons vanish or change once pressed, a card
    gets its outcome line after the decision), so the transcript shows it as it appeared,
    then who pressed what, then the edit.
    """

    fake: FakeTelegram
    out: Callable[[str], None]
    names: dict[int, str]
    first_seen: dict[tuple[int, int], tuple[str, list[list[str]]]] = field(default_factory=dict)
    shown: dict[tuple[int, int], str] = field(default_factory=dict)
    presses: dict[int, list[_Press]] = field(default_factory=dict)
    printed: dict[int, int] = field(default_factory=dict)

    def observe(self) -> None:
        """Remember messages as they are now (called on every change while waiting)."""
        for chat_id in (ATTENDEE_ID, GROUP_ID, CHANNEL_ID):
            for m in self.fake.messages(chat_id, include_users=True):
                key = (chat_id, int(m["message_id"]))
                if key not in self.first_seen:
                    self.first_seen[key] = (m["text"], _rows(m))

    def pressed(self, chat_id: int, who: str, label: str) -> None:
        """Note a press, to print after the chat's latest message."""
        self.observe()
        messages = self.fake.messages(chat_id, include_users=True)
        last = int(messages[-1]["message_id"]) if messages else 0
        self.presses.setdefault(chat_id, []).append(_Press(last, who, label))

    def heading(self, title: str) -> None:
        self.out(f"\n{BAR} {title} {BAR}\n")

    def flush(self, chat_id: int) -> None:
        """Print what is new in a chat since the last flush: messages, presses, edits."""
        self.observe()
        done = self.printed.get(chat_id, 0)
        for m in self.fake.messages(chat_id, include_users=True):
            message_id = int(m["message_id"])
            key = (chat_id, message_id)
            if message_id > done:
                text, rows = self.first_seen.get(key, (m["text"], _rows(m)))
                self._message(chat_id, bool(m["from_bot"]), text, rows)
                self.shown[key] = text
            pending = self.presses.get(chat_id, [])
            for press in [p for p in pending if p.after <= message_id]:
                self.out(f"👤 {press.who} taps [{press.label}]")
                pending.remove(press)
            if key in self.shown and self.shown[key] != m["text"]:
                self._edited(self.shown[key], m)
                self.shown[key] = m["text"]
            done = max(done, message_id)
        self.printed[chat_id] = done

    def _message(self, chat_id: int, from_bot: bool, text: str, rows: list[list[str]]) -> None:
        if not from_bot:
            self.out(_indent(f"👤 {self.names.get(chat_id, 'someone')}: ", text))
            return
        mark = "📣 " if chat_id == CHANNEL_ID else f"🤖 {BOT_NAME}: "
        self.out(_indent(mark, text))
        for row in rows:
            self.out("   " + " ".join(f"[{label}]" for label in row))

    def _edited(self, old: str, m: JSON) -> None:
        before = set(old.splitlines())
        added = [line for line in m["text"].splitlines() if line and line not in before]
        self.out(_indent("✏️  the bot updates it: ", "\n".join(added) or m["text"]))
        for row in _rows(m):
            self.out("   " + " ".join(f"[{label}]" for label in row))


def _rows(message: JSON) -> list[list[str]]:
    markup = message.get("reply_markup") or {}
    return [[str(b["text"]) for b in row] for row in markup.get("inline_keyboard", [])]


def _indent(first: str, text: str) -> str:
    """``first`` then the text, its continuation lines indented under it."""
    lines = text.split("\n")
    return "\n".join([first + lines[0], *("   " + line for line in lines[1:])])


class _Player:
    """Plays the people against the bot, waiting on the fake for each answer."""

    def __init__(self, fake: FakeTelegram, transcript: Transcript, bot: asyncio.Task[None]):
        self.fake = fake
        self.transcript = transcript
        self.bot = bot

    async def until(self, predicate: Callable[[], T], what: str) -> T:
        """Wait for ``predicate`` to be truthy (noting messages as they appear) and return its
        value; fail if the bot stops or the step takes too long."""
        found: list[T] = []

        def check() -> bool:
            if self.bot.done():
                return True
            self.transcript.observe()
            value = predicate()
            if value:
                found.append(value)
            return bool(value)

        try:
            await self.fake.wait_for(check, STEP_TIMEOUT, what=what)
        except TimeoutError as exc:
            raise DemoError(str(exc)) from None
        if not found:
            error = None if self.bot.cancelled() else self.bot.exception()
            why = f": {error!r}" if error is not None else " (interrupted)"
            raise DemoError(f"the bot stopped while waiting for {what}{why}")
        return found[0]

    def _after(self, chat_id: int, last: int) -> list[JSON]:
        return [m for m in self.fake.messages(chat_id) if m["message_id"] > last]

    async def say(self, text: str) -> None:
        """The attendee sends a message; wait for the bot's answer."""
        sent = self.fake.user_sends(ATTENDEE_ID, text)
        mine = int(sent["message_id"])
        await self.until(
            lambda: self._after(ATTENDEE_ID, mine), f"the bot's answer to {text[:30]!r}"
        )

    async def press(
        self, user_id: int, who: str, chat_id: int, action: str, *, answered: bool = True
    ) -> None:
        """Press the newest button whose callback data is ``action:...``; wait for the bot's
        answer in that chat too (a new message, or the pressed one edited), unless
        ``answered`` is False."""
        pattern = re.compile(rf"^{re.escape(action)}(:|$)")

        def find() -> tuple[int, str, str] | None:
            for m in reversed(self.fake.messages(chat_id)):
                for label, data in self.fake.buttons(chat_id, m["message_id"]):
                    if data is not None and pattern.match(data):
                        return int(m["message_id"]), label, data
            return None

        button = await self.until(find, f"a {action} button")
        assert button is not None  # until() returns only a truthy value
        message_id, label, data = button
        everything = self.fake.messages(chat_id, include_users=True)
        last = int(everything[-1]["message_id"])
        shown = self.fake.message(chat_id, message_id)["text"]
        self.transcript.pressed(chat_id, who, label)
        query = self.fake.user_presses(user_id, chat_id, message_id, data)
        await self.until(lambda: query in self.fake.callback_answers, f"the answer to {label}")
        if answered:
            await self.until(
                lambda: (
                    self._after(chat_id, last)
                    or self.fake.message(chat_id, message_id)["text"] != shown
                ),
                f"the bot's answer to {label}",
            )


async def _play(fake: FakeTelegram, transcript: Transcript, bot: asyncio.Task[None]) -> None:
    """The script: an attendee leaves a testimonial, an organiser approves it."""
    player = _Player(fake, transcript, bot)
    await player.until(lambda: fake.calls("getUpdates"), "the bot to start polling")

    transcript.heading("1. Ada, an attendee, writes to the bot in a private chat")
    # Printed step by step: a press is answered by editing the message that carries the
    # buttons, so the transcript shows each edit after the press that caused it.
    await player.say("/start")
    await player.press(ATTENDEE_ID, "Ada", ATTENDEE_ID, "in:profile")
    transcript.flush(ATTENDEE_ID)
    await player.say(ORGANISATION)
    for paragraph in QUOTE:
        await player.say(paragraph)
    for action in ("in:done", "in:noportrait", "in:agree", "in:send"):
        transcript.flush(ATTENDEE_ID)
        await player.press(ATTENDEE_ID, "Ada", ATTENDEE_ID, action)
    transcript.flush(ATTENDEE_ID)

    await player.until(
        lambda: (
            any((d or "").startswith("mod:approve:") for _, d in fake.buttons(GROUP_ID))
            if fake.messages(GROUP_ID)
            else False
        ),
        "the card in the organisers' group",
    )
    posts_before = len(fake.messages(CHANNEL_ID))
    cards = {int(m["message_id"]): m["text"] for m in fake.messages(GROUP_ID)}
    chat_before = len(fake.messages(ATTENDEE_ID))
    await player.press(ORGANISER_ID, "Olga", GROUP_ID, "mod:approve", answered=False)
    await player.until(lambda: len(fake.messages(CHANNEL_ID)) > posts_before, "the channel post")
    # The card's outcome line and the author's notice follow the post; do not fail the demo
    # if a slow machine is late with them.
    with contextlib.suppress(DemoError):
        await player.until(
            lambda: (
                any(cards.get(int(m["message_id"])) != m["text"] for m in fake.messages(GROUP_ID))
                and len(fake.messages(ATTENDEE_ID)) > chat_before
            ),
            "the card's update and the author's notice",
        )
    transcript.heading("2. The card in the organisers' group; Olga, an organiser, approves it")
    transcript.flush(GROUP_ID)
    transcript.heading(f"3. The post in the channel @{CHANNEL_USERNAME}")
    transcript.flush(CHANNEL_ID)
    transcript.heading("4. Ada hears back")
    transcript.flush(ATTENDEE_ID)


async def _book(database: Path) -> str:
    db = await Database.open(database, migrate=False)
    try:
        testimonials = await Repository(db).list_for_book()
    finally:
        await db.close()
    return to_markdown(testimonials, EVENT)


async def _stop(bot: asyncio.Task[None], stop: asyncio.Event) -> BaseException | None:
    """Stop the bot as SIGTERM would; return what went wrong, if anything."""
    stop.set()
    done, _ = await asyncio.wait({bot}, timeout=STEP_TIMEOUT)
    if not done:
        bot.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await bot
        return TimeoutError(f"the bot did not stop within {STEP_TIMEOUT:g} s")
    return None if bot.cancelled() else bot.exception()


def wall_book(given: Path | None) -> Path | None:
    """The book ``demo --wall`` publishes: ``--book``'s, else the seed where it is."""
    return given or (SEED_BOOK if SEED_BOOK.is_file() else None)


async def _publish_book(services: Services, book: Path, bot: asyncio.Task[None]) -> int:
    """Queue a livre d'or's entries for the channel (as ``livredor import --publish`` does),
    wake the running bot's publisher (a separate ``import`` is seen within its idle poll,
    seconds later) and wait until it has posted them all. Return how many."""
    entries = read_entries(book, "auto")
    repo = services.repo
    added, _ = await repo.import_entries(
        [(e.import_key, e.name, e.organisation, e.quote, e.signature) for e in entries],
        language="fr",
        publish=True,
    )
    services.publisher.wake()
    deadline = time.monotonic() + BOOK_TIMEOUT
    while (await repo.count_by_status()).get(Status.PUBLISHED, 0) < added + 1:
        if bot.done() or time.monotonic() > deadline:
            raise DemoError(f"the book's {added} testimonials were not all published")
        await asyncio.sleep(0.05)
    return added


async def _show_wall(
    bot: asyncio.Task[None],
    stop: asyncio.Event,
    services: Services,
    book: Path | None,
    port: int,
) -> None:
    """Publish the book's entries too, then leave the wall on until Ctrl-C (or SIGTERM)."""
    if book is not None:
        added = await _publish_book(services, book, bot)
        print(f"\n{added} testimonials of {book.name} published in the channel too.")
    # Flushed: whoever reads the output through a pipe needs the address now, not at the end.
    print(
        f"\nThe wall: http://127.0.0.1:{port}/ (in French: /?lang=fr). Ctrl-C to stop.",
        flush=True,
    )
    # serve() sets its stop event on Ctrl-C or SIGTERM.
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({bot, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()


async def run_demo(
    quiet: bool = False, *, wall_port: int | None = None, book: Path | None = None
) -> int:
    """Run the demo; print the transcript (unless ``quiet``) and the book; return 0, or 1 if
    the flow broke (with the reason on stderr). With ``wall_port``, also publish ``book``'s
    entries and serve the wall there until Ctrl-C."""
    started = time.monotonic()
    # UTF-8 or not, a transcript full of « » and emoji must not crash on a narrow console.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    root = logging.getLogger()
    if root.getEffectiveLevel() >= logging.INFO:
        # The transcript is the output; the bot's INFO lines would interleave with it.
        root.setLevel(logging.WARNING)

    def out(line: str) -> None:
        if not quiet:
            print(line)

    fake = demo_fake()
    transcript = Transcript(fake, out, names={ATTENDEE_ID: "Ada"})
    with tempfile.TemporaryDirectory(prefix="livredor-demo-") as tmp:
        database = Path(tmp) / "demo.db"
        server = await start_server(fake)
        out(
            f"livredor demo: the real bot against a fake Telegram on "
            f"{server.host}:{server.port} (no token, no internet), database in {tmp}"
        )
        stop = asyncio.Event()
        settings = demo_settings(server, database, wall_port)
        # The running bot's services, handed over once it has started (it has by the time
        # the script's first step is answered).
        running: list[Services] = []
        bot = asyncio.create_task(serve(settings, stop, started=running.append), name="demo-bot")
        problem: str | None = None
        try:
            await _play(fake, transcript, bot)
            if wall_port is not None:
                await _show_wall(bot, stop, running[0], book, wall_port)
        except DemoError as exc:
            problem = str(exc)
        finally:
            stopped = await _stop(bot, stop)
            await server.close()
            await fake.aclose()
        if problem is None and stopped is not None:
            problem = f"the bot failed: {stopped!r}"
        if problem is None and fake.unknown_methods:
            problem = f"the bot called methods the fake lacks: {fake.unknown_methods}"
        if problem is not None:
            print(f"The demo did not go as planned: {problem}", file=sys.stderr)
            return 1
        markdown = await _book(database)
    out("")
    out(f"{BAR} 5. The livre d'or, as `livredor export --format md` writes it {BAR}\n")
    print(markdown)
    out(
        f"Demo finished in {time.monotonic() - started:.1f} s: the fake Telegram and the bot "
        "are stopped, the throw-away database is deleted."
    )
    return 0
