"""``kill -9`` the bot process at every step of the conversation: nothing is lost.

The bot runs as a real process (``python -m bot run``) against the fake Telegram served on
loopback HTTP. At each step we wait for the bot's answer (so the step is committed), kill it
with SIGKILL, start a new process on the same database, and the attendee's next message must
continue at the same step with every earlier answer kept, up to a pending testimonial.

A second set of tests kills the bot while an update is in flight (the bot wrote the step but
neither its reply nor its confirmation of the update reached Telegram): Telegram then
delivers the update again, and it must not be applied twice.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import FakeServer, FakeTelegram, UploadedFile
from storage import models
from storage.database import Database
from storage.models import Signature, Status, Step
from storage.portraits import portraits_dir
from storage.testimonials import Repository
from tests.e2e.cli_process import CliProcess, cli_env, fake_telegram, wait_until

JSON = dict[str, Any]

USER = 2001
NAME = "Ada LOVELACE"
ORGANISATION = "Analytical Engine Society\nLondon"
PART_1 = "First paragraph: « nested », 1 < 2 & <b>not a tag</b>."
PART_2 = "Second paragraph ☺"
BOTH_PARTS = f"{PART_1}\n\n{PART_2}"
REPLY_TIMEOUT = 15.0

# What the bot says (bot/texts/en.toml).
ASKS_NAME = "What name should appear"
ASKS_ORGANISATION = "Your role and organisation"
ASKS_QUOTE = "Now your testimonial"
ASKS_PHOTO = "add a photo?"
GOT_PHOTO = "Got your photo"
ASKS_CONSENT = "Do you agree"
PREVIEW_ACTIONS = "Send it, or correct something first."
SUBMITTED = "Thank you!"
HELP = "/forget: erase everything"
ERROR = "something went wrong"
PREVIEW = f"{NAME}\n{ORGANISATION}\n\n«\u00a0{BOTH_PARTS}\u00a0»"
ASKS_SIGNATURE = "How should your testimonial be signed"
SIGNED_PREVIEW = f"Ada L.\n{ORGANISATION}\n\n«\u00a0{BOTH_PARTS}\u00a0»"


@dataclass(frozen=True)
class Move:
    """One thing the attendee does, what the bot must answer, and the draft after it."""

    label: str
    text: str | None = None  # a message, or
    button: str | None = None  # a press of the button whose data is "in:<button>:<id>"
    reply: str = ""  # in the bot's answer
    step: Step | None = None  # None: submitted
    name: str = ""
    organisation: str = ""
    quote: str = ""
    consent: bool = False
    shows: tuple[str, ...] = field(default=())  # whole texts the answer must contain
    signature: Signature = Signature.FULL
    photo: bool = False  # the attendee sends a photo (``text`` and ``button`` None)
    portrait: bool = False  # the draft has one after this move


CONVERSATION = [
    Move("/start", text="/start", reply=ASKS_NAME, step=Step.NAME),
    Move("name", text=NAME, reply=ASKS_ORGANISATION, step=Step.ORGANISATION, name=NAME),
    Move(
        "organisation",
        text=ORGANISATION,
        reply=ASKS_QUOTE,
        step=Step.QUOTE,
        name=NAME,
        organisation=ORGANISATION,
    ),
    Move(
        "first quote message",
        text=PART_1,
        reply=f"{len(PART_1)} characters so far",
        step=Step.QUOTE,
        name=NAME,
        organisation=ORGANISATION,
        quote=PART_1,
    ),
    Move(
        "second quote message",
        text=PART_2,
        reply=f"{len(BOTH_PARTS)} characters so far",
        step=Step.QUOTE,
        name=NAME,
        organisation=ORGANISATION,
        quote=BOTH_PARTS,
    ),
    Move(
        "Done",
        button="done",
        reply=ASKS_PHOTO,
        step=Step.PORTRAIT,
        name=NAME,
        organisation=ORGANISATION,
        quote=BOTH_PARTS,
    ),
    Move(
        "photo",
        photo=True,
        reply=GOT_PHOTO,
        step=Step.CONSENT,
        name=NAME,
        organisation=ORGANISATION,
        quote=BOTH_PARTS,
        portrait=True,
    ),
    Move(
        "consent",
        button="agree",
        reply=PREVIEW_ACTIONS,
        step=Step.PREVIEW,
        name=NAME,
        organisation=ORGANISATION,
        quote=BOTH_PARTS,
        consent=True,
        shows=(PREVIEW,),
        portrait=True,
    ),
    Move(
        "Sign differently",
        button="signature",
        reply=ASKS_SIGNATURE,
        step=Step.SIGNATURE,
        name=NAME,
        organisation=ORGANISATION,
        quote=BOTH_PARTS,
        consent=True,
        portrait=True,
    ),
    Move(
        "first name and initial",
        button="sign.initial",
        reply=PREVIEW_ACTIONS,
        step=Step.PREVIEW,
        name=NAME,
        organisation=ORGANISATION,
        quote=BOTH_PARTS,
        consent=True,
        shows=(SIGNED_PREVIEW,),
        signature=Signature.INITIAL,
        portrait=True,
    ),
    Move(
        "Send",
        button="send",
        reply=SUBMITTED,
        step=None,
        name=NAME,
        organisation=ORGANISATION,
        quote=BOTH_PARTS,
        consent=True,
        signature=Signature.INITIAL,
        portrait=True,
    ),
]
MOVES = {m.label: i for i, m in enumerate(CONVERSATION)}


class Bot:
    """The bot as a child process (``python -m bot run``), restartable on one database."""

    def __init__(self, tmp_path: Path, fake: FakeTelegram, server: FakeServer) -> None:
        self.tmp_path = tmp_path
        self.fake = fake
        self.database = tmp_path / "livredor.db"
        self.env = cli_env(server, self.database)
        self.processes: list[CliProcess] = []

    @property
    def current(self) -> CliProcess:
        return self.processes[-1]

    async def start(self) -> None:
        """Start a process and wait until it polls for updates (it is then serving)."""
        polls = len(self.fake.calls("getUpdates"))
        process = CliProcess(self.tmp_path, f"bot{len(self.processes) + 1}")
        self.processes.append(process)
        await process.start("run", env=self.env)

        def polling() -> bool:
            self.check_alive()
            return len(self.fake.calls("getUpdates")) > polls

        await wait_until(polling, REPLY_TIMEOUT, "the bot's first getUpdates")
        # The questions Telegram never confirmed are asked again once the replays are done;
        # an attendee pressing the older copy's button before that gets "out of date" (the
        # new copy is the live one), so the test acts only after the bot has said it is done.
        await process.wait_log("open question(s) again after the restart", REPLY_TIMEOUT)

    def check_alive(self) -> None:
        proc = self.current.proc
        if proc is not None and proc.returncode is not None:
            raise AssertionError(f"the bot exited ({proc.returncode}):\n{self.current.stderr}")

    async def kill9(self) -> None:
        """SIGKILL the running process: no clean-up of any kind."""
        self.current.signal(signal.SIGKILL)
        assert await self.current.wait(10) == -signal.SIGKILL

    async def kill_all(self) -> None:
        for process in self.processes:
            await process.kill()

    def log(self) -> str:
        return "\n".join(f"--- {p.stderr_path.name}\n{p.stderr}" for p in self.processes)


def act(fake: FakeTelegram, move: Move) -> None:
    """Do ``move`` as the attendee (without waiting for the bot)."""
    if move.text is not None:
        fake.user_sends(USER, move.text)
        return
    if move.photo:
        fake.user_sends(USER, kind="photo")
        return
    prefix = f"in:{move.button}:"
    for message in reversed(fake.messages(USER)):
        for _, data in fake.buttons(USER, message["message_id"]):
            if data is not None and data.startswith(prefix):
                fake.user_presses(USER, USER, message["message_id"], data)
                return
    raise LookupError(f"no {prefix} button in the chat")


async def play(bot: Bot, move: Move) -> list[JSON]:
    """Do ``move``, wait for the bot's answer, and check it and the database."""
    fake = bot.fake
    before = fake.snapshot(USER)
    act(fake, move)

    def answered() -> list[JSON]:
        bot.check_alive()
        new = fake.changed_since(USER, before)  # new messages, or a press answered in place
        return new if any(move.reply in m["text"] for m in new) else []

    try:
        new: list[JSON] = await fake.wait_for(answered, REPLY_TIMEOUT, what=move.reply)
    except TimeoutError as exc:
        texts = [m["text"] for m in fake.changed_since(USER, before)]
        raise AssertionError(f"{move.label}: the bot answered {texts}\n{bot.log()}") from exc
    texts = [m["text"] for m in new]
    assert not any(ERROR in t for t in texts), (move.label, texts)
    for shown in move.shows:  # the preview is part of one message (the line, it, the buttons)
        assert any(shown in t for t in texts), (move.label, texts)
    await check_database(bot.database, move)
    return new


