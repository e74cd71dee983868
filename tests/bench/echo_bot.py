"""A bare python-telegram-bot echo bot, the webhook benchmark's baseline over real HTTP.

    LIVREDOR_BOT_TOKEN=... LIVREDOR_API_BASE_URL=... python -m tests.bench.echo_bot

One reply per update (``tests.bench.intake.echo``), with livredor's ``Defaults`` and
concurrency (``bot/app.py``), long polling until SIGTERM; with ``LIVREDOR_WEBHOOK_URL`` (and
``_LISTEN``, ``_PORT``, ``_SECRET``), PTB's webhook server instead.

Its HTTP client is PTB's default (httpx), with a pool of 8 connections as livredor's: the
baseline is a bare PTB bot. With ``ECHO_TRANSPORT=livredor`` it uses livredor's own client
instead (``bot/services/telegram_http.py``, the same pools), to tell how much of livredor's
figure is its transport and how much the rest.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, Defaults, TypeHandler

from bot.services.telegram_http import AiohttpRequest
from tests.bench.intake import echo


def main() -> None:
    """Build the echo bot from the environment and poll."""
    builder = (
        ApplicationBuilder()
        .token(os.environ["LIVREDOR_BOT_TOKEN"])
        .base_url(os.environ["LIVREDOR_API_BASE_URL"])
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .concurrent_updates(1024)
    )
    if os.environ.get("ECHO_TRANSPORT") == "livredor":
        builder = builder.request(AiohttpRequest(8, pool_timeout=30.0))
        builder = builder.get_updates_request(AiohttpRequest())
    else:
        builder = builder.connection_pool_size(8).pool_timeout(30.0)
    app = builder.build()
    app.add_handler(TypeHandler(Update, echo))
    url = os.environ.get("LIVREDOR_WEBHOOK_URL")
    if url:
        # PTB's own webhook server (livredor serves its webhook itself: bot/services/webhook.py).
        app.run_webhook(
            listen=os.environ["LIVREDOR_WEBHOOK_LISTEN"],
            port=int(os.environ["LIVREDOR_WEBHOOK_PORT"]),
            url_path=urlsplit(url).path.lstrip("/"),
            webhook_url=url,
            secret_token=os.environ["LIVREDOR_WEBHOOK_SECRET"],
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
