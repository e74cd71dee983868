"""Webhook delivery: the fake POSTs pending updates to the bot, like Telegram does."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp

from bot.sandbox.objects import WebhookDelivery
from bot.sandbox.world import World

__all__ = ["SECRET_HEADER", "deliver_forever"]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
log = logging.getLogger("bot.sandbox")


async def deliver_forever(fake: World) -> None:
    """POST pending updates one at a time, oldest first, until the webhook is deleted.

    An update is confirmed (dropped) only on a 2xx answer; anything else is retried after
    ``fake.webhook_retry_delay`` seconds, so delivery is at-least-once as with Telegram.
    """
    async with aiohttp.ClientSession() as session:
        while (config := fake.webhook) is not None:
            update = fake.first_pending_update()
            if update is None:
                await fake.wait_change(1.0)
                continue
            headers = {"Content-Type": "application/json"}
            if config.secret_token:
                headers[SECRET_HEADER] = config.secret_token
            status: int | None = None
            error: str | None = None
            try:
                async with session.post(
                    config.url,
                    data=json.dumps(update).encode(),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=fake.webhook_timeout),
                ) as response:
                    status = response.status
                    reason = response.reason or ""
                    await response.read()
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                error = f"Connection failed: {type(exc).__name__}: {exc}"
            fake.webhook_deliveries.append(
                WebhookDelivery(int(update["update_id"]), config.url, status, error, update)
            )
            if status is not None and 200 <= status < 300:
                fake.confirm_updates(int(update["update_id"]) + 1)
                continue
            config.last_error_date = int(fake.now())
            config.last_error_message = (
                error or f"Wrong response from the webhook: {status} {reason}"
            )
            log.info(
                "webhook delivery of update %s failed: %s",
                update["update_id"],
                config.last_error_message,
            )
            fake.notify()
            await asyncio.sleep(fake.webhook_retry_delay)
