"""A running bot with a hashtag and two sessions, for the wall's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support import Harness
from tests.wall.support import wall_bot


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot on a fresh database, posting with the event's hashtag."""
    async with wall_bot(tmp_path) as harness:
        yield harness
