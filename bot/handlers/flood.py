"""The flood guard: runs first for every update (group -1), slows one person who floods the
bot, and only them."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from bot.services.container import Context


async def flood_guard(update: Update, context: Context) -> None:
    """Slow a person who floods the bot (only them: their updates are serialised)."""
    tg_user = update.effective_user
    chat = update.effective_chat
    if tg_user is None or chat is None or chat.type != ChatType.PRIVATE:
        return
    svc = context.bot_data.services
    wait, warn = svc.flood.delay_for(tg_user.id)
    if warn:
        lang = svc.texts.language(tg_user.language_code)
        await chat.send_message(svc.texts(lang, "common.slow_down"))
    if wait > 0:
        await svc.clock.sleep(wait)
