"""What the bot's background workers share (the card sender, the publisher, the backlog)."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


async def stop_task(task: asyncio.Task[None] | None) -> None:
    """Cancel a worker task and wait for it to end. Cancel again if a cancellation was
    swallowed (``asyncio.wait_for`` in Python 3.11 can lose one that lands as it returns)."""
    while task is not None and not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)
    if task is not None and not task.cancelled() and task.exception() is not None:
        log.error("worker ended with an error", exc_info=task.exception())