async def read_state(database: Path) -> tuple[models.Testimonial | None, list[models.Testimonial]]:
    """Return the attendee's open draft and their submitted testimonials, read from a
    connection of our own (WAL: fine while the bot runs, or after it was killed)."""
    db = await Database.open(database, migrate=False)
    try:
        repo = Repository(db)
        draft = await repo.get_draft(USER)
        submitted = [t for t in await repo.list_for_user(USER) if t.status is not Status.DRAFT]
        return draft, submitted
    finally:
        await db.close()


async def check_database(database: Path, move: Move) -> None:
    """The database holds exactly what ``move`` left: step and every answer so far."""
    draft, submitted = await read_state(database)
    if move.step is None:
        assert draft is None
        [row] = submitted
        assert row.status is Status.PENDING
    else:
        assert submitted == []
        assert draft is not None, f"after {move.label}: no draft"
        assert draft.step is move.step, f"after {move.label}: at {draft.step}"
        row = draft
    got = (row.name, row.organisation, row.quote, row.consent_at is not None, row.signature)
    want = (move.name, move.organisation, move.quote, move.consent, move.signature)
    assert got == want, f"after {move.label}"
    # The photo: downloaded and kept once, its one file named by the row (no orphan).
    kept = {p.name for p in portraits_dir(database).glob("*")}
    assert kept == ({row.portrait} if move.portrait else set()), (move.label, kept, row.portrait)


