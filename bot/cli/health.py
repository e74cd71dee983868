"""``livredor health``: is the running bot alive? (the container's healthcheck)

``livredor run`` touches a heartbeat file beside the database every ``BEAT_SECONDS`` from its
event loop, and removes it on a clean stop. ``livredor health`` reads the file's age: no Bot
API call, no database access, so it says whether this bot runs, not whether Telegram answers.
The file holds the one problem the running bot cannot get past by itself, if any (the
organisers' group refuses it: the cards wait): then the bot is alive but not healthy.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from config.settings import Settings

BEAT_SECONDS = 15.0
# Three missed beats: the event loop is stuck or the process is gone.
STALE_SECONDS = 3 * BEAT_SECONDS + 5


def heartbeat_path(database: Path) -> Path:
    """Where ``run`` beats for this database."""
    return Path(f"{database}.alive")


def _no_problem() -> str | None:
    return None


async def beat(
    path: Path,
    problem: Callable[[], str | None] = _no_problem,
    changed: asyncio.Event | None = None,
) -> None:
    """Write ``problem()`` (empty if none) to ``path`` every ``BEAT_SECONDS``, and at once
    when ``changed`` is set, until cancelled; then remove it."""
    changed = changed or asyncio.Event()
    try:
        while True:
            changed.clear()
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with open(descriptor, "w", encoding="utf-8") as handle:  # noqa: ASYNC230 - tiny, rare
                handle.write(problem() or "")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), BEAT_SECONDS)
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # noqa: ASYNC240 - once, at the stop


def health(settings: Settings) -> int:
    """Return 0 if the bot beat recently, else 1 (with one sentence on stderr)."""
    path = heartbeat_path(settings.database)
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        print(f"Not running: no heartbeat at {path}.", file=sys.stderr)
        return 1
    if age > STALE_SECONDS:
        print(f"Not alive: the last heartbeat is {age:.0f} s old.", file=sys.stderr)
        return 1
    problem = path.read_text(encoding="utf-8").strip()
    if problem:
        print(f"Alive but not healthy: {problem}.", file=sys.stderr)
        return 1
    print(f"Alive: heartbeat {age:.0f} s ago.")
    return 0
