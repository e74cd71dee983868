"""The worker behind /review's "Approve all": it commits each pressed list when its undo
window closes (what committing means is in bot/services/bulk.py, which it is given at
start: that module decides through the services this one must not import)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.services.workers import stop_task
from config.settings import Settings
from storage.models import utcnow

log = logging.getLogger(__name__)

#: Commit what is due at this time; return when the next window closes (None: nothing waits).
Commit = Callable[[datetime], Awaitable[datetime | None]]


class BulkDesk:
    """The worker that commits pressed lists when their undo window closes."""

    def __init__(self, settings: Settings) -> None:
        #: How long Undo is offered after "Approve all".
        self.window = timedelta(seconds=settings.review_undo_seconds)
        #: The time the windows are measured on (a test sets a fake one, then ``poke``s).
        self.clock: Callable[[], datetime] = utcnow
        self._wake = asyncio.Event()
        self._busy = False
        self._task: asyncio.Task[None] | None = None

    async def start(self, commit: Commit) -> None:
        """Start the worker: lists due during a stop are committed at once."""
        self._wake.set()
        self._task = asyncio.create_task(self._run(commit), name="bulk approvals")

    async def stop(self) -> None:
        """Stop the worker (a list it was committing is resumed at the next start)."""
        await stop_task(self._task)
        self._task = None

    def poke(self) -> None:
        """Look at the lists again (one was pressed or undone, or the test's clock moved)."""
        self._wake.set()

    def idle(self) -> bool:
        """Whether the worker waits (for a window to close, or for a press)."""
        return not self._wake.is_set() and not self._busy

    async def _run(self, commit: Commit) -> None:
        pause: float | None = None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)
            self._busy = True
            self._wake.clear()
            try:
                closes = await commit(self.clock())
                # Until the next window closes (a poke comes first if one is pressed).
                pause = (
                    max((closes - self.clock()).total_seconds(), 0.01)
                    if closes is not None
                    else None
                )
            except Exception:
                log.exception("bulk approvals: will try again")
                pause = 5.0
            finally:
                self._busy = False
