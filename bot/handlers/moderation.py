"""The organisers' group: button presses, prompts, and the group commands.

Cards themselves (rendering, sending, editing) are in ``bot/cards.py``; the presser of a
button gets an instant answer, the card is edited once the outcome is known.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import tempfile
from datetime import timedelta
from pathlib import Path

from markupsafe import Markup
from telegram import (
    CallbackQuery,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberRestricted,
    ForceReply,
    InputFile,
    Message,
    Update,
)
from telegram import User as TgUser
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest

from bot.book.files import FORMATS, write_book_file
from bot.services import author_edits, relay
from bot.services.cards import CARD_BUTTONS, REASON_KEYS, format_time
from bot.services.container import Context, Services
from bot.services.decisions import already, answer, decide
from bot.services.messages import answer_query, profile_name
from storage import fields
from storage.models import CARD_ACTIONS, Status, Testimonial, utcnow

log = logging.getLogger(__name__)

# How long an organiser has to answer a prompt for a reason or a correction.
PROMPT_LIFETIME = timedelta(minutes=5)

MOD_PATTERN = (
    r"^mod:(approve|reject|reason|other|edit|field|write|back|unpublish|unpublish_yes|republish"
    r"|markpub|retry|removed|nophoto):(\d{1,18})(?::(\w{1,20}))?$"
)

# -- handlers ---------------------------------------------------------------------------------


async def pressed(update: Update, context: Context) -> None:
    """Handle a card button: check who pressed, then act (``mod:<action>:<id>[:<arg>]``)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    svc = context.bot_data.services
    texts, lang = svc.texts, svc.group.lang
    chat = update.effective_chat
    if chat is None or chat.id != svc.group.chat_id:
        log.warning(
            "card button pressed outside the organisers' group (chat %s): ignored",
            chat.id if chat else None,
        )
        await answer_query(query, texts(lang, "moderation.unknown_button"), show_alert=True)
        return
    if not await svc.desk.is_organiser(query.from_user, fresh=True):
        await answer_query(query, texts(lang, "moderation.only_organisers"), show_alert=True)
        return
    match = context.match  # MOD_PATTERN's, matched by PTB
    assert match is not None
    action, tid, arg = match.group(1), int(match.group(2)), match.group(3)
    testimonial = await svc.repo.get(tid)
    if testimonial is None:
        await answer_query(query, texts(lang, "moderation.not_found"), show_alert=True)
        return
    if action not in CARD_ACTIONS[testimonial.status]:
        # Decided meanwhile (or a forged button): say what became of it, change nothing.
        changing = action in ("edit", "field") and testimonial.status is not Status.PENDING
        refusal = texts(lang, "moderation.not_pending") if changing else already(svc, testimonial)
        await answer_query(query, refusal, show_alert=True)
        return
    pressed_on = query.message.message_id if query.message is not None else None
    recorded = (testimonial.card_photo_message_id,) if action == "nophoto" else None
    if recorded is not None and pressed_on not in recorded:
        # Not the photo the card shows (an old copy): its button is dead.
        await answer_query(query, texts(lang, "moderation.stale_card"), show_alert=True)
        return
    if action in CARD_BUTTONS and pressed_on not in testimonial.card_message_ids:
        # Not the recorded card: a copy the bot sent but could not record (it stopped before
        # Telegram's answer came), or an old one. Its buttons are dead; the copy goes.
        await answer_query(query, texts(lang, "moderation.stale_card"), show_alert=True)
        if pressed_on is not None:
            await svc.desk.delete_messages((pressed_on,))
        return
    presser = profile_name(query.from_user)
    await ACTIONS[action](query, svc, testimonial, presser, arg)


async def _decide(
    query: CallbackQuery,
    svc: Services,
    testimonial: Testimonial,
    who: str,
    target: Status,
    reason: str | None,
    reason_key: str | None = None,
) -> None:
    decision = await decide(
        svc,
        testimonial.id,
        target,
        by=query.from_user.id,
        who=who,
        reason=reason,
        reason_key=reason_key,
    )
    # Lost to someone else: an alert; decided, or counted among the approvals needed: a toast.
    lost = not (decision.won or decision.recorded)
    said = answer(svc, decision, target, edit_waited=testimonial.proposal is not None)
    await answer_query(query, said, show_alert=lost)


