"""``build_application``: the one place where the bot is assembled and handlers registered."""

from __future__ import annotations

import contextlib
import logging

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest

from bot import account, intake, moderation
from bot.cards import Moderation
from bot.publishing import Publisher
from bot.ratelimit import PerUserUpdateProcessor, SlidingWindowRateLimiter
from bot.services import SERVICES_KEY, Services, services
from bot.texts import Texts
from config.settings import Settings
from storage.testimonials import Repository

log = logging.getLogger(__name__)

#: The update types the bot handles: Telegram sends nothing else (less traffic, less noise).
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]


def build_application(
    settings: Settings,
    repo: Repository,
    *,
    texts: Texts | None = None,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
) -> Application:  # type: ignore[type-arg]
    """Assemble the bot: PTB application, services in ``bot_data``, handlers, workers.

    ``request``/``updates_request`` replace PTB's HTTP client (the in-process fake Telegram
    in tests); in production the Bot API is reached at ``settings.api_base_url``.
    """
    texts = texts or Texts.load(settings.texts, settings.default_language)
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.api_base_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(
            SlidingWindowRateLimiter(
                per_second=settings.messages_per_second,
                group_limit=settings.group_messages_per_minute,
                group_period=settings.group_rate_period_seconds,
            )
        )
        .concurrent_updates(PerUserUpdateProcessor())
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(updates_request or request)
    else:
        # PTB's default pool (256 connections) lets a busy bot fall into a slow state it does
        # not leave; 8 connections measured steadier and faster (tests/bench/README.md).
        builder = builder.connection_pool_size(8).pool_timeout(30.0)
    app = builder.build()

    svc = Services(settings=settings, repo=repo, texts=texts)
    svc.moderation = Moderation(app.bot, repo, texts, settings)
    svc.publisher = Publisher(app.bot, repo, texts, settings, svc.moderation)
    app.bot_data[SERVICES_KEY] = svc

    # Note: order matters. Intake (private chats) and moderation (the organisers' group)
    # filter on disjoint chats; the catch-all for unknown buttons must come last.
    # /language, /mine, /forget before intake: intake ends with a catch-all for commands.
    for group, handler in account.handlers():
        app.add_handler(handler, group=group)
    for group, handler in intake.handlers():
        app.add_handler(handler, group=group)
    for group, handler in moderation.handlers(settings):
        app.add_handler(handler, group=group)
    for group, handler in moderation.fallback_handlers():
        app.add_handler(handler, group=group)
    app.add_error_handler(on_error)
    return app


async def start_workers(app: Application) -> None:  # type: ignore[type-arg]
    """Learn the bot's username, then start the card sender and the publisher (call after
    ``app.initialize()``)."""
    svc: Services = app.bot_data[SERVICES_KEY]
    me = await app.bot.get_me()
    svc.bot_username = me.username
    assert svc.moderation is not None and svc.publisher is not None
    svc.moderation.bot_username = me.username
    await svc.moderation.start()
    await svc.publisher.start()
    log.info("started as @%s", me.username)


async def stop_workers(app: Application) -> None:  # type: ignore[type-arg]
    """Stop the workers (what they had in hand is in the database)."""
    svc: Services = app.bot_data[SERVICES_KEY]
    if svc.publisher is not None:
        await svc.publisher.stop()
    if svc.moderation is not None:
        await svc.moderation.stop()


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log any error a handler did not expect; tell the person their data is safe."""
    error = context.error
    if isinstance(error, Forbidden):
        log.info("Telegram refused a message: %s", error.message)
        return
    log.error("error while handling an update", exc_info=error)
    if isinstance(update, Update) and update.effective_chat is not None:
        chat = update.effective_chat
        if chat.type == "private":
            svc = services(context)
            user = update.effective_user
            lang = svc.texts.language(user.language_code if user else None)
            with contextlib.suppress(TelegramError):
                await chat.send_message(svc.texts(lang, "common.error"))
