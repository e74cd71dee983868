"""Fixtures for the fake Telegram's own tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Bot

from bot.sandbox import FakeRequest, FakeTelegram

ALICE = 1001
BOB = 1002
GROUP = -1001000000001
CHANNEL = -1001000000002


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """A fake with two users, the organisers' supergroup (Alice admin) and a channel."""
    tg = FakeTelegram()
    tg.add_user(ALICE, "Alice", username="alice")
    tg.add_user(BOB, "Bob", language_code="fr")
    tg.add_group(GROUP, "Organisers", admins=[ALICE], members=[BOB])
    tg.add_channel(CHANNEL, "Livre d'or", username="livredor_channel")
    yield tg
    await tg.aclose()
    assert tg.unknown_methods == []


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    """A PTB Bot talking to the fake in process."""
    async with Bot(
        fake.token, request=FakeRequest(fake), get_updates_request=FakeRequest(fake)
    ) as b:
        yield b


async def call(fake: FakeTelegram, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    """A raw Bot API call, parameters typed as in a JSON body."""
    return await fake.handle(fake.token, method, params)


async def error_of(fake: FakeTelegram, method: str, **params: Any) -> tuple[int, str]:
    """(error_code, description) of a call that must fail."""
    status, body = await call(fake, method, **params)
    assert not body["ok"], body
    assert body["error_code"] == status
    return status, body["description"]
