"""Small helpers every private-chat and group handler shares."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram import User as TgUser
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.services.container import Services, services
from storage.models import Testimonial, User

log = logging.getLogger(__name__)


def profile_name(user: TgUser) -> str:
    """Return the name on a Telegram profile."""
    return " ".join(p for p in (user.first_name, user.last_name) if p).strip()


def button(label: str, data: str) -> InlineKeyboardButton:
    """Return an inline button that sends ``data`` back."""
    return InlineKeyboardButton(label, callback_data=data)


def user_language(svc: Services, tg_user: TgUser, user: User | None) -> str:
    """Return the language chosen with /language, else the Telegram app's, else the default."""
    if user is not None and user.language:
        return user.language
    return svc.texts.language(tg_user.language_code)


async def load_person(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, allow_banned: bool = False
) -> tuple[Services, str, Testimonial | None, User | None]:
    """Read the sender's user row and open draft; stop if they are banned (unless
    ``allow_banned``: a ban stops submissions, never withdrawal or erasure)."""
    svc = services(context)
    tg_user = update.effective_user
    assert tg_user is not None
    user, draft = await svc.repo.get_user_and_draft(tg_user.id)
    lang = user_language(svc, tg_user, user)
    if user is not None and user.banned and not allow_banned:
        await reply(update, svc.texts(lang, "common.banned"))
        raise ApplicationHandlerStop
    return svc, lang, draft, user


#: What PTB's ``Defaults`` (bot/app.py) add to the messages it builds; ``do_api_request``
#: does not add them, so ``send_text`` and ``edit_text`` do.
TEXT_DEFAULTS: dict[str, Any] = {
    "parse_mode": "HTML",
    "link_preview_options": {"is_disabled": True},
}
#: PTB warns at each ``do_api_request`` for a method it has: here that is the point.
RAW_CALL_WARNING = r"Please use 'Bot\.\w+' instead of 'Bot\.do_api_request"


async def send_text(
    bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> int:
    """Send an HTML message; return its id.

    Not ``bot.send_message``: that builds PTB's ``Message`` from Telegram's answer (about
    0.1 ms of CPU, as much as the rest of a conversation step), and only the id is read.
    """
    params: dict[str, Any] = {"chat_id": chat_id, "text": text, **TEXT_DEFAULTS}
    if markup is not None:
        params["reply_markup"] = markup
    sent = await bot.do_api_request("sendMessage", api_kwargs=params)
    return int(sent["message_id"])


async def edit_text(
    bot: Bot, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Replace a message's text and buttons (none: the buttons go), as ``send_text`` does."""
    params: dict[str, Any] = {
        "chat_id": chat_id,
        "message_id": message_id,
        "text": text,
        **TEXT_DEFAULTS,
    }
    if markup is not None:
        params["reply_markup"] = markup
    await bot.do_api_request("editMessageText", api_kwargs=params)


async def reply(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Send a message to the chat the update came from."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await chat.send_message(text, reply_markup=markup)


async def reply_text(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> int | None:
    """Send a message to the chat the update came from; return its id (``send_text``)."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await send_text(update.get_bot(), chat.id, text, markup)


async def answer_query(query: CallbackQuery, text: str | None = None, **kwargs: Any) -> None:
    """Answer a button press; a press delivered again after a crash was answered already
    (Telegram then says the query is too old), which is no reason to fail the update."""
    try:
        await query.answer(text, **kwargs)
    except BadRequest as exc:
        if "query is too old" not in exc.message.lower() and "query id is invalid" not in (
            exc.message.lower()
        ):
            raise
        log.info("button press answered already (delivered again): %s", exc.message)


async def drop_buttons(query: CallbackQuery) -> None:
    """Remove a pressed keyboard, so old buttons cannot be pressed again by mistake."""
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            log.info("could not remove buttons: %s", exc.message)


Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def private_only(callback: Callback) -> Callback:
    """Bind a button handler to private chats: a press on a message of another chat (a
    forged ``forget:no`` on a card in the organisers' group) is answered and does nothing."""

    @functools.wraps(callback)
    async def bound(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:
            query = update.callback_query
            log.warning("private button pressed in chat %s: ignored", chat.id if chat else None)
            if query is not None:
                svc = services(context)
                text = svc.texts(svc.settings.default_language, "moderation.unknown_button")
                await answer_query(query, text, show_alert=True)
            return
        await callback(update, context)

    return bound