async def _approve(
    query: CallbackQuery, svc: Services, testimonial: Testimonial, who: str, arg: str | None
) -> None:
    await _decide(query, svc, testimonial, who, Status.APPROVED, None)


async def _reject(
    query: CallbackQuery, svc: Services, testimonial: Testimonial, who: str, arg: str | None
) -> None:
    await answer_query(query)
    await svc.desk.set_keyboard(query, svc.desk.reasons_keyboard(testimonial.id))


async def _reason(
    query: CallbackQuery, svc: Services, testimonial: Testimonial, who: str, arg: str | None
) -> None:
    index = int(arg) if arg and arg.isdigit() else -1
    if not 0 <= index < len(REASON_KEYS):
        await answer_query(
            query, svc.texts(svc.group.lang, "moderation.unknown_button"), show_alert=True
        )
        return
    key = REASON_KEYS[index]
    # The organisers' wording is stored for the card and the export; the key for the author.
    reason = svc.texts(svc.group.lang, f"reasons.{key}")
    await _decide(query, svc, testimonial, who, Status.REJECTED, reason, key)


async def _other(
    query: CallbackQuery, svc: Services, testimonial: Testimonial, who: str, arg: str | None
) -> None:
    await answer_query(query, svc.texts(svc.group.lang, "moderation.type_reason"))
    await _ask(svc, query.from_user, testimonial, "reject", "moderation.prompt_reason")


async def _edit(
    query: CallbackQuery, svc: Services, testimonial: Testimonial, who: str, arg: str | None
) -> None:
    await answer_query(query)
    await svc.desk.set_keyboard(query, svc.desk.edit_keyboard(testimonial.id))


async def _field(
    query: CallbackQuery, svc: Services, testimonial: Testimonial, who: str, arg: str | None
) -> None:
    texts, lang = svc.texts, svc.group.lang
    if arg not in ("name", "organisation", "quote"):
        await answer_query(query, texts(lang, "moderation.unknown_button"), show_alert=True)
        return
    # An edit still waiting for the author is what the organiser corrects further.
    waiting = testimonial.proposal.fields if testimonial.proposal is not None else {}
    current = waiting.get(arg, getattr(testimonial, arg)).replace("\n", " / ")
    current = current if len(current) <= 120 else current[:119] + "…"
    await answer_query(query, texts(lang, "moderation.type_correction"))
    await _ask(
        svc,
        query.from_user,
        testimonial,
        f"edit:{arg}",
        "moderation.prompt_correction",
        field=texts.raw(lang, f"moderation.field_{arg}"),
        current=current,
    )


async def _write(
    query: CallbackQuery, svc: Services, testimonial: Testimonial, who: str, arg: str | None
) -> None:
    await answer_query(query, svc.texts(svc.group.lang, "moderation.type_note"))
    await _ask(svc, query.from_user, testimonial, "write", "moderation.prompt_note")


