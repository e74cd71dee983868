"""Keeping to Telegram's flood limits on what the bot sends (PTB's ``BaseRateLimiter``).

Telegram documents "about 30 messages a second" overall, "20 messages a minute" into one
group or channel and about one a second into one private chat ("short bursts" tolerated),
and answers 429 with ``retry_after`` beyond. PTB's ``AIORateLimiter`` uses
a leaky bucket, which after a burst of 20 lets the 21st message through 3 s later: a strict
"20 in any minute" window (what our fake enforces, and what Telegram does to a channel) then
answers 429. A sliding window sends at exactly the allowed rate and never provokes the 429.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.services.clock import Clock

log = logging.getLogger(__name__)

JSON = bool | dict[str, Any] | list[dict[str, Any]]


def retry_seconds(exc: RetryAfter) -> float:
    """Return how long Telegram asked to wait (PTB 22 warns that the type will change)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        delay = exc.retry_after
    return delay if isinstance(delay, int | float) else delay.total_seconds()


class SlidingWindow:
    """At most ``limit`` requests in any ``period`` seconds, handed out in FIFO order.

    Each request is stamped when it starts and stamped again when its answer arrives:
    Telegram counts a message when it arrives there, somewhere between the two, so counting
    from the later time keeps us under the limit however long the request travelled.
    """

    def __init__(self, limit: int, period: float, clock: Clock | None = None) -> None:
        self.limit = limit
        self.period = period
        self.clock = clock or Clock()
        # Oldest first. A stamp moves later when its answer arrives (``done``), and answers
        # arrive out of order, so the deque is only roughly sorted: see ``acquire``.
        self._stamps: deque[list[float]] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> list[float]:
        """Wait until one more request fits in the window; return its stamp (pass it to
        ``done`` when the request has been answered)."""
        async with self._lock:
            while True:
                now = self.clock.now()
                stamps = self._stamps
                while stamps and now - stamps[0][0] >= self.period:
                    stamps.popleft()  # O(1) per request, instead of rebuilding the window
                if len(stamps) >= self.limit:
                    # Looks full: an expired stamp may sit behind a live one, so look at all
                    # (keeping expired ones only ever overcounts, never lets one too many by).
                    self._stamps = stamps = deque(s for s in stamps if now - s[0] < self.period)
                if len(stamps) < self.limit:
                    stamp = [now]
                    stamps.append(stamp)
                    return stamp
                oldest = min(s[0] for s in stamps)
                await self.clock.sleep(self.period - (now - oldest) + 0.001)

    def done(self, stamp: list[float]) -> None:
        """Count the request from the time its answer arrived."""
        stamp[0] = self.clock.now()

    def idle(self) -> bool:
        """Return whether the window is empty (the limiter can be forgotten)."""
        now = self.clock.now()
        return all(now - s[0] >= self.period for s in self._stamps)


# What Telegram counts against a chat's 20 a minute: messages sent and edited. Reading a
# chat (getChat, getChatMember...), deleting and answering presses are not flood-limited,
# and must not queue behind a group's full window.
COUNTED_PREFIXES = ("send", "edit", "copy", "forward")


def counted(endpoint: str) -> bool:
    """Return whether a Bot API method counts against the flood limits."""
    return endpoint.lower().startswith(COUNTED_PREFIXES)


class SlidingWindowRateLimiter(BaseRateLimiter[int]):
    """A global window for every message, a window per group or channel, one per private
    chat, and retries after a 429. Waiting is per chat: a 429 pauses only the chat it came
    from (Telegram's group, channel and private-chat limits are per chat), so a busy
    organisers' group or channel never holds private chats back; only the global window is
    shared."""

    def __init__(
        self,
        *,
        per_second: int = 30,
        global_period: float = 1.0,
        group_limit: int = 20,
        group_period: float = 60.0,
        private_limit: int | None = None,
        private_period: float = 1.0,
        max_retries: int = 5,
        clock: Clock | None = None,
    ) -> None:
        self._clock = clock or Clock()
        self._global = SlidingWindow(per_second, global_period, self._clock)
        self._group_limit = group_limit
        self._group_period = group_period
        self._groups: dict[int | str, SlidingWindow] = {}
        # None: a private chat has only the global window.
        self._private_limit = private_limit
        self._private_period = private_period
        self._privates: dict[int | str, SlidingWindow] = {}
        self._max_retries = max_retries
        # chat id (None: requests without a chat) -> monotonic time its 429 pause ends.
        self._paused_until: dict[int | str | None, float] = {}

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    def _window(
        self, table: dict[int | str, SlidingWindow], chat_id: int | str, limit: int, period: float
    ) -> SlidingWindow:
        if len(table) > 512:
            for key, window in list(table.items()):
                if window.idle():
                    del table[key]
        if chat_id not in table:
            table[chat_id] = SlidingWindow(limit, period, self._clock)
        return table[chat_id]

    def _group(self, chat_id: int | str) -> SlidingWindow:
        return self._window(self._groups, chat_id, self._group_limit, self._group_period)

    def _chat_window(self, endpoint: str, chat_id: int | str) -> SlidingWindow | None:
        """The per-chat window a request waits for, if it counts against one."""
        if not counted(endpoint):
            return None
        # Negative ids and @usernames are groups and channels: Telegram's 20-a-minute.
        if isinstance(chat_id, str) or chat_id < 0:
            return self._group(chat_id)
        if self._private_limit is None:
            return None
        return self._window(self._privates, chat_id, self._private_limit, self._private_period)

    async def _wait_unpaused(self, chat_id: int | str | None) -> None:
        """Wait while Telegram asked this chat (and only this one) to slow down."""
        while True:
            until = self._paused_until.get(chat_id)
            now = self._clock.now()
            if until is None:
                return
            if now >= until:
                self._paused_until.pop(chat_id, None)
                return
            await self._clock.sleep(until - now)

    def _pause(self, chat_id: int | str | None, seconds: float) -> None:
        until = self._clock.now() + seconds + 0.05
        self._paused_until[chat_id] = max(until, self._paused_until.get(chat_id, 0.0))

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSON:
        """Wait for room in the windows, run the request, retry it after a 429."""
        chat_id: int | str | None = data.get("chat_id")
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)  # type: ignore[arg-type]
        max_retries = self._max_retries if rate_limit_args is None else rate_limit_args
        attempt = 0
        while True:
            await self._wait_unpaused(chat_id)
            held: list[tuple[SlidingWindow, list[float]]] = []
            if chat_id is not None:
                window = self._chat_window(endpoint, chat_id)
                if window is not None:
                    held.append((window, await window.acquire()))
                held.append((self._global, await self._global.acquire()))
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt >= max_retries:
                    raise
                attempt += 1
                seconds = retry_seconds(exc)
                log.warning(
                    "Telegram asked to slow down (%s, chat %s): waiting %.1f s",
                    endpoint,
                    chat_id,
                    seconds,
                )
                self._pause(chat_id, seconds)
            finally:
                for window, stamp in held:
                    window.done(stamp)
