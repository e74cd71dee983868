"""Slowing down one person who sends dozens of messages a second, alone."""

from __future__ import annotations

import time
from collections.abc import Callable


class FloodGuard:
    """Per-person rate (GCRA): a flood is slowed for that person alone (their updates are
    serialised, so sleeping for one delays nobody else), with one warning per flood."""

    def __init__(
        self, rate: float = 5.0, burst: int = 20, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.clock = clock  # tests pass a fake one
        self.interval = 1.0 / rate
        self.tolerance = burst * self.interval
        # user id -> (theoretical arrival time of the next message, warned in this flood)
        self._state: dict[int, tuple[float, bool]] = {}

    def delay_for(self, user_id: int) -> tuple[float, bool]:
        """Count one message; return (seconds to hold it back, whether to warn now)."""
        now = self.clock()
        if len(self._state) > 10_000:
            self._state = {k: v for k, v in self._state.items() if v[0] > now}
        tat, warned = self._state.get(user_id, (now, False))
        if tat <= now:
            # Their budget is whole again: whatever flood came before is over. (Not when the
            # wait merely drops to 0: on a busy machine, handling one message can take
            # longer than the interval, and one flood would be warned about twice.)
            warned = False
        tat = max(tat, now)
        wait = max(0.0, tat - now - self.tolerance)
        self._state[user_id] = (tat + self.interval, warned or wait > 0)
        return wait, wait > 0 and not warned
