"""Webhook mode: the fake POSTs updates to the bot, with the secret header, until 2xx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot

from bot.sandbox import FakeTelegram
from tests.sandbox.conftest import ALICE, error_of


@dataclass
class Receiver:
    """A stand-in for the bot's webhook endpoint."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)  # answers to give, then 200
    received: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()

    async def hook(request: web.Request) -> web.Response:
        rec.received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response(status=rec.statuses.pop(0) if rec.statuses else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield rec
    await runner.cleanup()


async def test_delivery_with_secret(fake: FakeTelegram, bot: Bot, receiver: Receiver) -> None:
    fake.user_sends(ALICE, "queued before")
    assert await bot.set_webhook(receiver.url, secret_token="s3cr3t_-", allowed_updates=["message"])
    fake.user_sends(ALICE, "sent after")
    await fake.wait_for(lambda: len(receiver.received) == 2, 3.0)
    assert [secret for secret, _ in receiver.received] == ["s3cr3t_-", "s3cr3t_-"]
    assert [u["message"]["text"] for _, u in receiver.received] == ["queued before", "sent after"]
    assert [d.status for d in fake.webhook_deliveries] == [200, 200]
    await fake.wait_for(lambda: not fake.pending_updates, 1.0)
    info = await bot.get_webhook_info()
    assert info.url == receiver.url and info.pending_update_count == 0
    assert fake.allowed_updates == ["message"]


async def test_failed_delivery_is_retried(fake: FakeTelegram, bot: Bot, receiver: Receiver) -> None:
    fake.webhook_retry_delay = 0.05
    receiver.statuses = [500, 502]
    await bot.set_webhook(receiver.url)
    fake.user_sends(ALICE, "again and again")
    await fake.wait_for(lambda: len(fake.webhook_deliveries) == 3, 3.0)
    assert [d.status for d in fake.webhook_deliveries] == [500, 502, 200]
    assert {d.update_id for d in fake.webhook_deliveries} == {1}
    info = await bot.get_webhook_info()
    assert info.last_error_message is not None and "502" in info.last_error_message


async def test_unreachable_webhook_keeps_the_update(fake: FakeTelegram, bot: Bot) -> None:
    fake.webhook_retry_delay = 0.05
    await bot.set_webhook("http://127.0.0.1:9/nothing-listens-here")
    fake.user_sends(ALICE, "lost?")
    await fake.wait_for(lambda: len(fake.webhook_deliveries) >= 2, 3.0)
    assert fake.webhook_deliveries[0].status is None
    assert fake.webhook_deliveries[0].error
    # Switching back to polling gets it: nothing is lost.
    await bot.delete_webhook()
    updates = await bot.get_updates()
    assert updates[0].message is not None and updates[0].message.text == "lost?"


async def test_drop_pending_updates(fake: FakeTelegram, bot: Bot) -> None:
    fake.user_sends(ALICE, "old")
    await bot.delete_webhook(drop_pending_updates=True)
    assert fake.pending_updates == []


@pytest.mark.parametrize(
    ("url", "description"),
    [
        ("http://example.org/hook", "An HTTPS URL must be provided for webhook"),
        ("https://example.org:1234/hook", "ports 80, 88, 443 or 8443"),
    ],
)
async def test_webhook_url_rules(fake: FakeTelegram, url: str, description: str) -> None:
    status, text = await error_of(fake, "setWebhook", url=url)
    assert status == 400 and description in text


async def test_secret_token_rules(fake: FakeTelegram) -> None:
    status, text = await error_of(
        fake, "setWebhook", url="http://127.0.0.1:9/h", secret_token="no spaces!"
    )
    assert (status, text) == (400, "Bad Request: secret token contains unallowed characters")
