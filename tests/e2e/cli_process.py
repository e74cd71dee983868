"""Helpers for end-to-end tests: the fake Telegram on loopback, the real CLI as a child process.

The child runs ``python -m bot ...`` with a clean environment (only what the test gives it),
in its own working directory (so no stray ``.env`` is read) and its own process group (so it
and anything it spawned can be killed as one). It also dies with the process that started it
(Linux's parent-death signal), so a benchmark or test run killed outright, whose ``finally``
blocks never run, leaves no bot behind. Its stdout and stderr go to files the test polls: no
pipe can fill up and block it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import resource
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from bot.sandbox import FakeServer, FakeTelegram, start_server
from storage.database import Database
from storage.models import Status
from storage.testimonials import Repository
from tests.e2e import forkserver
from tests.support import CHANNEL_ID, FAST, GROUP_ID, TOKEN, make_fake, wait_until

REPO = Path(__file__).resolve().parents[2]

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(
    parent: int | None = None,
    *,
    file_size_limit: int | None = None,
    capabilities_dropped: Sequence[int] = (),
) -> Callable[[], None]:
    """A ``preexec_fn`` for child processes: the child gets SIGKILL when its parent exits
    (and, given ``file_size_limit``, may write no file beyond that many bytes; given
    ``capabilities_dropped``, runs without them, see ``forkserver.drop_capabilities``).

    ``start_new_session`` puts the child out of reach of a terminal's Ctrl-C, and a parent
    killed with SIGKILL (a CI timeout, ``timeout -s KILL``) runs no cleanup: without this, the
    bot would go on polling the dead fake forever. Not available off Linux: then a no-op.
    """
    parent_pid = os.getpid() if parent is None else parent

    def arm() -> None:
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before the signal was armed
            os._exit(1)
        if file_size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
        forkserver.drop_capabilities(capabilities_dropped)

    return arm


__all__ = [
    "CHANNEL_ID",
    "GROUP_ID",
    "ORGANISER",
    "REPO",
    "TOKEN",
    "CliProcess",
    "approve",
    "cli_env",
    "fake_telegram",
    "free_port",
    "press",
    "run_cli",
    "say",
    "settle",
    "submit",
    "wait_until",
]


@contextlib.asynccontextmanager
async def fake_telegram(**kwargs: Any) -> AsyncIterator[tuple[FakeTelegram, FakeServer]]:
    """The tests' fake (organisers' group, channel) served on 127.0.0.1, any free port."""
    fake = make_fake(**kwargs)
    server = await start_server(fake)
    try:
        yield fake, server
    finally:
        await server.close()
        await fake.aclose()


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli_env(server: FakeServer | None, database: Path, **settings: str) -> dict[str, str]:
    """A clean environment: PATH, a private HOME, and the LIVREDOR_ settings of a bot wired
    to the fake's group and channel (``settings`` add or override, by lower-case name)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(database.parent),
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "LIVREDOR_DATABASE": str(database),
        "LIVREDOR_LOG_LEVEL": "INFO",
    }
    if server is not None:
        env.update(
            LIVREDOR_BOT_TOKEN=TOKEN,
            LIVREDOR_ORGANISERS_CHAT_ID=str(GROUP_ID),
            LIVREDOR_CHANNEL_ID=str(CHANNEL_ID),
            LIVREDOR_API_BASE_URL=server.base_url,
            LIVREDOR_EVENT_NAME="ROUMICS 2012",
            # The fake's group window is one second and its global limit lifted
            # (tests.support.make_fake): keep to them.
            LIVREDOR_GROUP_RATE_PERIOD_SECONDS="1",
            LIVREDOR_MESSAGES_PER_SECOND=str(FAST),
            LIVREDOR_PRIVATE_MESSAGES_PER_SECOND=str(FAST),
        )
    for name, value in settings.items():
        env[f"LIVREDOR_{name.upper()}"] = value
    return env


