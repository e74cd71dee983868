"""``/review``: organisers decide in their private chat with the bot, one tap each.

The organisers' group takes about 20 messages a minute; a private chat about one a second.
``/review`` shows the oldest testimonial waiting for review as ONE message with its buttons;
each tap decides (through the same path as a card button: ``bot/services/decisions.py``) and edits
that same message to the next one. What is shown is claimed in SQL for ``CLAIM_LIFETIME``,
so two organisers never get the same testimonial at the same time.

Buttons: ``rev:<action>:<id>[:<reason index>]``. Everything is said in the organiser's own
language (their /language choice, else their Telegram app's), like an attendee's.

Every message that shows a testimonial's words is recorded, so that its author's /forget or
withdrawal erases them here too (bot/services/review_messages.py).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram import User as TgUser
from telegram.error import BadRequest

from bot.services import bulk, menus
from bot.services.cards import REASON_KEYS
from bot.services.container import Context, Services
from bot.services.decisions import already, answer, decide
from bot.services.messages import answer_query, profile_name, reply
from bot.services.people import load_person
from bot.services.questions import ask
from bot.services.review_messages import record
from bot.services.telegram_errors import Refusal, classify
from bot.services.texts import Texts
from storage.models import Status, Testimonial, utcnow
from storage.textlength import perceived_length

log = logging.getLogger(__name__)

REVIEW_PATTERN = (
    r"^rev:(approve|reason|skip|stop|more|list|bulk|undo|single|next|photo)"
    r":(\d{1,18})(?::(\d{1,2}))?$"
)
#: The buttons about a list of short testimonials ("Approve all"): their id is the list's
#: (``next``: none), not a testimonial's.
LIST_ACTIONS = frozenset({"bulk", "undo", "single", "next"})
#: A testimonial shown to one organiser is theirs this long (unless they decide, skip or
#: stop): long enough to read a long one, short enough that walking away locks nothing.
CLAIM_LIFETIME = timedelta(minutes=5)


async def review_command(update: Update, context: Context) -> None:
    """Show an organiser the next testimonial waiting for review (private chat)."""
    svc = context.bot_data.services
    tg_user = update.effective_user
    if tg_user is None:
        return
    _, lang, draft, _ = await load_person(update, context, allow_banned=True)
    if not await svc.desk.is_organiser(tg_user, fresh=True):
        # An attendee, in their own language; one in the middle of a testimonial gets the
        # open question again, as after any command that is not theirs.
        refusal = svc.texts(lang, "review.only_organisers")
        if draft is not None and draft.step is not None:
            await ask(update, svc, lang, draft, refusal)
        else:
            await reply(update, refusal)
        # No longer an organiser: their chat's menu no longer offers /review.
        await menus.drop_organiser_menu(context.bot, svc.repo, tg_user.id)
        return
    tid, text, markup = await _next(svc, tg_user.id, lang)
    message = await reply(update, text, markup)
    if message is not None:
        await record(svc, context.bot, message.chat_id, message.message_id, tid, lang)
    # /review in their chat's "/" menu from now on (set once, after the answer: it waits).
    await menus.give_organiser_menu(context.bot, svc.repo, svc.texts, tg_user.id, lang)


async def group_review(update: Update, context: Context) -> None:
    """``/review`` typed in the organisers' group: say where reviewing happens."""
    svc = context.bot_data.services
    message = update.effective_message
    if message is not None:
        text = svc.texts(svc.group.lang, "review.in_private", bot=context.bot.username)
        await message.reply_text(text)