# -- kill -9 between two steps -------------------------------------------------------------

KILL_AFTER = ["/start", "name", "organisation", "first quote message", "Done", "photo", "consent"]
KILL_AFTER += ["first name and initial"]  # the signature chosen at the preview


async def test_kill_9_after_each_step_loses_nothing(tmp_path: Path) -> None:
    # One process per step: each is killed right after its step is answered, and the next
    # one, on the same database, continues the conversation where it was, to the end.
    async with fake_telegram() as (fake, server):
        fake.add_user(USER, "Ada", last_name="Lovelace")
        bot = Bot(tmp_path, fake, server)
        try:
            await bot.start()
            for move in CONVERSATION:
                await play(bot, move)
                if move.label in KILL_AFTER:
                    await bot.kill9()
                    # What the dead process committed is all there, at the open step.
                    await check_database(bot.database, move)
                    if move.photo:
                        # What a kill between writing a photo and committing its row
                        # leaves: a file no row names (and one half written). The next
                        # start removes them; the update itself was replayed (in flight,
                        # below), so nothing is lost.
                        folder = portraits_dir(bot.database)
                        (folder / f"{'o' * 22}.jpg").write_bytes(b"orphan")
                        (folder / f".{'t' * 22}.jpg.tmp").write_bytes(b"half")
                    await bot.start()
                    await check_database(bot.database, move)
            assert len(bot.processes) == len(KILL_AFTER) + 1
            texts = [m["text"] for m in fake.messages(USER)]
            assert not any(ERROR in t for t in texts), texts
        finally:
            await bot.kill_all()
    assert fake.unknown_methods == []


