"""The clock the bot's waits are measured on: flood limits, the flood guard, back-offs."""

from __future__ import annotations

import asyncio
import time


class Clock:
    """Monotonic seconds and a sleep measured on them. The bot's waits (Telegram's flood
    limits and ``retry_after``, the per-person flood guard, the card sender's and the
    publisher's back-offs) all read and wait on the one clock ``build_application`` is
    given, so that a test can run them on a fake one (``tests/support.py``) without waiting
    for real, and the fake Telegram on the same clock agrees on what time it is."""

    __slots__ = ()

    def now(self) -> float:
        """Return monotonic seconds."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on this clock."""
        await asyncio.sleep(seconds)