class CliProcess:
    """``python -m bot <args>`` as a child process; always ``await kill()`` in ``finally``.

    Under pytest the child is forked from a server that has already imported livredor
    (``tests/e2e/forkserver.py``: the same program without 0.7 s of imports per start);
    ``fresh=True`` (or ``TESTS_NO_FORK=1``) starts a new interpreter instead."""

    def __init__(self, workdir: Path, name: str = "cli", *, fresh: bool = False) -> None:
        self.workdir = workdir
        self.stdout_path = workdir / f"{name}.stdout"
        self.stderr_path = workdir / f"{name}.stderr"
        self.proc: asyncio.subprocess.Process | forkserver.Forked | None = None
        self.started = 0.0
        self.fresh = fresh

    async def start(
        self,
        *args: str,
        env: dict[str, str],
        prefix: Sequence[str] = (),
        module: str = "bot",
        umask: int | None = None,
        file_size_limit: int | None = None,
        capabilities_dropped: Sequence[int] = (),
    ) -> CliProcess:
        """Start the CLI (from ``workdir``, so it reads no ``.env`` of ours); ``prefix`` is a
        command to run it through (like ``setpriv ...``); ``module`` another program to run
        the same way (a benchmark's baseline bot). ``umask`` (default: ours) and
        ``file_size_limit`` (bytes, as ``prlimit --fsize``; default: none) are the child's,
        as a shell's ``umask 022; exec ...`` would set them; it runs without
        ``capabilities_dropped`` (``setpriv --bounding-set=-...``)."""
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            if not (self.fresh or prefix or module != "bot") and forkserver.enabled():
                # Started on first use (a second of imports): off the event loop, which
                # may be serving the fake to another bot meanwhile.
                server = await asyncio.to_thread(forkserver.server_for, env)
                stdin = os.open(os.devnull, os.O_RDONLY)
                try:
                    fds = [stdin, out.fileno(), err.fileno()]
                    forked = server.spawn(
                        list(args),
                        env,
                        self.workdir,
                        fds,
                        umask=umask,
                        file_size_limit=file_size_limit,
                        capabilities_dropped=capabilities_dropped,
                    )
                finally:
                    os.close(stdin)
                forked.watch()
                self.proc = forked
                self.started = time.monotonic()
                return self
            self.proc = await asyncio.create_subprocess_exec(
                *prefix,
                sys.executable,
                "-m",
                module,
                *args,
                cwd=self.workdir,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                preexec_fn=die_with_parent(
                    file_size_limit=file_size_limit, capabilities_dropped=capabilities_dropped
                ),
                umask=-1 if umask is None else umask,
            )
        self.started = time.monotonic()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    async def wait_log(self, text: str, timeout: float = 15.0) -> None:
        """Wait until ``text`` appears in the child's stderr (its log)."""

        def seen() -> bool:
            if text in self.stderr:
                return True
            if self.proc is not None and self.proc.returncode is not None:
                raise AssertionError(
                    f"the CLI exited ({self.proc.returncode}) before logging {text!r}:\n"
                    f"{self.stderr}"
                )
            return False

        await wait_until(seen, timeout, f"{text!r} in the log:\n{self.stderr}")

    def signal(self, signum: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    async def wait(self, timeout: float = 15.0) -> int:
        """Wait for the exit; return the exit code."""
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def kill(self) -> None:
        """Kill the child's whole process group if anything of it is still running."""
        if self.proc is None:
            return
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()
        else:
            # The child is gone; anything it left in its group must go too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)


async def run_cli(
    workdir: Path,
    *args: str,
    env: dict[str, str],
    timeout: float = 30.0,
    name: str = "cli",
    prefix: Sequence[str] = (),
    umask: int | None = None,
    file_size_limit: int | None = None,
    capabilities_dropped: Sequence[int] = (),
) -> tuple[int, str, str]:
    """Run a one-shot command (check, backup, demo) to its end: (exit code, stdout, stderr)."""
    process = CliProcess(workdir, name)
    try:
        await process.start(
            *args,
            env=env,
            prefix=prefix,
            umask=umask,
            file_size_limit=file_size_limit,
            capabilities_dropped=capabilities_dropped,
        )
        code = await process.wait(timeout)
        return code, process.stdout, process.stderr
    finally:
        await process.kill()


async def settle(fake: FakeTelegram, database: Path, timeout: float = 30.0) -> None:
    """Wait until the bot process is idle, as far as it shows from outside: every update
    confirmed, no Bot API call in flight but its long poll, no open outbox item and no
    pending testimonial without its card (twice in a row, 50 ms apart). The in-process
    ``Harness.settle`` sees inside the bot; use it where the test allows."""
    deadline = time.monotonic() + timeout
    quiet = 0
    db = await Database.open(database, migrate=False)
    try:
        repo = Repository(db)
        while quiet < 2:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the bot was still busy after {timeout:g} s")
            await asyncio.sleep(0.05)
            in_flight = [r for r in fake.requests if r.status is None and r.method != "getUpdates"]
            pending = await repo.list_by_status(Status.PENDING, limit=100_000)
            idle = (
                not fake.pending_updates
                and not in_flight
                and await repo.next_outbox() is None
                and all(t.card_message_ids for t in pending)
            )
            quiet = quiet + 1 if idle else 0
    finally:
        await db.close()


# --- playing the people, against a bot in another process ----------------------------------

JSON = dict[str, Any]
ORGANISER = 500  # tests.support.make_fake's group admin


async def say(fake: FakeTelegram, user_id: int, text: str, timeout: float = 15.0) -> JSON:
    """The user sends ``text`` privately; return the bot's first reply to it."""
    sent = fake.user_sends(user_id, text)
    mine = int(sent["message_id"])
    replies = await fake.wait_for(
        lambda: [m for m in fake.messages(user_id) if m["message_id"] > mine],
        timeout,
        what=f"the bot's reply to {text[:30]!r}",
    )
    return dict(replies[0])


async def press(
    fake: FakeTelegram, user_id: int, label: str, chat_id: int | None = None, timeout: float = 15.0
) -> None:
    """Wait for a button whose text contains ``label`` on one of the bot's messages (latest
    first) in ``chat_id`` (default: the user's private chat), press it, and wait until the bot
    has answered the press."""
    chat = user_id if chat_id is None else chat_id

    def find() -> tuple[int, str] | None:
        for message in reversed(fake.messages(chat)):
            for text, data in fake.buttons(chat, message["message_id"]):
                if label in text and data is not None:
                    return int(message["message_id"]), data
        return None

    button = await fake.wait_for(find, timeout, what=f"a {label!r} button")
    assert button is not None  # wait_for returns a truthy value
    message_id, data = button
    query = fake.user_presses(user_id, chat, message_id, data)
    await fake.wait_for(lambda: query in fake.callback_answers, timeout, what=f"{label} answered")


async def skip_photo(fake: FakeTelegram, user_id: int, timeout: float = 15.0) -> None:
    """Press Skip at the photo step (not an older question's Skip, like the organisation's:
    Done is answered before the photo question is on screen)."""

    def find() -> tuple[int, str] | None:
        for message in reversed(fake.messages(user_id)):
            for _, data in fake.buttons(user_id, message["message_id"]):
                if data is not None and data.startswith("in:noportrait:"):
                    return int(message["message_id"]), data
        return None

    button = await fake.wait_for(find, timeout, what="the photo step's Skip")
    assert button is not None  # wait_for returns a truthy value
    message_id, data = button
    query = fake.user_presses(user_id, user_id, message_id, data)
    await fake.wait_for(lambda: query in fake.callback_answers, timeout, what="Skip answered")


async def submit(
    fake: FakeTelegram,
    user_id: int,
    *,
    name: str = "Ada LOVELACE",
    organisation: str = "Analytical Engine Society\nLondon",
    quote: str = "A wonderful day.",
) -> None:
    """Play an attendee through the whole conversation up to the thank-you."""
    await say(fake, user_id, "/start")
    await say(fake, user_id, name)
    await say(fake, user_id, organisation)
    await say(fake, user_id, quote)
    await press(fake, user_id, "Done")
    await skip_photo(fake, user_id)
    await press(fake, user_id, "Yes, I agree")
    await press(fake, user_id, "Send")


async def approve(fake: FakeTelegram, timeout: float = 15.0) -> JSON:
    """The organiser approves the latest card; return the channel post."""
    before = len(fake.messages(CHANNEL_ID))
    await press(fake, ORGANISER, "Approve", chat_id=GROUP_ID, timeout=timeout)
    posts = await fake.wait_for(
        lambda: fake.messages(CHANNEL_ID)[before:], timeout, what="the channel post"
    )
    return dict(posts[0])