async def pressed(update: Update, context: Context) -> None:
    """Handle a /review button: decide, skip, stop or read all; then show the next one."""
    query = update.callback_query
    assert query is not None and query.data is not None
    svc = context.bot_data.services
    _, lang, _, _ = await load_person(update, context, allow_banned=True)
    texts = svc.texts
    tg_user = query.from_user
    match = context.match  # REVIEW_PATTERN's, matched by PTB
    assert match is not None
    action, tid, arg = match.group(1), int(match.group(2)), match.group(3)
    # Checked at the moment of deciding, as for a card button (a demoted organiser is out).
    if not await svc.desk.is_organiser(tg_user, fresh=True):
        if action not in LIST_ACTIONS:
            await svc.repo.release_claim(tid, tg_user.id)
        await answer_query(query, texts(lang, "moderation.only_organisers"), show_alert=True)
        await menus.drop_organiser_menu(query.get_bot(), svc.repo, tg_user.id)
        return
    if action in LIST_ACTIONS:
        await _list_pressed(query, svc, tg_user, action, tid, lang)
        return
    if action == "list":
        # The testimonial shown here may be one of the short ones: the list takes it.
        await svc.repo.release_claim(tid, tg_user.id)
        await answer_query(query)
        await _show_list(query, svc, tg_user, lang)
        return
    testimonial = await svc.repo.get(tid)
    if testimonial is None or testimonial.status is Status.WITHDRAWN:
        # Its author took it back (its words here are being erased): nothing to do.
        await answer_query(query, texts(lang, "review.withdrawn_answer"), show_alert=True)
        return
    if action == "stop":
        await svc.repo.release_claim(tid, tg_user.id)
        await answer_query(query)
        waiting, _ = await svc.repo.backlog()
        await _move(query, svc, texts(lang, "review.stopped", count=waiting), None, None, lang)
        return
    if action == "skip":
        await svc.repo.release_claim(tid, tg_user.id, skipped_at=utcnow())
        await answer_query(query, texts(lang, "review.skipped"))
    elif action == "more":
        if testimonial.status is Status.PENDING:
            await answer_query(query)
            await _read_all(query, svc, testimonial, lang)
            return
        await answer_query(query, already(svc, testimonial, lang=lang))
    elif action == "photo":
        await answer_query(query)
        await _photo(query, svc, testimonial, lang)
        return
    else:
        target, reason, key = Status.APPROVED, None, None
        if action == "reason":
            index = int(arg) if arg is not None else -1
            if not 0 <= index < len(REASON_KEYS):
                await answer_query(query, texts(lang, "moderation.unknown_button"), show_alert=True)
                return
            key = REASON_KEYS[index]
            # The organisers' wording is kept for the card and the export (the group's
            # language); the author reads the reason's key in their own.
            target, reason = Status.REJECTED, texts(svc.group.lang, f"reasons.{key}")
        decision = await decide(
            svc,
            tid,
            target,
            by=tg_user.id,
            who=profile_name(tg_user),
            reason=reason,
            reason_key=key,
        )
        # Decided, counted among the approvals needed, or decided elsewhere (a card, another
        # organiser) or a double tap: say which, move on.
        waited = testimonial.proposal is not None
        await answer_query(query, answer(svc, decision, target, lang=lang, edit_waited=waited))
    shown, text, markup = await _next(svc, tg_user.id, lang)
    await _move(query, svc, text, markup, shown, lang)


async def _next(
    svc: Services, user_id: int, lang: str
) -> tuple[int | None, str, InlineKeyboardMarkup | None]:
    """Claim the next testimonial for an organiser; return its id (None when nothing is
    left) and the message that shows it."""
    now = utcnow()
    testimonial = await svc.repo.claim_next(user_id, now=now, until=now + CLAIM_LIFETIME)
    waiting, _ = await svc.repo.backlog()
    texts = svc.texts
    if testimonial is None:
        return None, texts(lang, "review.all_caught_up"), None
    header = texts(lang, "review.header", count=waiting)
    parts = svc.desk.card_parts(testimonial, svc.desk.waiting_line(testimonial, lang), lang=lang)
    # Two short ones or more (this one counted): offer them as a list, "Approve all".
    short = await svc.repo.count_short(user_id, now=now, max_chars=bulk.SHORT_CHARS) >= 2
    photo = testimonial.portrait is not None
    if len(parts) == 1:
        return (
            testimonial.id,
            header + "\n\n" + parts[0],
            _keyboard(svc.texts, testimonial.id, lang, short=short, photo=photo),
        )
    # Too long for one message: the first part, said to be shortened, and "Read all" (the
    # organiser reads everything before deciding).
    cut = texts(lang, "review.shortened", n=len(parts), length=perceived_length(testimonial.quote))
    text = header + "\n\n" + parts[0] + "\n\n" + cut
    markup = _keyboard(svc.texts, testimonial.id, lang, read_all=True, short=short, photo=photo)
    return testimonial.id, text, markup