# -- kill -9 with an update in flight ------------------------------------------------------


class UnconfirmedUpdates:
    """Keeps the bot's confirmation of updates from reaching the fake.

    PTB confirms an update with its next ``getUpdates`` (``offset`` = last id + 1), sent
    right after it fetched the update; a bot that dies before that call reaches Telegram
    gets the update again. This stops that call before the fake sees it, as if the process
    had died first; ``open()`` answers the stopped calls 502 without confirming anything.
    """

    def __init__(self, fake: FakeTelegram) -> None:
        self._handle = fake.handle
        self._open = asyncio.Event()
        self.after: int | None = None
        fake.handle = self.handle  # type: ignore[method-assign]

    def close_after(self, update_id: int) -> None:
        self.after = update_id

    def open(self) -> None:
        self.after = None
        self._open.set()

    async def handle(
        self,
        token: str,
        method: str,
        params: Mapping[str, object],
        files: Mapping[str, UploadedFile] | None = None,
    ) -> tuple[int, JSON]:
        if method.lower() == "getupdates" and self.after is not None:
            offset = int(str(params.get("offset") or 0))
            if offset > self.after:
                await self._open.wait()
                return 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        return await self._handle(token, method, params, files)


def delivered_after(fake: FakeTelegram, calls_before: int, update_id: int) -> bool:
    """Whether a getUpdates answered after the first ``calls_before`` calls carried it."""
    for call in fake.calls("getUpdates")[calls_before:]:
        response = call.response or {}
        if response.get("ok") and any(u["update_id"] == update_id for u in response["result"]):
            return True
    return False


@pytest.mark.parametrize(
    "in_flight",
    [
        "/start",  # a second /start offers to continue: no second draft
        # The message id is already in the draft's answers: the replay is ignored.
        "second quote message",
        "name",
        # The press was answered before the crash; answering again is not an error.
        "Done",
        # The photo was downloaded, kept and recorded: the replay downloads nothing again.
        "photo",
    ],
)
async def test_kill_9_with_update_in_flight_applies_it_once(tmp_path: Path, in_flight: str) -> None:
    index = MOVES[in_flight]
    move = CONVERSATION[index]
    async with fake_telegram() as (fake, server):
        gate = UnconfirmedUpdates(fake)
        fake.add_user(USER, "Ada", last_name="Lovelace")
        bot = Bot(tmp_path, fake, server)
        try:
            await bot.start()
            for earlier in CONVERSATION[:index]:
                await play(bot, earlier)
            # The update reaches the bot, which writes the step; Telegram performs its reply
            # but the answer never comes back, nor does the bot's confirmation of the update.
            # (A press is answered in place, by editing the message that carries its button.)
            fake.hold("editMessageText" if move.button else "sendMessage", chat_id=USER)
            downloads = len(fake.downloads)
            act(fake, move)
            update_id = int(fake.pending_updates[-1]["update_id"])
            gate.close_after(update_id)
            await fake.wait_held()
            await bot.kill9()
            fake.release()
            gate.open()
            assert update_id in [u["update_id"] for u in fake.pending_updates]
            await check_database(bot.database, move)  # applied once, committed

            calls_before = len(fake.calls("getUpdates"))
            seen = len(fake.messages(USER))
            await bot.start()
            await wait_until(
                lambda: delivered_after(fake, calls_before, update_id),
                REPLY_TIMEOUT,
                "the update delivered again",
            )
            # One person's updates are handled in order: once /help is answered, the
            # redelivered update has been handled too.
            help_move = replace(
                move, label="/help", text="/help", button=None, photo=False, reply=HELP
            )
            await play(bot, help_move)
            assert len(fake.downloads) == downloads + (1 if move.photo else 0)
            after_restart = [m["text"] for m in fake.messages(USER)[seen:]]
            assert not any(ERROR in t for t in after_restart), after_restart
            for later in CONVERSATION[index + 1 :]:
                await play(bot, later)
        finally:
            gate.open()
            await bot.kill_all()
    assert fake.unknown_methods == []
