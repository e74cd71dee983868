"""The sliding window never lets more than ``limit`` requests count in any ``period``."""

from __future__ import annotations

import random
from collections.abc import Callable

from bot.services import limiter
from tests.support import VirtualClock


class SteppedClock(VirtualClock):
    """A fake clock at 1000 s that moves only when the limiter sleeps, ``before`` each move
    (the test never waits for real)."""

    def __init__(self, before: Callable[[], None] = lambda: None) -> None:
        super().__init__(start=1000.0)
        self.before = before

    async def sleep(self, seconds: float) -> None:
        self.before()
        self.t += seconds


async def test_window_holds_with_answers_arriving_out_of_order() -> None:
    open_: list[list[float]] = []

    def answer_all() -> None:
        # The requests in flight are answered while a new one waits (an answer arrives
        # within the period: the window counts a request from its start until then, and
        # cannot know of a slower answer).
        while open_:
            window.done(open_.pop())

    clock = SteppedClock(answer_all)
    window = limiter.SlidingWindow(5, 1.0, clock)
    rng = random.Random(14)
    stamps: list[list[float]] = []
    for _ in range(400):
        stamp = await window.acquire()
        now = clock.t
        # Every request counts from its answer (or from now if still unanswered).
        live = [s for s in stamps if now - s[0] < 1.0]
        assert len(live) < 5, f"{len(live) + 1} requests in one second at {now}"
        stamps.append(stamp)
        open_.append(stamp)
        clock.t += rng.choice([0.0, 0.01, 0.05, 0.3])
        # Answer random open requests (out of order), and any in flight for 0.5 s.
        for _ in range(rng.choice([0, 1, 1, 2])):
            if open_:
                window.done(open_.pop(rng.randrange(len(open_))))
        for stamp in [s for s in open_ if clock.t - s[0] >= 0.5]:
            open_.remove(stamp)
            window.done(stamp)
    assert clock.t - 1000.0 >= (400 / 5 - 1) * 1.0  # it did wait: at most 5 a second


async def test_private_chat_window_when_set() -> None:
    clock = SteppedClock()
    rate = limiter.SlidingWindowRateLimiter(
        per_second=1000, global_period=0.1, private_limit=1, private_period=0.25, clock=clock
    )
    sent: list[tuple[str, int, float]] = []

    async def request(endpoint: str, chat: int) -> None:
        async def callback() -> bool:
            sent.append((endpoint, chat, clock.t))
            return True

        await rate.process_request(callback, (), {}, endpoint, {"chat_id": chat}, None)

    await request("sendMessage", 111)
    await request("sendMessage", 222)  # another private chat: its own window
    await request("answerCallbackQuery", 111)  # not a message: no window
    await request("editMessageText", 111)  # the same chat: one period later
    times = [t - 1000.0 for _, _, t in sent]
    assert times[:3] == [0.0, 0.0, 0.0]
    assert times[3] >= 0.25
    # Without a private limit, a private chat has only the global window.
    free = limiter.SlidingWindowRateLimiter(per_second=1000)
    assert free._chat_window("sendMessage", 111) is None
    assert free._chat_window("sendMessage", -100123) is not None