async def _ask(
    svc: Services,
    asker: TgUser,
    testimonial: Testimonial,
    action: str,
    key: str,
    **values: object,
) -> None:
    """Post the prompt an organiser answers by replying to it (ForceReply, selective: their
    app opens the reply, nobody else's), and remember it until it expires."""
    texts, lang = svc.texts, svc.group.lang
    expires = utcnow() + PROMPT_LIFETIME
    mention = texts(lang, "card.author_link", user_id=asker.id, name=profile_name(asker))
    text = texts(
        lang,
        key,
        who=Markup(mention),
        id=testimonial.id,
        time=expires.strftime("%H:%M UTC"),
        minutes=int(PROMPT_LIFETIME.total_seconds() // 60),
        **values,
    )
    markup = ForceReply(selective=True, input_field_placeholder=f"#{testimonial.id}")
    sent = await svc.group.send(text, markup)
    await svc.repo.set_prompt(
        svc.group.chat_id,
        asker.id,
        testimonial.id,
        action,
        message_id=sent.message_id,
        expires_at=expires,
    )


async def _back(
    query: CallbackQuery, svc: Services, testimonial: Testimonial, who: str, arg: str | None
) -> None:
    await answer_query(query)
    _, markup = svc.desk.outcome(testimonial)
    if markup is not None:
        await svc.desk.set_keyboard(query, markup)


async def _unpublish(
    query: CallbackQuery, svc: Services, testimonial: Testimonial, who: str, arg: str | None
) -> None:
    if testimonial.status is not Status.PUBLISHED:
        await answer_query(query, already(svc, testimonial), show_alert=True)
        return
    await answer_query(query)
    await svc.desk.set_keyboard(
        query,
        svc.desk.keyboard(
            [
                [("card.confirm_unpublish", f"mod:unpublish_yes:{testimonial.id}")],
                [("card.back", f"mod:back:{testimonial.id}")],
            ]
        ),
    )


async def _unpublish_yes(
    query: CallbackQuery, svc: Services, testimonial: Testimonial, who: str, arg: str | None
) -> None:
    withdrawn = await svc.repo.withdraw(testimonial.id, expected=(Status.PUBLISHED,))
    if withdrawn is None:
        await answer_query(query, already(svc, testimonial), show_alert=True)
        return
    log.info("testimonial #%d unpublished by %s", testimonial.id, who)
    await answer_query(query, svc.texts(svc.group.lang, "moderation.unpublish_answer"))
    line = svc.texts(
        svc.group.lang, "card.unpublished_by", who=who, time=format_time(withdrawn.updated_at)
    )
    svc.desk.refresh_later(withdrawn.id, line)
    await svc.desk.notify_author(withdrawn, "author.unpublished")
    svc.publisher.wake()


async def _remove_photo(
    query: CallbackQuery, svc: Services, testimonial: Testimonial, who: str, arg: str | None
) -> None:
    """Take the photo off a testimonial not yet posted; the words stay for the decision."""
    removed = await svc.repo.remove_portrait(testimonial.id)
    if removed is None:
        text = svc.texts(svc.group.lang, "card.photo_not_removable")
        await answer_query(query, text, show_alert=True)
        return
    log.info("the photo of testimonial #%d removed by %s", testimonial.id, who)
    await answer_query(query, svc.texts(svc.group.lang, "card.photo_removed"))
    svc.desk.photo_removed(removed.id)


async def _republish(
    query: CallbackQuery, svc: Services, testimonial: Testimonial, who: str, arg: str | None
) -> None:
    requeued = await svc.repo.requeue(testimonial.id, from_status=Status.PUBLISHING)
    if requeued is None:
        await answer_query(query, already(svc, testimonial), show_alert=True)
        return
    await answer_query(query, svc.texts(svc.group.lang, "moderation.republished", who=who))
    await _drop_keyboard(query)
    svc.publisher.wake()


async def _markpub(
    query: CallbackQuery, svc: Services, testimonial: Testimonial, who: str, arg: str | None
) -> None:
    marked = await svc.repo.transition(testimonial.id, Status.PUBLISHED, expected=Status.PUBLISHING)
    if marked is None:
        await answer_query(query, already(svc, testimonial), show_alert=True)
        return
    await answer_query(query, svc.texts(svc.group.lang, "moderation.marked_published", who=who))
    await _drop_keyboard(query)
    svc.desk.refresh_later(marked.id)


async def _retry(
    query: CallbackQuery, svc: Services, testimonial: Testimonial, who: str, arg: str | None
) -> None:
    # Approved: its publication is queued again. Withdrawn: its deletion is (still) queued.
    if testimonial.status is Status.APPROVED:
        requeued = await svc.repo.requeue(testimonial.id, from_status=Status.APPROVED)
        if requeued is None:  # decided otherwise meanwhile
            await answer_query(query, already(svc, testimonial), show_alert=True)
            return
    await answer_query(query, svc.texts(svc.group.lang, "moderation.retrying"))
    await _drop_keyboard(query)
    svc.publisher.resume()


async def _removed(
    query: CallbackQuery, svc: Services, testimonial: Testimonial, who: str, arg: str | None
) -> None:
    # The channel refused a removal: the posts are gone all the same (deleted by hand, or
    # with the channel), an organiser says. The removal is closed and publishing resumes.
    lang = svc.group.lang
    if not await svc.repo.close_unpublish(testimonial.id):
        await answer_query(query, svc.texts(lang, "moderation.posts_gone_already"), show_alert=True)
        await _drop_keyboard(query)
        return
    log.info("testimonial #%d: its posts recorded as no longer in the channel", testimonial.id)
    await answer_query(query, svc.texts(lang, "moderation.posts_gone_answer", who=who))
    await _drop_keyboard(query)
    svc.publisher.resume()


async def _drop_keyboard(query: CallbackQuery) -> None:
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(None)


ACTIONS = {
    "approve": _approve,
    "reject": _reject,
    "reason": _reason,
    "other": _other,
    "edit": _edit,
    "field": _field,
    "write": _write,
    "back": _back,
    "unpublish": _unpublish,
    "unpublish_yes": _unpublish_yes,
    "republish": _republish,
    "markpub": _markpub,
    "retry": _retry,
    "removed": _removed,
    "nophoto": _remove_photo,
}


async def unknown_button(update: Update, context: Context) -> None:
    """Answer a button whose data we did not make (forged, or from an old version)."""
    query = update.callback_query
    assert query is not None
    svc = context.bot_data.services
    log.warning(
        "unknown callback data %r from user %s: ignored",
        query.data,
        query.from_user.id if query.from_user else None,
    )
    await answer_query(
        query,
        svc.texts(svc.settings.default_language, "moderation.unknown_button"),
        show_alert=True,
    )


async def group_text(update: Update, context: Context) -> None:
    """A reply to one of the bot's prompts: the reason or correction it asked for, taken only
    from the organiser who asked (or an anonymous admin), still an organiser, in time."""
    svc = context.bot_data.services
    message = update.effective_message
    tg_user = update.effective_user
    if message is None or tg_user is None or message.text is None:
        return
    asked = message.reply_to_message
    if asked is None or asked.from_user is None or asked.from_user.id != context.bot.id:
        return  # ordinary talk in the group: never taken as an answer
    prompt = await svc.repo.get_prompt(svc.group.chat_id, asked.message_id)
    if prompt is None:
        return
    texts, lang = svc.texts, svc.group.lang
    anonymous = message.sender_chat is not None and message.sender_chat.id == svc.group.chat_id
    if not anonymous:
        if tg_user.id != prompt.user_id:
            return  # someone else's prompt: it stays theirs
        if not await svc.desk.is_organiser(tg_user, fresh=True):
            await svc.repo.drop_prompt(svc.group.chat_id, asked.message_id)
            await message.reply_text(texts(lang, "moderation.only_organisers"))
            return
    if prompt.expires_at is not None and prompt.expires_at < utcnow():
        await svc.repo.drop_prompt(svc.group.chat_id, asked.message_id)
        await message.reply_text(texts(lang, "moderation.prompt_expired"))
        return
    if not await svc.repo.drop_prompt(svc.group.chat_id, asked.message_id):
        return  # answered meanwhile (a replayed update)
    testimonial = await svc.repo.get(prompt.testimonial_id)
    if prompt.action == "write":
        await _write_to_author(svc, context, message, testimonial, prompt.testimonial_id)
        return
    if testimonial is None or testimonial.status is not Status.PENDING:
        await message.reply_text(texts(lang, "moderation.not_pending"))
        return
    who = _sender_name(message, tg_user)
    if prompt.action == "reject":
        try:
            text = fields.reason(message.text)
        except fields.FieldError as exc:
            await message.reply_text(_refused(svc, lang, exc))
            return
        decision = await decide(
            svc, testimonial.id, Status.REJECTED, by=tg_user.id, who=who, reason=text
        )
        if not decision.won:
            await message.reply_text(already(svc, decision.testimonial))
        return
    field = prompt.action.split(":")[1]
    try:
        value = _clean_correction(field, message.text, svc.settings.quote_max_chars)
    except fields.FieldError as exc:
        await message.reply_text(_refused(svc, lang, exc))
        return
    if svc.settings.edits_need_author and testimonial.user_id is not None:
        # The author's consent covers their own words: the edit waits for their answer.
        proposed = await author_edits.propose(
            svc, testimonial.id, field, value, by=tg_user.id, who=who
        )
        if proposed is None:
            await message.reply_text(texts(lang, "moderation.not_pending"))
        return
    edited = await svc.repo.edit_pending(testimonial.id, field, value)
    if edited is None:
        await message.reply_text(texts(lang, "moderation.not_pending"))
        return
    log.info("testimonial #%d: %s corrected by %s", testimonial.id, field, who)
    svc.desk.refresh_later(edited.id, words_changed=True)


async def _write_to_author(
    svc: Services,
    context: Context,
    message: Message,
    testimonial: Testimonial | None,
    testimonial_id: int,
) -> None:
    """The organiser's message to an author (whatever the testimonial's status: a question
    can follow a decision): sent signed "the organisers"; the group is told how it went."""
    lang = svc.group.lang
    assert message.text is not None
    try:
        note = fields.note(message.text)
    except fields.FieldError as exc:
        await message.reply_text(_refused(svc, lang, exc, key="moderation.note_refused"))
        return
    outcome = await relay.to_author(svc, context.bot, testimonial, note)
    await message.reply_text(svc.texts(lang, outcome, id=testimonial_id))


def _sender_name(message: Message, tg_user: TgUser) -> str:
    """The name to record for a decision: the person, or the group for an anonymous admin."""
    if message.sender_chat is not None:
        return message.sender_chat.title or profile_name(tg_user)
    return profile_name(tg_user)


def _clean_correction(field: str, text: str, quote_max: int) -> str:
    """Return the corrected field by the same rules as the attendee's answer, or raise."""
    if field == "name":
        return fields.name(text)
    if field == "organisation":
        return fields.organisation(text)
    return fields.quote(text, quote_max)


def _refused(
    svc: Services, lang: str, exc: fields.FieldError, *, key: str = "moderation.correction_refused"
) -> str:
    """Say why a typed reason, correction or message was refused, in the organisers' language."""
    problem = Markup(svc.texts(lang, f"fields.{exc.problem}", **exc.values))
    return svc.texts(lang, key, problem=problem)


async def _organiser_only(update: Update, context: Context) -> Services | None:
    """Return the services if the sender is an organiser (an admin posting as the group is one:
    Telegram lets only admins do that); else say so and return None. The same fresh check
    as a card's Approve: every organiser command is an organiser's action, and a demoted
    admin's ``chat_member`` update may never have come."""
    svc = context.bot_data.services
    message = update.effective_message
    sender_chat = message.sender_chat if message is not None else None
    if sender_chat is not None and sender_chat.id == svc.group.chat_id:
        return svc
    if not await svc.desk.is_organiser(update.effective_user, fresh=True):
        message = update.effective_message
        if message is not None:
            await message.reply_text(svc.texts(svc.group.lang, "moderation.only_organisers"))
        return None
    return svc


async def pending_command(update: Update, context: Context) -> None:
    """Move the cards of the testimonials waiting for review to the bottom of the group,
    oldest first: answered at once, the cards follow through the card queue at the group's
    pace (the organiser's next press must not wait behind them)."""
    svc = await _organiser_only(update, context)
    if svc is None:
        return
    waiting = await svc.repo.pending_ids(limit=1000)
    if not waiting:
        await svc.group.send(svc.texts(svc.group.lang, "moderation.pending_none"))
        return
    ahead = svc.desk.queued() + len(waiting)
    per_minute = (
        svc.settings.group_messages_per_minute * 60 / svc.settings.group_rate_period_seconds
    )
    minutes = max(1, math.ceil(ahead / per_minute))
    await svc.group.send(
        svc.texts(svc.group.lang, "moderation.pending_header", count=len(waiting), minutes=minutes)
    )
    for testimonial_id in waiting:
        svc.desk.repost_later(testimonial_id)


async def stats_command(update: Update, context: Context) -> None:
    """Post the counts by status."""
    svc = await _organiser_only(update, context)
    if svc is None:
        return
    counts = await svc.repo.count_by_status()
    text = svc.texts(
        svc.group.lang,
        "moderation.stats",
        **{status.value: count for status, count in counts.items()},
    )
    if svc.sessions:
        text += "\n\n" + _session_counts(svc, await svc.repo.count_sent_by_payload())
    await svc.group.send(text)


def _session_counts(svc: Services, by_payload: dict[str | None, int]) -> str:
    """The /stats lines by session, in the sessions file's order, then the rest."""
    counts = [0] * (len(svc.sessions) + 1)
    for payload, count in by_payload.items():
        counts[svc.sessions.rank(payload)] += count
    texts, lang = svc.texts, svc.group.lang
    lines = [texts(lang, "moderation.stats_by_session")]
    for session, count in zip(svc.sessions.items, counts, strict=False):
        lines.append(
            texts(lang, "moderation.stats_session", title=session.title(lang), count=count)
        )
    lines.append(texts(lang, "moderation.stats_no_session", count=counts[-1]))
    return "\n".join(lines)


async def ban_command(update: Update, context: Context) -> None:
    """Ban (/ban) or unban (/unban) the author of the card replied to."""
    svc = await _organiser_only(update, context)
    message = update.effective_message
    if svc is None or message is None or message.text is None:
        return
    banning = message.text.split()[0].split("@")[0].lower() == "/ban"
    reply = message.reply_to_message
    testimonial = await svc.repo.find_by_card(reply.message_id) if reply else None
    texts, lang = svc.texts, svc.group.lang
    if testimonial is None:
        await message.reply_text(texts(lang, "moderation.ban_usage"))
        return
    if testimonial.user_id is None or not await svc.repo.set_banned(testimonial.user_id, banning):
        await message.reply_text(texts(lang, "moderation.ban_no_author"))
        return
    log.info("author of #%d %s", testimonial.id, "banned" if banning else "unbanned")
    key = "moderation.banned" if banning else "moderation.unbanned"
    await message.reply_text(texts(lang, key, id=testimonial.id))


async def export_command(update: Update, context: Context) -> None:
    """Send the livre d'or as a file: /export [md|html|csv|json|zip] (Markdown by default)."""
    svc = await _organiser_only(update, context)
    message = update.effective_message
    if svc is None or message is None:
        return
    fmt = context.args[0].lower().lstrip(".") if context.args else "md"
    if fmt not in FORMATS:
        await message.reply_text(svc.texts(svc.group.lang, "moderation.export_usage"))
        return
    with tempfile.TemporaryDirectory(prefix="livredor-export-") as tmp:
        # Built in a thread on a read-only connection of its own, streamed to a file: at
        # 100,000 entries building it on the event loop stalled every conversation for
        # seconds and kept the whole book in memory.
        book = await asyncio.to_thread(write_book_file, svc.settings, fmt, Path(tmp))
        if not book.fits:
            await message.reply_text(svc.texts(svc.group.lang, "moderation.export_too_big"))
            log.warning("book too big to send (%d testimonials, zipped)", book.count)
            return
        data = await asyncio.to_thread(book.path.read_bytes)
        sent = await svc.group.send_document(
            InputFile(data, filename=book.path.name),
            svc.texts(svc.group.lang, "moderation.export_caption", count=book.count),
        )
    # It holds people's words: the /forget of one of them erases it (CardDesk.erase_cards).
    await svc.repo.record_export(sent.chat_id, sent.message_id)
    log.info("book exported as %s (%d testimonials)", book.path.name, book.count)


async def bot_membership_changed(update: Update, context: Context) -> None:
    """Telegram says the bot itself was removed from the organisers' group, or is back:
    the cards wait from that moment (attendees told so), or go out at once."""
    change = update.my_chat_member
    svc = context.bot_data.services
    if change is None or change.chat.id != svc.group.chat_id:
        return
    member = change.new_chat_member
    gone = isinstance(member, ChatMemberLeft | ChatMemberBanned) or (
        isinstance(member, ChatMemberRestricted) and not member.is_member
    )
    if gone:
        svc.desk.bot_left_group()
    else:
        svc.desk.bot_back_in_group()


async def member_changed(update: Update, context: Context) -> None:
    """Someone's rights in the organisers' group changed: a demoted admin loses the right to
    decide at once (and their open prompts go); a promoted one gains it."""
    change = update.chat_member
    svc = context.bot_data.services
    if change is None or change.chat.id != svc.group.chat_id:
        return
    user_id = change.new_chat_member.user.id
    if change.new_chat_member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER):
        svc.desk.learn_admin(user_id)
        return
    was = change.old_chat_member.status
    svc.desk.forget_admin(user_id)
    await svc.repo.drop_prompts_of(svc.group.chat_id, user_id)
    # Their approvals of testimonials still waiting no longer count (several approvals).
    for testimonial in await svc.repo.drop_approvals(user_id):
        svc.desk.refresh_later(testimonial.id)
    if was in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER):
        log.info("user %d is no longer an admin of the organisers' group", user_id)
