"""``build_application``: the one place where the bot is assembled and handlers registered."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.handlers import account, flood, moderation, review
from bot.handlers.intake import buttons, commands, edits, received
from bot.services import author_edits, menus
from bot.services.backlog import Backlog
from bot.services.bulk import commit_due
from bot.services.bulk_worker import BulkDesk
from bot.services.cards import CardDesk
from bot.services.clock import Clock
from bot.services.container import CONTEXT_TYPES, App, Context, Services
from bot.services.floodguard import FloodGuard
from bot.services.group import OrganisersGroup
from bot.services.inbox import (
    DurableUpdateQueue,
    InboxUpdateProcessor,
    RawUpdates,
    UpdatesRequest,
)
from bot.services.limiter import SlidingWindowRateLimiter
from bot.services.messages import answer_query
from bot.services.publishing import Publisher
from bot.services.questions import ANSWER_SAVED, ask, reask_open_questions
from bot.services.sessions import Sessions
from bot.services.telegram_http import AiohttpRequest
from bot.services.texts import Texts
from config.settings import Settings
from storage.database import is_out_of_space
from storage.inbox import Inbox
from storage.testimonials import Repository

log = logging.getLogger(__name__)

#: The update types the bot handles: Telegram sends nothing else (less traffic, less noise).
# chat_member: Telegram tells an admin bot when someone is promoted or demoted in the
# organisers' group; a demoted organiser loses the right to decide at once.
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.CHAT_MEMBER,
    # The bot's own membership: removed from the organisers' group, or added back.
    Update.MY_CHAT_MEMBER,
]


def build_application(
    settings: Settings,
    repo: Repository,
    *,
    texts: Texts | None = None,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    concurrent_updates: int = 1024,
    clock: Clock | None = None,
) -> App:
    """Assemble the bot: PTB application, services in ``bot_data``, handlers, workers.

    ``request``/``updates_request`` replace PTB's HTTP client (the in-process fake Telegram
    in tests); in production the Bot API is reached at ``settings.api_base_url``.
    ``concurrent_updates``: how many updates may be handled at once (PTB's
    ``concurrent_updates``; a test of what happens beyond it uses fewer). ``clock``: what
    the bot's waits are measured on (flood limits, the flood guard, back-offs): real time
    unless a test gives a fake one.
    """
    clock = clock or Clock()
    texts = texts or Texts.load(settings.texts, settings.default_language)
    inbox = Inbox(repo.db)
    # Updates are committed to the inbox before Telegram may consider them delivered, and
    # marked done once handled (bot/services/inbox.py says why this hook).
    raw_updates = RawUpdates()
    update_queue = DurableUpdateQueue(inbox, raw_updates)
    # What the disk could not take is handled again, from the queue, once it can.
    processor = InboxUpdateProcessor(inbox, concurrent_updates, requeue=update_queue.put_nowait)
    builder = (
        ApplicationBuilder()
        .context_types(CONTEXT_TYPES)
        .token(settings.token)
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(
            SlidingWindowRateLimiter(
                per_second=settings.messages_per_second,
                global_period=settings.global_rate_period_seconds,
                group_limit=settings.group_messages_per_minute,
                group_period=settings.group_rate_period_seconds,
                private_limit=settings.private_messages_per_second,
                private_period=settings.private_rate_period_seconds,
                clock=clock,
            )
        )
        .update_queue(update_queue)
        .concurrent_updates(processor)
    )
    if request is None:
        # The Bot API through aiohttp (bot/services/telegram_http.py says why), on 8
        # connections: PTB's default pool (256) let a busy bot fall into a slow state it did
        # not leave, 8 measured steadier and faster (tests/bench/README.md), and 8 keep-alive
        # connections carry far more than Telegram's 30 messages a second.
        request = AiohttpRequest(8, pool_timeout=30.0)
        updates_request = UpdatesRequest(raw_updates)
    builder = builder.request(request).get_updates_request(updates_request or request)
    app = builder.build()

    # Each worker is built whole, after what it uses: nothing is wired in afterwards.
    sessions = Sessions.load(settings.sessions)
    group = OrganisersGroup(app.bot, settings)
    backlog = Backlog(group, repo, texts, settings)
    desk = CardDesk(group, repo, texts, settings, sessions, backlog, clock)
    app.bot_data.services = Services(
        settings=settings,
        repo=repo,
        texts=texts,
        sessions=sessions,
        group=group,
        desk=desk,
        publisher=Publisher(app.bot, repo, texts, settings, group, desk, clock),
        backlog=backlog,
        bulk=BulkDesk(settings),
        update_queue=update_queue,
        processor=processor,
        flood=FloodGuard(clock=clock.now),
        clock=clock,
    )

    add_handlers(app, settings)
    app.add_error_handler(on_error)
    return app


def add_handlers(app: App, settings: Settings) -> None:
    """Register every handler of the bot, in order.

    Note: order matters. PTB tries the handlers of a group in the order they were added and
    runs the first that matches, so within group 0: commands before the catch-all for unknown
    commands, specific buttons before the catch-all for unknown buttons (last of all). The
    private chat's handlers and the organisers' group's filter on disjoint chats. Group -1
    (the per-person flood guard) runs before everything else for every update.
    """
    assert settings.organisers_chat_id is not None
    private = filters.ChatType.PRIVATE
    # PTB's CommandHandler also runs for an *edited* command: an edited "/start" or
    # "/cancel" must not run again; it reaches received_edit, which explains.
    command = private & filters.UpdateType.MESSAGE
    group = filters.Chat(settings.organisers_chat_id)
    app.add_handler(TypeHandler(Update, flood.flood_guard), group=-1)
    app.add_handlers(
        [
            # The attendee's account: /language, /mine, /forget and their buttons.
            CommandHandler("language", account.language, filters=command),
            CommandHandler("mine", account.mine, filters=command),
            CommandHandler("forget", account.forget, filters=command),
            CallbackQueryHandler(
                private_only(account.chose_language), pattern=account.LANGUAGE_PATTERN
            ),
            CallbackQueryHandler(private_only(account.mine_pressed), pattern=account.MINE_PATTERN),
            CallbackQueryHandler(
                private_only(account.forget_pressed), pattern=account.FORGET_PATTERN
            ),
            # The author's answer to an organiser's edit of their testimonial.
            CallbackQueryHandler(
                private_only(account.edit_answered), pattern=account.AUTHOR_EDIT_PATTERN
            ),
            # /review: organisers decide in their private chat (before the attendee's
            # catch-all for commands; the check that the sender organises is in it).
            CommandHandler("review", review.review_command, filters=command),
            CallbackQueryHandler(private_only(review.pressed), pattern=review.REVIEW_PATTERN),
            # The attendee's conversation: our commands, any other command, then answers.
            CommandHandler("start", commands.start, filters=command),
            CommandHandler("cancel", commands.cancel, filters=command),
            CommandHandler("help", commands.help_command, filters=command),
            MessageHandler(command & filters.COMMAND, commands.unknown_command),
            MessageHandler(
                private & filters.UpdateType.MESSAGE & filters.TEXT, received.received_text
            ),
            MessageHandler(
                private & filters.UpdateType.EDITED_MESSAGE & filters.TEXT, edits.received_edit
            ),
            MessageHandler(
                private & filters.UpdateType.MESSAGE & ~filters.TEXT, received.received_other
            ),
            CallbackQueryHandler(private_only(buttons.pressed), pattern=buttons.INTAKE_PATTERN),
            # The organisers' group: card buttons, commands, typed reasons and corrections.
            CallbackQueryHandler(moderation.pressed, pattern=moderation.MOD_PATTERN),
            CommandHandler("pending", moderation.pending_command, filters=group),
            CommandHandler("review", review.group_review, filters=group),
            CommandHandler("stats", moderation.stats_command, filters=group),
            CommandHandler(["ban", "unban"], moderation.ban_command, filters=group),
            CommandHandler("export", moderation.export_command, filters=group),
            MessageHandler(
                group & filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE,
                moderation.group_text,
            ),
            ChatMemberHandler(
                moderation.member_changed,
                ChatMemberHandler.CHAT_MEMBER,
                chat_id=settings.organisers_chat_id,
            ),
            ChatMemberHandler(
                moderation.bot_membership_changed,
                ChatMemberHandler.MY_CHAT_MEMBER,
                chat_id=settings.organisers_chat_id,
            ),
            # Last: any button nobody above matched (an old or forged one).
            CallbackQueryHandler(moderation.unknown_button),
        ]
    )


Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]


def private_only(callback: Callback) -> Callback:
    """Bind a button handler to private chats: a press on a message of another chat (a
    forged ``forget:no`` on a card in the organisers' group) is answered and does nothing."""

    @functools.wraps(callback)
    async def bound(update: Update, context: Context) -> None:
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:
            query = update.callback_query
            log.warning("private button pressed in chat %s: ignored", chat.id if chat else None)
            if query is not None:
                svc = context.bot_data.services
                text = svc.texts(svc.settings.default_language, "moderation.unknown_button")
                await answer_query(query, text, show_alert=True)
            return
        await callback(update, context)

    return bound


async def start_workers(app: App) -> None:
    """Register the bot's menus and description where Telegram's differ, then start the
    card sender, the publisher and the backlog's watch (call after ``app.initialize()``,
    which asked Telegram who the bot is: ``app.bot.username`` is known from then on)."""
    svc = app.bot_data.services
    username = app.bot.username
    svc.bot_username = username
    # Portrait files a crash left that no row names (written, its row never committed).
    await svc.repo.sweep_portraits()
    # Before any new update: what a previous run received but did not finish.
    replayed = await svc.update_queue.replay(app.bot)
    svc.processor.watch(replayed)
    # Then the questions a previous run cannot be sure reached the attendees.
    svc.reasking = asyncio.create_task(
        reask_open_questions(app.bot, svc, svc.processor), name="reask"
    )
    await menus.sync(app.bot, svc.texts, svc.settings)
    await svc.desk.learn_channel()
    await svc.desk.start()
    # Edits recorded for their authors but never shown to them (the bot stopped first).
    await author_edits.send_unsent(svc)
    await svc.publisher.start()
    await svc.backlog.start()
    await svc.bulk.start(functools.partial(commit_due, svc, app.bot))
    log.info("started as @%s", username)


async def stop_workers(app: App) -> None:
    """Stop the workers (what they had in hand is in the database)."""
    svc = app.bot_data.services
    if svc.reasking is not None and not svc.reasking.done():
        svc.reasking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await svc.reasking
    await svc.bulk.stop()
    await svc.backlog.stop()
    await svc.publisher.stop()
    await svc.desk.stop()


async def on_error(update: object, context: Context) -> None:
    """Log any error a handler did not expect; tell the person their data is safe."""
    error = context.error
    if isinstance(error, Forbidden):
        log.info("Telegram refused a message: %s", error.message)
        return
    out_of_space = error is not None and is_out_of_space(error)
    if out_of_space:
        # Not kept, not lost: left not done, handled again once the disk takes writes.
        context.bot_data.services.processor.not_saved(update)
        log.error("could not store what an update brought: %s", error)
    else:
        log.error("error while handling an update", exc_info=error)
    if isinstance(update, Update) and update.effective_chat is not None:
        chat = update.effective_chat
        if chat.type == "private":
            svc = context.bot_data.services
            tg_user = update.effective_user
            lang = svc.texts.language(tg_user.language_code if tg_user else None)
            with contextlib.suppress(TelegramError):
                if out_of_space:
                    await chat.send_message(svc.texts(lang, "common.not_saved"))
                    return
                if not ANSWER_SAVED.get():
                    await chat.send_message(svc.texts(lang, "common.error"))
                    return
                # The answer was committed, the reply failed: say it is saved, and ask the
                # open question (with its buttons) once more.
                user, draft = (
                    await svc.repo.get_user_and_draft(tg_user.id) if tg_user else (None, None)
                )
                lang = user.language if user is not None and user.language else lang
                saved = svc.texts(lang, "common.error_saved")
                if draft is not None and draft.step is not None:
                    await ask(update, svc, lang, draft, saved)
                else:
                    await chat.send_message(saved)
