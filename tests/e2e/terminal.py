"""A command in a pseudo-terminal, driven as a person types (pexpect), while the test's
event loop keeps serving the fake Telegram."""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import signal
import struct
import sys
import termios
from pathlib import Path

import pexpect
from pexpect.fdpexpect import fdspawn

from tests.e2e import forkserver
from tests.support import wait_until

ROWS, COLUMNS = 40, 250


class Terminal:
    """A command in a pseudo-terminal; ``output`` is everything it printed.

    ``python -m bot ...`` under pytest is forked from the fork server
    (``tests/e2e/forkserver.py``) with the terminal as its controlling one; any other command,
    or outside pytest, pexpect starts afresh."""

    def __init__(
        self, argv: list[str], workdir: Path, env: dict[str, str], timeout: float = 20
    ) -> None:
        self.log = io.StringIO()
        env = {"TERM": "dumb", **env}
        self.forked: forkserver.Forked | None = None
        self.child: pexpect.spawn[str] | fdspawn[str]
        if argv[:3] == [sys.executable, "-m", "bot"] and forkserver.enabled():
            args = argv[3:]
            leader, follower = os.openpty()
            fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
            try:
                server = forkserver.server_for(env)
                self.forked = server.spawn(args, env, workdir, [follower] * 3, terminal=True)
            finally:
                os.close(follower)  # the child holds it now: its exit is our end of file
            self.child = fdspawn(leader, encoding="utf-8", timeout=timeout)
        else:
            self.child = pexpect.spawn(
                argv[0],
                argv[1:],
                cwd=str(workdir),
                env=env,
                encoding="utf-8",
                timeout=timeout,
                dimensions=(ROWS, COLUMNS),
            )
        self.child.logfile_read = self.log

    @property
    def output(self) -> str:
        return self.log.getvalue()

    async def expect(self, text: str) -> None:
        """Wait for ``text`` on the screen (the fake keeps serving meanwhile)."""
        try:
            await self.child.expect_exact(text, async_=True)
        except (pexpect.TIMEOUT, pexpect.EOF):
            raise AssertionError(f"{text!r} never appeared; the screen:\n{self.output}") from None

    async def answer(self, prompt: str, line: str) -> None:
        await self.expect(prompt)
        self.child.sendline(line)

    def _blocked(self) -> bool:
        """Whether the command waits in a system call (a key, Telegram), as Linux shows it;
        True when that cannot be told."""
        pid = self.forked.pid if self.forked is not None else self.child.pid
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            syscall = Path(f"/proc/{pid}/syscall").read_text().split(" ", 1)[0]
        except (OSError, IndexError):
            return True
        return state == "S" and syscall != "running"

    async def interrupt(self, answer: str) -> None:
        """Press Ctrl-C once the command waits (for a key, for Telegram), and again if
        ``answer`` does not show within a second or two, as a person would: a Ctrl-C that
        lands after a prompt is printed but before Python's input() starts to read only shows
        at the next key (CPython's race, not setup's; it cost 2 s in one run out of ten)."""
        for _ in range(5):
            with contextlib.suppress(TimeoutError):
                await wait_until(self._blocked, 2.0, "the command to wait")
            self.child.send("\x03")  # the terminal's interrupt key: SIGINT to the command
            try:
                await self.child.expect_exact(answer, timeout=2, async_=True)
                return
            except pexpect.TIMEOUT:
                continue
        raise AssertionError(f"{answer!r} never appeared after Ctrl-C; the screen:\n{self.output}")

    async def end(self) -> int:
        """Wait for the command to exit; its exit code."""
        await self.expect_eof()
        if self.forked is not None:
            code = await self.forked.wait()
            self.child.close()
            return code
        self.child.close()
        assert isinstance(self.child, pexpect.spawn)
        assert self.child.exitstatus is not None, self.output
        return int(self.child.exitstatus)

    async def expect_eof(self) -> None:
        try:
            await self.child.expect(pexpect.EOF, async_=True)
        except pexpect.TIMEOUT:
            raise AssertionError(f"setup did not exit; the screen:\n{self.output}") from None

    def kill(self) -> None:
        if self.forked is not None:
            if self.forked.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.forked.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                self.child.close()
        elif isinstance(self.child, pexpect.spawn) and self.child.isalive():
            self.child.terminate(force=True)