async def _move(
    query: CallbackQuery,
    svc: Services,
    text: str,
    markup: InlineKeyboardMarkup | None,
    tid: int | None,
    lang: str,
) -> None:
    """Edit the pressed message to show ``text`` (testimonial ``tid``, or none) and record
    what it shows now."""
    if await _show(query, text, markup) and query.message is not None:
        message = query.message
        await record(svc, query.get_bot(), message.chat.id, message.message_id, tid, lang)


async def _read_all(
    query: CallbackQuery, svc: Services, testimonial: Testimonial, lang: str
) -> None:
    """Show a long testimonial whole: the pressed message keeps the first part, the others
    follow as new messages, the buttons on the last (which names the testimonial)."""
    parts = svc.desk.card_parts(testimonial, svc.desk.waiting_line(testimonial, lang), lang=lang)
    # The same edit twice is "not modified": a second tap on Read all sends nothing again.
    if not await _show(query, parts[0], None):
        return
    message = query.message
    if message is None:
        return
    chat, bot = message.chat, query.get_bot()
    if not await record(svc, bot, chat.id, message.message_id, testimonial.id, lang, live=False):
        return
    for i, part in enumerate(parts[1:], start=2):
        last = i == len(parts)
        sent = await chat.send_message(
            part,
            reply_markup=(
                _keyboard(svc.texts, testimonial.id, lang, photo=testimonial.portrait is not None)
                if last
                else None
            ),
        )
        # Withdrawn meanwhile: this part is erased at once, the rest is not sent.
        if not await record(svc, bot, chat.id, sent.message_id, testimonial.id, lang, live=last):
            return


async def _photo(query: CallbackQuery, svc: Services, testimonial: Testimonial, lang: str) -> None:
    """Send the testimonial's photo below (recorded: its author's /forget erases it too)."""
    message = query.message
    image = await svc.repo.read_portrait(testimonial.portrait) if testimonial.portrait else None
    if message is None or image is None or testimonial.status is not Status.PENDING:
        return
    caption = svc.texts(lang, "card.photo", id=testimonial.id)
    sent = await message.chat.send_photo(image, caption=caption)
    await record(
        svc, query.get_bot(), sent.chat_id, sent.message_id, testimonial.id, lang, live=False
    )


def _keyboard(
    texts: Texts,
    tid: int,
    lang: str,
    *,
    read_all: bool = False,
    short: bool = False,
    photo: bool = False,
) -> InlineKeyboardMarkup:
    """Approve; the ready-made reasons, two a row; (Read all;) (the short ones as a list;)
    (the photo;) Skip and Stop."""
    rows = [[InlineKeyboardButton(texts(lang, "card.approve"), callback_data=f"rev:approve:{tid}")]]
    reasons = [
        InlineKeyboardButton(
            # Button labels are plain text: the raw templates, not HTML-escaped.
            texts.raw(lang, "review.reject_reason").format(
                reason=texts.raw(lang, f"reasons.{key}")
            ),
            callback_data=f"rev:reason:{tid}:{i}",
        )
        for i, key in enumerate(REASON_KEYS)
    ]
    rows += [reasons[i : i + 2] for i in range(0, len(reasons), 2)]
    if read_all:
        rows.append(
            [InlineKeyboardButton(texts(lang, "review.read_all"), callback_data=f"rev:more:{tid}")]
        )
    if short:
        rows.append(
            [
                InlineKeyboardButton(
                    texts(lang, "review.list_button"), callback_data=f"rev:list:{tid}"
                )
            ]
        )
    if photo:
        label = texts(lang, "review.see_photo")
        rows.append([InlineKeyboardButton(label, callback_data=f"rev:photo:{tid}")])
    rows.append(
        [
            InlineKeyboardButton(texts(lang, "review.skip"), callback_data=f"rev:skip:{tid}"),
            InlineKeyboardButton(texts(lang, "review.stop"), callback_data=f"rev:stop:{tid}"),
        ]
    )
    return InlineKeyboardMarkup(rows)


