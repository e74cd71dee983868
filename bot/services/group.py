"""The organisers' group as the bot writes into it."""

from __future__ import annotations

from telegram import Bot, ForceReply, InlineKeyboardMarkup, InputFile, Message, ReplyParameters

from bot.services.messages import blank
from config.settings import Settings


class OrganisersGroup:
    """The one writer into the organisers' group: the cards (``CardDesk``, through its one
    queue), the review backlog's summary and reminders, the publisher's alerts, the prompts
    for a reason or a correction and the exported book are sent, edited and deleted here.
    (A group command's short answer is a reply to that command, sent by its handler; a
    pressed card's buttons are swapped on the pressed message.)

    Telegram's flood limit for the group is kept by the application's rate limiter
    (bot/services/limiter.py), which sees every call made here."""

    def __init__(self, bot: Bot, settings: Settings) -> None:
        assert settings.organisers_chat_id is not None  # the settings require it to run
        self.bot = bot
        self.chat_id: int = settings.organisers_chat_id
        #: The organisers' language: what the group reads (cards, alerts, answers).
        self.lang = settings.default_language

    async def send(
        self,
        text: str,
        markup: InlineKeyboardMarkup | ForceReply | None = None,
        *,
        reply_to: int | None = None,
    ) -> Message:
        """Send a message to the group (``reply_to``: as a reply to that message, or on its
        own if it is gone)."""
        replying = (
            ReplyParameters(reply_to, allow_sending_without_reply=True)
            if reply_to is not None
            else None
        )
        return await self.bot.send_message(
            self.chat_id, text, reply_markup=markup, reply_parameters=replying
        )

    async def edit(
        self, message_id: int, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """Replace the text (and buttons: none, the buttons go) of a message of the group."""
        await self.bot.edit_message_text(
            text, chat_id=self.chat_id, message_id=message_id, reply_markup=markup
        )

    async def blank(self, message_id: int, text: str, *, chat_id: int | None = None) -> None:
        """Make a message of the group too old to delete say ``text`` only (a photo's image
        replaced by a neutral one): ``bot.services.messages.blank``. ``chat_id``: the chat
        it was sent to, when recorded (the group may have changed since)."""
        await blank(self.bot, self.chat_id if chat_id is None else chat_id, message_id, text)

    async def delete(self, message_id: int, *, chat_id: int | None = None) -> None:
        """Delete a message of the group (Telegram's error if it is gone or too old);
        ``chat_id`` as for ``blank``."""
        await self.bot.delete_message(self.chat_id if chat_id is None else chat_id, message_id)

    async def send_photo(
        self, photo: bytes, caption: str, markup: InlineKeyboardMarkup | None = None
    ) -> Message:
        """Send a photo (a testimonial's portrait, above its card) to the group."""
        return await self.bot.send_photo(self.chat_id, photo, caption=caption, reply_markup=markup)

    async def send_document(self, document: InputFile, caption: str) -> Message:
        """Send a file to the group."""
        return await self.bot.send_document(self.chat_id, document, caption=caption)
