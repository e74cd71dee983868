"""Shared fixtures: a running bot against the in-process fake Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e import forkserver
from tests.support import Harness, VirtualClock, running_bot

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seed" / "000_6078c713f019cbe3.txt"


def pytest_configure(config: pytest.Config) -> None:
    """The CLI's child processes are forked from a server that has imported livredor
    (tests/e2e/forkserver.py; ``TESTS_NO_FORK=1`` starts each one afresh)."""
    forkserver.enable()


def pytest_unconfigure(config: pytest.Config) -> None:
    forkserver.close_all()


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot, started on a fresh database, with a fake holding a group and a channel."""
    async with running_bot(tmp_path) as h:
        yield h


@pytest.fixture
async def virtual_harness(tmp_path: Path) -> AsyncIterator[Harness]:
    """``harness``, its waits on a ``VirtualClock`` (Telegram's flood limits and
    ``retry_after``, the flood guard, back-offs): they cost no real time."""
    async with running_bot(tmp_path, clock=VirtualClock()) as h:
        yield h


@pytest.fixture
def seed_text() -> str:
    """The seed livre d'or (skips where ../shared/seed is absent)."""
    if not SEED.is_file():
        pytest.skip(f"seed document not found at {SEED} (CI has ../shared/seed/)")
    return SEED.read_text(encoding="utf-8")