async def _list_pressed(
    query: CallbackQuery, svc: Services, tg_user: TgUser, action: str, list_id: int, lang: str
) -> None:
    """A button of a list of short testimonials: Approve all, Undo, One at a time; or
    carry on reviewing once a list is done."""
    texts = svc.texts
    if action == "next":
        await answer_query(query)
        shown, text, markup = await _next(svc, tg_user.id, lang)
        await _move(query, svc, text, markup, shown, lang)
        return
    pressed_list = await svc.repo.get_bulk_list(list_id)
    message = query.message
    if pressed_list is None or pressed_list.user_id != tg_user.id or message is None:
        await answer_query(query, texts(lang, "moderation.unknown_button"), show_alert=True)
        return
    if action == "single":
        await svc.repo.close_bulk_lists(message.chat.id, message.message_id)
        ids = [i.testimonial_id for i in pressed_list.items]
        if pressed_list.state == "shown":
            await svc.repo.release_claims(ids, tg_user.id)
        await answer_query(query)
        shown, text, markup = await _next(svc, tg_user.id, lang)
        await _move(query, svc, text, markup, shown, lang)
        return
    if action == "bulk":
        waiting = await bulk.press(svc, pressed_list)
        if waiting is None:  # a double press, or a list no longer shown: counted once
            await answer_query(query, texts(lang, "review.bulk_already"))
            return
        seconds = svc.settings.review_undo_seconds
        await answer_query(query, texts(lang, "review.bulk_pressed", seconds=seconds))
        await _show(
            query, bulk.waiting_text(svc, waiting, lang), bulk.undo_keyboard(svc, waiting.id, lang)
        )
        return
    # Undo
    if not await bulk.undo(svc, pressed_list):
        await answer_query(query, texts(lang, "review.undo_too_late"), show_alert=True)
        return
    await answer_query(query, texts(lang, "review.undone"))
    await _show_list(query, svc, tg_user, lang)


async def _show_list(query: CallbackQuery, svc: Services, tg_user: TgUser, lang: str) -> None:
    """Show the short testimonials waiting (each whole) on the pressed message, with
    "Approve all"; if fewer than two are short, the next one to review instead."""
    message = query.message
    if message is None:
        return
    shown = await bulk.build_list(svc, tg_user.id, lang)
    if shown is None:
        tid, text, markup = await _next(svc, tg_user.id, lang)
        await _move(query, svc, text, markup, tid, lang)
        return
    chat_id, bot = message.chat.id, query.get_bot()
    list_id = await svc.repo.open_bulk_list(
        chat_id,
        message.message_id,
        user_id=tg_user.id,
        user_name=profile_name(tg_user),
        lang=lang,
        items=[(t.id, bulk.digest(t)) for t in shown.testimonials],
    )
    # The message shows a list now, no longer one testimonial (bulk_lists records it).
    await record(svc, bot, chat_id, message.message_id, None, lang)
    keyboard = bulk.list_keyboard(svc, list_id, len(shown.testimonials), lang)
    await _show(query, shown.text, keyboard)
    # Withdrawn or forgotten while it was being shown: its erasure has run, erase it now.
    await bulk.erase_if_gone(svc, bot, list_id)


async def _show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> bool:
    """Edit the pressed message; return False if it showed this already (a double tap)."""
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if classify(exc) is not Refusal.NOT_MODIFIED:
            raise
        return False
    return True
