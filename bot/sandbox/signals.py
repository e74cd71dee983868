"""Waiting for the fake to change, and holding answers: the base of ``FakeTelegram``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from bot.sandbox.objects import RecordedRequest

__all__ = ["Signals"]

T = TypeVar("T")


@dataclass
class _HoldRule:
    method: str  # lower-case
    chat_id: int | str | None
    after: int = 0  # matching calls still let through before the rule applies
    effect: bool = True  # False: the call is lost on the way (it never takes effect)


@dataclass
class _FailRule:
    method: str  # lower-case
    chat_id: int | str | None
    code: int
    description: str
    times: int  # failures left
    after: int = 0  # matching calls still let through before failing


class Signals:
    """Change notification (every request, update and message wakes waiters) and held
    answers. Waiting uses real time, whatever the fake's clock says."""

    def __init__(self) -> None:
        # A fresh Event per change: waiters grab the current one, re-check their condition,
        # then sleep on it, so no change between check and sleep goes unnoticed.
        self._changed = asyncio.Event()
        self._hold_rules: list[_HoldRule] = []
        self._fail_rules: list[_FailRule] = []
        self._release = asyncio.Event()
        self.held: list[RecordedRequest] = []

    def notify(self) -> None:
        """Wake every waiter (they re-check their condition)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_change(self, timeout: float) -> None:
        """Sleep until the next change of the fake, or ``timeout`` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,
        *,
        what: str | None = None,
    ) -> T:
        """Wait until ``predicate()`` is truthy and return its value; it is re-checked on
        every change of the fake. A ``LookupError`` from the predicate (say ``last_message``
        before there is one) counts as "not yet". Raises ``TimeoutError`` saying what the bot
        did instead."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        failure: LookupError | None = None
        while True:
            changed = self._changed
            try:
                result = predicate()
            except LookupError as exc:
                failure = exc
            else:
                if result:
                    return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                report = self.timeout_report(what or _describe(predicate), timeout)
                if failure is not None:
                    report += f"\nthe predicate last raised {failure!r}"
                raise TimeoutError(report)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def timeout_report(self, what: str, timeout: float) -> str:
        """The message of ``wait_for``'s TimeoutError (subclasses add their state)."""
        return f"timed out after {timeout:g} s waiting for {what}"

    # --- holding answers -------------------------------------------------------------------

    def hold(
        self,
        method: str,
        chat_id: int | str | None = None,
        *,
        after: int = 0,
        effect: bool = True,
    ) -> None:
        """Make matching calls take effect but keep their answer pending until ``release()``:
        the bot is "between Telegram's send and its answer" (e.g. to kill it there).
        ``chat_id`` (None: any chat) is compared with the parameter as the bot sent it;
        the first ``after`` matching calls are answered as usual. ``effect=False``: the
        call is lost on its way and never takes effect (the bot times out all the same)."""
        self._hold_rules.append(_HoldRule(method.lower(), chat_id, after, effect))

    def fail(
        self,
        method: str,
        chat_id: int | str | None = None,
        *,
        code: int = 502,
        description: str = "Bad Gateway",
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Answer the next ``times`` matching calls (after letting ``after`` through) with an
        error, without effect: a server error, a refusal Telegram may give."""
        self._fail_rules.append(_FailRule(method.lower(), chat_id, code, description, times, after))

    def clear_failures(self) -> None:
        """Forget every ``fail`` rule."""
        self._fail_rules.clear()

    def failure_for(self, method: str, params: Mapping[str, object]) -> tuple[int, str] | None:
        """The (code, description) a matching ``fail`` rule answers this call with, if any."""
        for rule in self._fail_rules:
            if rule.method != method.lower() or rule.times <= 0:
                continue
            if rule.chat_id is not None and str(rule.chat_id) != str(params.get("chat_id")):
                continue
            if rule.after > 0:
                rule.after -= 1
                return None
            rule.times -= 1
            return rule.code, rule.description
        return None

    def release(self) -> None:
        """Answer every held call and stop holding."""
        self._hold_rules.clear()
        self._release.set()
        self._release = asyncio.Event()

    async def wait_held(
        self,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[RecordedRequest]:
        """Wait until ``count`` calls are being held; return them."""
        await self.wait_for(lambda: len(self.held) >= count, timeout, what=f"{count} held call(s)")
        return list(self.held)

    def held_by_rule(self, method: str, params: Mapping[str, object]) -> _HoldRule | None:
        """The hold rule that applies to this call (consumes one of its ``after``), if any."""
        wanted = method.lower()
        for rule in self._hold_rules:
            if rule.method != wanted:
                continue
            if rule.chat_id is None or str(rule.chat_id) == str(params.get("chat_id")):
                if rule.after > 0:
                    rule.after -= 1
                    return None
                return rule
        return None

    async def hold_answer(self, record: RecordedRequest) -> None:
        """Keep the caller waiting until ``release()``."""
        release = self._release
        self.held.append(record)
        self.notify()
        try:
            await release.wait()
        finally:
            self.held.remove(record)
            self.notify()


def _describe(predicate: Callable[[], object]) -> str:
    name = getattr(predicate, "__name__", None)
    if isinstance(name, str) and name != "<lambda>":
        return name
    code = getattr(predicate, "__code__", None)
    if code is not None:
        return f"lambda at {code.co_filename}:{code.co_firstlineno}"
    return repr(predicate)
