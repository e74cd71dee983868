"""Sending, editing and answering on Telegram: the answers a press or a message gets
(handlers and services use these; the parse mode is PTB's ``Defaults``, bot/app.py)."""

from __future__ import annotations

import html
import logging
from typing import Any

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    Update,
)
from telegram import User as TgUser
from telegram.error import BadRequest, Forbidden

from bot.services.images import blank_image
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


async def send_text(
    bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> int:
    """Send an HTML message (PTB's ``Defaults``, bot/app.py); return its id."""
    sent = await bot.send_message(chat_id, text, reply_markup=markup)
    return sent.message_id


async def edit_text(
    bot: Bot, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Replace a message's text and buttons (none: the buttons go), as ``send_text`` does."""
    await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=markup)


async def replace_with_notice(bot: Bot, chat_id: int, message_id: int, text: str) -> bool:
    """Replace a message's text with ``text`` and take its buttons away (an organiser's
    /review message or list whose testimonial was withdrawn or forgotten). Return whether it
    now says so: False when it is gone or the bot was blocked."""
    try:
        await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=None)
    except BadRequest as exc:
        if classify(exc) is Refusal.NOT_MODIFIED:
            return True
        log.info("could not replace message %d: %s", message_id, exc.message)
        return False
    except Forbidden:
        return False
    return True


async def blank(bot: Bot, chat_id: int | str, message_id: int, text: str) -> None:
    """Make a message the bot may no longer delete (Telegram's 48 hours) say ``text`` and
    nothing else, its buttons gone: its text replaced, or, a photo's, the photo itself
    replaced by a neutral image with ``text`` as its caption (one ``editMessageMedia``).
    Already saying so is done; Telegram's other refusals are the caller's to handle."""
    try:
        await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        return
    except BadRequest as exc:
        refusal = classify(exc)
        if refusal is Refusal.NOT_MODIFIED:
            return
        if refusal is not Refusal.NO_TEXT:
            raise
    # A photo (its words are the caption, the image is the author's): both go at once.
    await bot.edit_message_media(
        InputMediaPhoto(blank_image(), caption=text), chat_id=chat_id, message_id=message_id
    )


async def edit_buttons(
    bot: Bot, chat_id: int, message_id: int, markup: InlineKeyboardMarkup | None
) -> None:
    """Replace a message's buttons (none: they go), its text unchanged."""
    await bot.edit_message_reply_markup(chat_id, message_id, reply_markup=markup)


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
