"""``livredor health``: is the running bot alive? (the container's healthcheck)

``livredor run`` touches a heartbeat file beside the database every ``BEAT_SECONDS`` from its
event loop, and removes it on a clean stop. ``livredor health`` reads the file's age: no Bot
API call, no database access, so it says whether this bot runs, not whether Telegram answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from pathlib import Path

from config.settings import Settings

BEAT_SECONDS = 15.0
# Three missed beats: the event loop is stuck or the process is gone.
STALE_SECONDS = 3 * BEAT_SECONDS + 5


def heartbeat_path(database: Path) -> Path:
    """Where ``run`` beats for this database."""
    return Path(f"{database}.alive")


async def beat(path: Path) -> None:
    """Touch ``path`` every ``BEAT_SECONDS`` until cancelled; then remove it."""
    try:
        while True:
            path.touch(mode=0o600)  # noqa: ASYNC240 - a tiny write, once in 15 s
            os.utime(path)
            await asyncio.sleep(BEAT_SECONDS)
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
    print(f"Alive: heartbeat {age:.0f} s ago.")
    return 0
