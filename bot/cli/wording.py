"""How the commands say a number of things: "1 testimonial", "2 testimonials" (the house
rule of bot/texts/: no "(s)" left to the reader). The commands speak English only."""

from __future__ import annotations


def counted(count: int, one: str, other: str | None = None) -> str:
    """``count`` and the noun that goes with it (``other``: the plural, if not ``one``+"s")."""
    noun = one if count == 1 else (other or f"{one}s")
    return f"{count:,} {noun}"
