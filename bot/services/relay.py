"""The organisers write to an author through the bot ("Reply to the author"), and back.

The organiser's text reaches the author signed "the organisers" (never an organiser's name:
the author deals with the event, not with one person's account), as a message their app
opens a reply to (``ForceReply``). The author's reply to THAT message comes back into the
organisers' group as a reply to the testimonial's card; it is never taken as an answer to
their open question, nor as a new testimonial. Every message the bot writes for such an
exchange is recorded (``author_messages``), so that the author's /forget erases it, in
their chat and in the group. What people wrote is never logged.
"""

from __future__ import annotations

import logging

from telegram import Bot, ForceReply, Update
from telegram.error import BadRequest, Forbidden

from bot.services.container import Services
from bot.services.messages import reply
from bot.services.render import quote_paragraphs_html, split_html_paragraphs
from bot.services.telegram_errors import Refusal, classify
from storage.models import AuthorMessage, Testimonial

log = logging.getLogger(__name__)


async def to_author(svc: Services, bot: Bot, testimonial: Testimonial | None, note: str) -> str:
    """Send the organisers' ``note`` to a testimonial's author. Return the text key that
    tells the organisers how it went (sent, blocked, no author)."""
    if testimonial is None or testimonial.user_id is None:
        return "moderation.note_no_author"
    author_id = testimonial.user_id
    user = await svc.repo.get_user(author_id)
    if user is None:
        return "moderation.note_no_author"
    lang = user.language or testimonial.language
    number = (await svc.repo.own_numbers(author_id)).get(testimonial.id, testimonial.id)
    texts = svc.texts
    text = texts(lang, "author.from_organisers", number=number, note=note)
    placeholder = texts.raw(lang, "author.answer_placeholder")
    try:
        sent = await bot.send_message(
            author_id, text, reply_markup=ForceReply(input_field_placeholder=placeholder)
        )
    except Forbidden:
        await svc.repo.set_blocked_bot(author_id, True)
        log.info("organisers' message to the author of #%d: blocked", testimonial.id)
        return "moderation.note_blocked"
    await svc.repo.record_author_message(
        author_id,
        sent.message_id,
        author_id=author_id,
        testimonial_id=testimonial.id,
        kind="to_author",
    )
    log.info("organisers' message sent to the author of #%d", testimonial.id)
    return "moderation.note_sent"


async def from_author(update: Update, svc: Services, bot: Bot, lang: str) -> bool:
    """If this private message replies to an organisers' message, take it to the group
    (under the card) and return True: it is not an answer to the open question."""
    message = update.effective_message
    tg_user = update.effective_user
    if message is None or tg_user is None or message.text is None:
        return False
    asked = message.reply_to_message
    if asked is None or asked.from_user is None or asked.from_user.id != bot.id:
        return False
    found = await svc.repo.find_author_message(message.chat_id, asked.message_id)
    if found is None or found.kind != "to_author" or found.author_id != tg_user.id:
        return False
    if await svc.repo.was_relayed(tg_user.id, message.message_id):
        return True  # delivered again (a replay after a restart): relayed once
    testimonial = await svc.repo.get(found.testimonial_id) if found.testimonial_id else None
    group, texts = svc.group, svc.texts
    header = texts(group.lang, "moderation.author_answer", id=found.testimonial_id or "?")
    parts = split_html_paragraphs(header, quote_paragraphs_html(message.text))
    card = (
        testimonial.card_message_ids[-1] if testimonial and testimonial.card_message_ids else None
    )
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        sent = await group.send(part, reply_to=card if i == 0 else None)
        # The last part marks the author's message as relayed: a crash before it sends the
        # answer again (each part sent is recorded, so /forget still finds it).
        await svc.repo.record_author_message(
            group.chat_id,
            sent.message_id,
            author_id=tg_user.id,
            testimonial_id=found.testimonial_id,
            kind="from_author",
            source_message_id=message.message_id if last else None,
        )
    log.info("author's answer about #%s relayed to the organisers", found.testimonial_id)
    await reply(update, svc.texts(lang, "author.answer_relayed"))
    return True


async def erase(svc: Services, bot: Bot, author_id: int) -> int:
    """Erase every message of an author's exchanges with the organisers (their /forget):
    delete each, or, when Telegram no longer allows it (48 hours), blank it. Return how
    many were erased. Each row is dropped once its message is erased, never before: a
    crash or a connection failure in between erases it again at the replay."""
    erased = 0
    for shown in await svc.repo.author_messages_of(author_id):
        erased += await _erase_one(svc, bot, shown)
        await svc.repo.drop_author_message(shown.chat_id, shown.message_id)
    return erased


async def _erase_one(svc: Services, bot: Bot, shown: AuthorMessage) -> int:
    """Delete one message of an exchange, or blank it; 1 if erased, 0 if already gone."""
    try:
        await bot.delete_message(shown.chat_id, shown.message_id)
        return 1
    except BadRequest as exc:
        if classify(exc) is not Refusal.CANT_DELETE:
            return 0  # already gone
    except Forbidden:
        return 0
    lang = svc.group.lang if shown.kind == "from_author" else svc.settings.default_language
    try:
        await bot.edit_message_text(
            svc.texts(lang, "card.erased"), chat_id=shown.chat_id, message_id=shown.message_id
        )
    except (BadRequest, Forbidden) as exc:
        log.info("could not blank an organisers' exchange message: %s", exc)
        return 0
    return 1
