"""A command in a pseudo-terminal, driven as a person types (pexpect), while the test's
event loop keeps serving the fake Telegram."""

from __future__ import annotations

import io
from pathlib import Path

import pexpect


class Terminal:
    """A command in a pseudo-terminal; ``output`` is everything it printed."""

    def __init__(
        self, argv: list[str], workdir: Path, env: dict[str, str], timeout: float = 20
    ) -> None:
        self.log = io.StringIO()
        self.child = pexpect.spawn(
            argv[0],
            argv[1:],
            cwd=str(workdir),
            env={"TERM": "dumb", **env},
            encoding="utf-8",
            timeout=timeout,
            dimensions=(40, 250),
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

    async def interrupt(self, answer: str) -> None:
        """Press Ctrl-C, and again if ``answer`` does not show within a second or two, as a
        person would: a Ctrl-C that lands after a prompt is printed but before Python's
        input() starts to read only shows at the next key (CPython's race, not setup's)."""
        for _ in range(5):
            self.child.sendintr()
            try:
                await self.child.expect_exact(answer, timeout=2, async_=True)
                return
            except pexpect.TIMEOUT:
                continue
        raise AssertionError(f"{answer!r} never appeared after Ctrl-C; the screen:\n{self.output}")

    async def end(self) -> int:
        """Wait for the command to exit; its exit code."""
        await self.expect_eof()
        self.child.close()
        assert self.child.exitstatus is not None, self.output
        return int(self.child.exitstatus)

    async def expect_eof(self) -> None:
        try:
            await self.child.expect(pexpect.EOF, async_=True)
        except pexpect.TIMEOUT:
            raise AssertionError(f"setup did not exit; the screen:\n{self.output}") from None

    def kill(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
