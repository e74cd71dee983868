"""The /review messages that show a testimonial's words, in organisers' private chats.

Every such message is recorded (``review_messages``) with what it shows, so that its
author's /forget or withdrawal erases it there too (``erase_shown``), even a message sent
while the erasure was running (``record`` erases it at once if the testimonial is gone
already; /forget erases again once the rows are gone, for one recorded in between).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import Bot
from telegram.error import BadRequest, Forbidden

from bot.services.bulk import erase_lists
from bot.services.container import Services
from bot.services.messages import blank, replace_with_notice
from bot.services.telegram_errors import Refusal, classify
from storage.models import ReviewMessage

log = logging.getLogger(__name__)


async def record(
    svc: Services,
    bot: Bot,
    chat_id: int,
    message_id: int,
    tid: int | None,
    lang: str,
    *,
    live: bool = True,
) -> bool:
    """Record which testimonial a message shows now (None: none). If its author withdrew
    it or asked to be forgotten while it was being shown, the erasure has run already:
    erase this message now. Return whether the message still shows the testimonial."""
    if tid is None:
        await svc.repo.unshow_review(chat_id, message_id)
        return False
    if await svc.repo.show_review(chat_id, message_id, tid, live=live, lang=lang):
        return True
    await erase(svc, bot, ReviewMessage(chat_id, message_id, tid, live, lang))
    return False


async def erase_shown(svc: Services, bot: Bot, testimonial_ids: Sequence[int]) -> int:
    """Erase from organisers' private chats every /review message that shows one of these
    testimonials (its author withdrew it or asked to be forgotten): the message with the
    buttons is edited to say so, the other parts are deleted. Return how many were erased.

    Each row is dropped once its message is erased, never before: a crash or a connection
    failure in between leaves it recorded, and the replay (or the next erasure) erases it
    again; one whose testimonial is no longer in the database is erased too."""
    erased = 0
    for shown in await svc.repo.review_messages_of(testimonial_ids):
        erased += await erase(svc, bot, shown)
        await svc.repo.drop_review_message(shown)
    # And a list of short ones ("Approve all") that shows one of them.
    return erased + await erase_lists(svc, bot, list(testimonial_ids))


async def erase(svc: Services, bot: Bot, shown: ReviewMessage) -> bool:
    """Erase one /review message: delete a part; edit the live one (or a part too old to
    delete: 48 hours, a photo's image replaced by a neutral one) to a neutral text. Return
    whether it was erased (False: already gone)."""
    text = svc.texts(shown.lang, "review.withdrawn")
    if shown.live:
        return await replace_with_notice(bot, shown.chat_id, shown.message_id, text)
    try:
        await bot.delete_message(shown.chat_id, shown.message_id)
        return True
    except BadRequest as exc:
        if classify(exc) is not Refusal.CANT_DELETE:
            return False  # already gone
    except Forbidden:
        return False  # the organiser blocked the bot: Telegram no longer shows it
    try:
        await blank(bot, shown.chat_id, shown.message_id, text)
    except (BadRequest, Forbidden) as exc:
        log.info("could not blank a /review message: %s", exc.message)
        return False
    return True
