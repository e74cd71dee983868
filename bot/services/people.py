"""Who sent an update: their user row, their open draft, their language; a ban stops them."""

from __future__ import annotations

from telegram import Update
from telegram import User as TgUser
from telegram.ext import ApplicationHandlerStop

from bot.services.container import Context, Services
from bot.services.messages import reply
from storage.models import Testimonial, User


def user_language(svc: Services, tg_user: TgUser, user: User | None) -> str:
    """Return the language chosen with /language, else the Telegram app's, else the default."""
    if user is not None and user.language:
        return user.language
    return svc.texts.language(tg_user.language_code)


async def load_person(
    update: Update, context: Context, *, allow_banned: bool = False
) -> tuple[Services, str, Testimonial | None, User | None]:
    """Read the sender's user row and open draft; stop if they are banned (unless
    ``allow_banned``: a ban stops submissions, never withdrawal or erasure)."""
    svc = context.bot_data.services
    tg_user = update.effective_user
    assert tg_user is not None
    user, draft = await svc.repo.get_user_and_draft(tg_user.id)
    lang = user_language(svc, tg_user, user)
    if user is not None and user.banned and not allow_banned:
        await reply(update, svc.texts(lang, "common.banned"))
        raise ApplicationHandlerStop
    return svc, lang, draft, user
