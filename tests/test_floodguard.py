"""The per-person flood guard, on a fake clock."""

from __future__ import annotations

from bot.services.floodguard import FloodGuard


def flood(guard: FloodGuard, clock: list[float], messages: int, slow_every: int) -> int:
    """Send ``messages`` as fast as the guard lets them through, handling every
    ``slow_every``-th one slower than the guard's interval; return how many warnings came."""
    warnings = 0
    for i in range(messages):
        wait, warn = guard.delay_for(1)
        warnings += warn
        clock[0] += wait + (2.0 * guard.interval if i % slow_every == 0 else 0.001)
    return warnings


def test_one_flood_is_warned_about_once_even_when_handling_is_slow() -> None:
    clock = [0.0]
    guard = FloodGuard(rate=5.0, burst=20, clock=lambda: clock[0])
    assert flood(guard, clock, 300, slow_every=10) == 1
    # A pause long enough for the budget to fill again: the next flood is a new one.
    clock[0] += 60.0
    assert flood(guard, clock, 300, slow_every=10) == 1


def test_a_calm_person_is_never_held_back() -> None:
    clock = [0.0]
    guard = FloodGuard(rate=5.0, burst=20, clock=lambda: clock[0])
    for _ in range(100):
        assert guard.delay_for(2) == (0.0, False)
        clock[0] += guard.interval
