"""Sending, editing and answering on Telegram: one home for the parse mode's defaults and
for the answers a press or a message gets (handlers and services use these)."""

from __future__ import annotations

import html
import logging
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
from telegram.error import BadRequest

from bot.services.telegram_errors import Refusal, classify

log = logging.getLogger(__name__)


def profile_name(user: TgUser) -> str:
    """Return the name on a Telegram profile."""
    return " ".join(p for p in (user.first_name, user.last_name) if p).strip()


def plain(text: str) -> str:
    """Return the plain text of a one-line HTML text (a ``Texts`` sentence, escaped values in
    it) for where Telegram shows text as it is: button labels, answers to a press."""
    return html.unescape(text)


def button(label: str, data: str) -> InlineKeyboardButton:
    """Return an inline button that sends ``data`` back; ``label`` is HTML, as every text."""
    return InlineKeyboardButton(plain(label), callback_data=data)


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
    """Answer a button press (``text``: HTML, as every text, shown as plain text); a press
    delivered again after a crash was answered already (Telegram then says the query is too
    old), which is no reason to fail the update."""
    try:
        await query.answer(plain(text) if text is not None else None, **kwargs)
    except BadRequest as exc:
        if classify(exc) is not Refusal.QUERY_EXPIRED:
            raise
        log.info("button press answered already (delivered again): %s", exc.message)


async def drop_buttons(query: CallbackQuery) -> None:
    """Remove a pressed keyboard, so old buttons cannot be pressed again by mistake."""
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as exc:
        if classify(exc) is not Refusal.NOT_MODIFIED:
            log.info("could not remove buttons: %s", exc.message)
