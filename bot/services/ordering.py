"""Serialising each person's updates while different people's run concurrently."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

#: What PTB's own bound is set to: never reached (see ``PerUserUpdateProcessor``).
UNBOUNDED = 2**31 - 1


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Updates of different people run concurrently; one person's run one at a time, in
    order (the two halves of a long quote must be appended in the order they were sent).

    At most ``max_running`` updates run at once, but an update takes its slot only once it
    is its sender's turn. PTB's own bound is taken *before* ``do_process_update``: with it, a
    person who sends 5,000 messages would fill every slot with updates that only wait for
    their own earlier ones, and everyone else would wait behind them (28 s after 1,200). So
    PTB's bound is set out of reach and ours is taken after the person's lock: a flood holds
    one slot, whatever its size.
    """

    def __init__(self, max_running: int = 1024) -> None:
        super().__init__(UNBOUNDED)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: collections.Counter[int] = collections.Counter()
        self._running = asyncio.Semaphore(max_running)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run ``coroutine`` under the lock of the update's sender (or chat)."""
        key = sender_key(update)
        if key is None:
            await coroutine
            return
        async with self.person(key):
            await coroutine

    @asynccontextmanager
    async def person(self, key: int) -> AsyncIterator[None]:
        """Hold one person's turn (their updates wait; so does work done for them outside
        an update, like re-asking a question at start)."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] += 1
        try:
            async with lock, self._running:
                yield
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                self._locks.pop(key, None)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def sender_key(update: object) -> int | None:
    """The id whose turn an update waits for: its sender's (or its chat's)."""
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return None
