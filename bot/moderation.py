"""The organisers' group: cards with buttons, who may press them, and the group commands.

Group traffic is kept low (Telegram allows about 20 messages a minute into a group, edits
included): one card per testimonial, one edit per outcome; the presser gets an instant
answer to the button press instead of a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from datetime import datetime

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram import User as TgUser
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.book import FORMATS, book_filename, render_book
from bot.intake import answer_query, profile_name
from bot.render import post_header_html, quote_paragraphs_html, split_html_paragraphs
from bot.services import Services, services
from bot.texts import Html, Texts
from config.settings import Settings
from storage.models import Status, Testimonial
from storage.testimonials import Repository

log = logging.getLogger(__name__)

# Cards are split shorter than posts so that an outcome line always fits on the last part.
CARD_LIMIT = 3600
CARD_MARKER = "({i}/{n})"
ADMIN_CACHE_SECONDS = 120.0
CORRECTION_MAX = {"name": 100, "organisation": 460, "quote": 100_000}

MOD_PATTERN = (
    r"^mod:(approve|reject|reason|other|edit|field|back|unpublish|unpublish_yes|republish"
    r"|markpub|retry):(\d+)(?::(\w+))?$"
)


async def stop_task(task: asyncio.Task[None] | None) -> None:
    """Cancel a worker task and wait for it to end. Cancel again if a cancellation was
    swallowed (``asyncio.wait_for`` in Python 3.11 can lose one that lands as it returns)."""
    while task is not None and not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)
    if task is not None and not task.cancelled() and task.exception() is not None:
        log.error("worker ended with an error", exc_info=task.exception())


def channel_link(settings: Settings, message_id: int) -> str | None:
    """Return the t.me link of a channel message (None if the channel id has no link form)."""
    channel = settings.channel_id
    if isinstance(channel, str):
        return f"https://t.me/{channel.lstrip('@')}/{message_id}"
    if isinstance(channel, int) and str(channel).startswith("-100"):
        return f"https://t.me/c/{str(channel)[4:]}/{message_id}"
    return None


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


class Moderation:
    """Sends and updates cards; the only writer into the organisers' group."""

    def __init__(self, bot: Bot, repo: Repository, texts: Texts, settings: Settings) -> None:
        self.bot = bot
        self.repo = repo
        self.texts = texts
        self.settings = settings
        self.lang = settings.default_language
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._admins: tuple[float, frozenset[int]] | None = None
        self.bot_username = ""

    @property
    def group(self) -> int:
        """Return the organisers' chat id."""
        assert self.settings.organisers_chat_id is not None
        return self.settings.organisers_chat_id

    # -- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Queue a card for every pending testimonial that has none (the bot stopped between
        the submission and its card), then start sending."""
        for testimonial in await self.repo.list_by_status(Status.PENDING, limit=100_000):
            if not testimonial.card_message_ids:
                self._queue.put_nowait(testimonial.id)
        self._task = asyncio.create_task(self._send_cards(), name="livredor-cards")

    async def stop(self) -> None:
        """Stop sending cards (unsent ones are found again at the next start)."""
        await stop_task(self._task)

    def submitted(self, testimonial_id: int) -> None:
        """Queue the card of a new submission (sent in the background: the group's flood
        limit must not delay the attendee's thank-you)."""
        self._queue.put_nowait(testimonial_id)

    async def _send_cards(self) -> None:
        while True:
            testimonial_id = await self._queue.get()
            try:
                testimonial = await self.repo.get(testimonial_id)
                if testimonial is not None and testimonial.status is Status.PENDING:
                    await self.send_card(testimonial)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not send the card of testimonial #%d", testimonial_id)
                await asyncio.sleep(5)
                self._queue.put_nowait(testimonial_id)

    # -- rendering -----------------------------------------------------------------------------

    def _author(self, t: Testimonial) -> str:
        texts, lang = self.texts, self.lang
        if t.user_id is None:
            return texts(lang, "card.imported")
        link = texts(lang, "card.author_link", user_id=t.user_id, name=t.author_name or "?")
        if t.author_username:
            return texts(lang, "card.author_username", link=Html(link), username=t.author_username)
        return link

    def card_parts(self, t: Testimonial, footer: str | None = None) -> list[str]:
        """Return the card's messages: a header, the post as it will be published, and an
        optional outcome line at the end of the last part."""
        header = self.texts(
            self.lang,
            "card.header",
            id=t.id,
            author=Html(self._author(t)),
            language=t.language,
            time=_time(t.submitted_at or t.created_at),
        )
        header += "\n\n" + post_header_html(t.name, t.organisation)
        paragraphs = quote_paragraphs_html(t.quote, hashtag=self.settings.event_hashtag)
        parts = split_html_paragraphs(header, paragraphs, limit=CARD_LIMIT, marker=CARD_MARKER)
        if footer:
            parts[-1] += "\n\n" + footer
        return parts

    def keyboard(self, rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
        """Build buttons from (text key, callback data) rows."""
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(self.texts(self.lang, k), callback_data=d) for k, d in row]
                for row in rows
            ]
        )

    def pending_keyboard(self, tid: int) -> InlineKeyboardMarkup:
        """Approve / Reject / Edit."""
        return self.keyboard(
            [
                [("card.approve", f"mod:approve:{tid}"), ("card.reject", f"mod:reject:{tid}")],
                [("card.edit", f"mod:edit:{tid}")],
            ]
        )

    def reasons_keyboard(self, tid: int) -> InlineKeyboardMarkup:
        """The ready-made rejection reasons, typing one, and back."""
        reasons = self.texts.raw(self.lang, "moderation.reasons").split("\n")
        rows = [
            [InlineKeyboardButton(r, callback_data=f"mod:reason:{tid}:{i}")]
            for i, r in enumerate(reasons)
        ]
        rows.append(
            [
                InlineKeyboardButton(
                    self.texts(self.lang, "card.other_reason"), callback_data=f"mod:other:{tid}"
                )
            ]
        )
        rows.append(
            [
                InlineKeyboardButton(
                    self.texts(self.lang, "card.back"), callback_data=f"mod:back:{tid}"
                )
            ]
        )
        return InlineKeyboardMarkup(rows)

    def edit_keyboard(self, tid: int) -> InlineKeyboardMarkup:
        """Which field to correct."""
        return self.keyboard(
            [
                [
                    ("card.edit_name", f"mod:field:{tid}:name"),
                    ("card.edit_organisation", f"mod:field:{tid}:organisation"),
                    ("card.edit_quote", f"mod:field:{tid}:quote"),
                ],
                [("card.back", f"mod:back:{tid}")],
            ]
        )

    def outcome(self, t: Testimonial) -> tuple[str | None, InlineKeyboardMarkup | None]:
        """Return the outcome line and buttons a card shows for the testimonial's status."""
        texts, lang = self.texts, self.lang
        who, when = t.decided_by_name or "?", _time(t.decided_at)
        if t.status is Status.PENDING:
            return None, self.pending_keyboard(t.id)
        if t.status is Status.REJECTED:
            return texts(
                lang, "card.rejected", who=who, time=when, reason=t.reject_reason or "-"
            ), None
        if t.status is Status.PUBLISHED:
            link = (
                channel_link(self.settings, t.channel_message_ids[0])
                if t.channel_message_ids
                else None
            )
            line = (
                texts(lang, "card.approved_posted", who=who, time=when, link=link)
                if link
                else texts(lang, "card.approved_posted_nolink", who=who, time=when)
            )
            return line, self.keyboard([[("card.unpublish", f"mod:unpublish:{t.id}")]])
        if t.status in (Status.APPROVED, Status.PUBLISHING):
            return texts(lang, "card.approved", who=who, time=when), None
        return texts(lang, "card.withdrawn", time=_time(t.updated_at)), None

    # -- sending and editing cards ---------------------------------------------------------------

    async def send_card(self, t: Testimonial) -> None:
        """Send the card of a testimonial and remember its message ids."""
        footer, markup = self.outcome(t)
        await self._send_parts(t, self.card_parts(t, footer), markup)

    async def refresh_card(self, t: Testimonial, footer: str | None = None) -> None:
        """Bring a card up to date with the testimonial (one edit of its last part, or a new
        card if the text changed length or the old card is gone)."""
        default_footer, markup = self.outcome(t)
        parts = self.card_parts(t, footer or default_footer)
        if len(parts) != len(t.card_message_ids):
            await self.delete_messages(t.card_message_ids)
            await self._send_parts(t, parts, markup)
            return
        for message_id, part, index in zip(
            t.card_message_ids, parts, range(len(parts)), strict=True
        ):
            last = index == len(parts) - 1
            try:
                await self.bot.edit_message_text(
                    part,
                    chat_id=self.group,
                    message_id=message_id,
                    reply_markup=markup if last else None,
                )
            except BadRequest as exc:
                text = exc.message.lower()
                if "not modified" in text:
                    continue
                if "not found" in text:
                    await self.delete_messages(t.card_message_ids)
                    await self._send_parts(t, parts, markup)
                    return
                raise

    async def _send_parts(
        self, t: Testimonial, parts: list[str], markup: InlineKeyboardMarkup | None
    ) -> None:
        ids = []
        for i, part in enumerate(parts):
            message = await self.bot.send_message(
                self.group, part, reply_markup=markup if i == len(parts) - 1 else None
            )
            ids.append(message.message_id)
        await self.repo.set_card_messages(t.id, ids)

    async def delete_messages(self, message_ids: tuple[int, ...]) -> None:
        """Delete messages of the group (an old card), ignoring those already gone."""
        for message_id in message_ids:
            with contextlib.suppress(BadRequest):
                await self.bot.delete_message(self.group, message_id)

    async def set_keyboard(self, query: CallbackQuery, markup: InlineKeyboardMarkup) -> None:
        """Swap the buttons of the pressed card (reasons, fields, back)."""
        try:
            await query.edit_message_reply_markup(markup)
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise

    async def notify_author(self, t: Testimonial, key: str, **params: object) -> None:
        """Tell a testimonial's author something; remember if they blocked the bot."""
        if t.user_id is None:
            return
        user = await self.repo.get_user(t.user_id)
        if user is None or user.blocked_bot:
            return
        lang = user.language or t.language
        try:
            await self.bot.send_message(t.user_id, self.texts(lang, key, **params))
        except Forbidden:
            log.info("author of testimonial #%d blocked the bot; not notified", t.id)
            await self.repo.set_blocked_bot(t.user_id, True)

    async def alert(self, text: str, markup: InlineKeyboardMarkup | None = None) -> Message:
        """Send a message to the organisers' group."""
        return await self.bot.send_message(self.group, text, reply_markup=markup)

    async def withdrawn_by_author(self, t: Testimonial) -> None:
        """Update the card of a testimonial its author withdrew."""
        if t.card_message_ids:
            line = self.texts(self.lang, "card.withdrawn_by_author", time=_time(t.updated_at))
            await self.update_card(t, line)

    async def update_card(self, t: Testimonial, footer: str | None = None) -> None:
        """``refresh_card``, logging instead of raising: a card that cannot be updated must
        not undo a decision already recorded."""
        try:
            await self.refresh_card(t, footer)
        except TelegramError as exc:
            log.warning("could not update the card of #%d: %s", t.id, exc)

    # -- who may press ---------------------------------------------------------------------------

    async def is_organiser(self, user: TgUser | None) -> bool:
        """Return whether a user is an admin of the group or in LIVREDOR_ADMIN_IDS."""
        if user is None:
            return False
        if user.id in self.settings.admin_ids:
            return True
        now = time.monotonic()
        if self._admins is None or now - self._admins[0] > ADMIN_CACHE_SECONDS:
            try:
                admins = await self.bot.get_chat_administrators(self.group)
                ids = frozenset(m.user.id for m in admins)
            except TelegramError as exc:
                log.warning("could not list the group's administrators: %s", exc)
                ids = frozenset()
            self._admins = (now, ids)
        if user.id in self._admins[1]:
            return True
        # A new admin since the cache was filled: ask about this one person.
        try:
            member = await self.bot.get_chat_member(self.group, user.id)
        except TelegramError:
            return False
        if member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER):
            self._admins = (self._admins[0], self._admins[1] | {user.id})
            return True
        return False


# -- handlers ---------------------------------------------------------------------------------


def _moderation(context: ContextTypes.DEFAULT_TYPE) -> tuple[Services, Moderation]:
    svc = services(context)
    assert svc.moderation is not None
    return svc, svc.moderation


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Handle a card button: check who pressed, then act (``mod:<action>:<id>[:<arg>]``)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    svc, mod = _moderation(context)
    t, lang = svc.texts, mod.lang
    chat = update.effective_chat
    if chat is None or chat.id != mod.group:
        log.warning(
            "card button pressed outside the organisers' group (chat %s): ignored",
            chat.id if chat else None,
        )
        await answer_query(query, t(lang, "moderation.unknown_button"), show_alert=True)
        return
    if not await mod.is_organiser(query.from_user):
        await answer_query(query, t(lang, "moderation.only_organisers"), show_alert=True)
        return
    match = re.match(MOD_PATTERN, query.data)
    assert match is not None
    action, tid, arg = match.group(1), int(match.group(2)), match.group(3)
    testimonial = await svc.repo.get(tid)
    if testimonial is None:
        await answer_query(query, t(lang, "moderation.not_found"), show_alert=True)
        return
    presser = profile_name(query.from_user)
    await ACTIONS[action](query, svc, mod, testimonial, presser, arg)


async def _decide(
    query: CallbackQuery,
    svc: Services,
    mod: Moderation,
    tm: Testimonial,
    who: str,
    target: Status,
    reason: str | None,
) -> None:
    t, lang = svc.texts, mod.lang
    decision = await svc.repo.decide(
        tm.id, target, by=query.from_user.id, by_name=who, reason=reason
    )
    if not decision.won:
        await answer_query(query, _already(svc, mod, decision.testimonial), show_alert=True)
        return
    decided = decision.testimonial
    assert decided is not None
    log.info("testimonial #%d %s by %s (%d)", tm.id, target.value, who, query.from_user.id)
    if target is Status.APPROVED:
        await answer_query(query, t(lang, "moderation.approved_answer"))
        # The card is edited once the post is out (the publisher does it): one edit.
        if svc.publisher is not None:
            svc.publisher.wake()
        return
    await answer_query(query, t(lang, "moderation.rejected_answer"))
    await mod.update_card(decided)
    if reason:
        await mod.notify_author(decided, "author.rejected", id=decided.id, reason=reason)
    else:
        await mod.notify_author(decided, "author.rejected_noreason", id=decided.id)


def _already(svc: Services, mod: Moderation, tm: Testimonial | None) -> str:
    t, lang = svc.texts, mod.lang
    if tm is None:
        return t(lang, "moderation.not_found")
    who = tm.decided_by_name or "?"
    if tm.status is Status.REJECTED:
        return t(lang, "moderation.already_rejected", who=who)
    if tm.status in (Status.APPROVED, Status.PUBLISHING, Status.PUBLISHED):
        return t(lang, "moderation.already_approved", who=who)
    return t(lang, "moderation.already_other", status=t(lang, f"status.{tm.status.value}"))


async def _approve(
    query: CallbackQuery, svc: Services, mod: Moderation, tm: Testimonial, who: str, arg: str | None
) -> None:
    await _decide(query, svc, mod, tm, who, Status.APPROVED, None)


async def _reject(
    query: CallbackQuery, svc: Services, mod: Moderation, tm: Testimonial, who: str, arg: str | None
) -> None:
    if tm.status is not Status.PENDING:
        await answer_query(query, _already(svc, mod, tm), show_alert=True)
        return
    await answer_query(query)
    await mod.set_keyboard(query, mod.reasons_keyboard(tm.id))


async def _reason(
    query: CallbackQuery, svc: Services, mod: Moderation, tm: Testimonial, who: str, arg: str | None
) -> None:
    reasons = svc.texts.raw(mod.lang, "moderation.reasons").split("\n")
    index = int(arg) if arg and arg.isdigit() else -1
    if not 0 <= index < len(reasons):
        await answer_query(query, svc.texts(mod.lang, "moderation.unknown_button"), show_alert=True)
        return
    await _decide(query, svc, mod, tm, who, Status.REJECTED, reasons[index])


async def _other(
    query: CallbackQuery, svc: Services, mod: Moderation, tm: Testimonial, who: str, arg: str | None
) -> None:
    if tm.status is not Status.PENDING:
        await answer_query(query, _already(svc, mod, tm), show_alert=True)
        return
    await svc.repo.set_prompt(mod.group, query.from_user.id, tm.id, "reject")
    await answer_query(query, svc.texts(mod.lang, "moderation.type_reason"), show_alert=True)


async def _edit(
    query: CallbackQuery, svc: Services, mod: Moderation, tm: Testimonial, who: str, arg: str | None
) -> None:
    if tm.status is not Status.PENDING:
        await answer_query(query, svc.texts(mod.lang, "moderation.not_pending"), show_alert=True)
        return
    await answer_query(query)
    await mod.set_keyboard(query, mod.edit_keyboard(tm.id))


async def _field(
    query: CallbackQuery, svc: Services, mod: Moderation, tm: Testimonial, who: str, arg: str | None
) -> None:
    t, lang = svc.texts, mod.lang
    if tm.status is not Status.PENDING or arg not in ("name", "organisation", "quote"):
        await answer_query(query, t(lang, "moderation.not_pending"), show_alert=True)
        return
    await svc.repo.set_prompt(mod.group, query.from_user.id, tm.id, f"edit:{arg}")
    current = getattr(tm, arg).replace("\n", " / ")
    current = current if len(current) <= 120 else current[:119] + "…"
    # An alert shows plain text: no escaping, but keep it within Telegram's 200 characters.
    text = t.raw(lang, "moderation.type_correction").format(
        field=t.raw(lang, f"moderation.field_{arg}"), current=current
    )
    await answer_query(query, text[:200], show_alert=True)


async def _back(
    query: CallbackQuery, svc: Services, mod: Moderation, tm: Testimonial, who: str, arg: str | None
) -> None:
    await answer_query(query)
    _, markup = mod.outcome(tm)
    if markup is not None:
        await mod.set_keyboard(query, markup)


async def _unpublish(
    query: CallbackQuery, svc: Services, mod: Moderation, tm: Testimonial, who: str, arg: str | None
) -> None:
    if tm.status is not Status.PUBLISHED:
        await answer_query(query, _already(svc, mod, tm), show_alert=True)
        return
    await answer_query(query)
    await mod.set_keyboard(
        query,
        mod.keyboard(
            [
                [("card.confirm_unpublish", f"mod:unpublish_yes:{tm.id}")],
                [("card.back", f"mod:back:{tm.id}")],
            ]
        ),
    )


async def _unpublish_yes(
    query: CallbackQuery, svc: Services, mod: Moderation, tm: Testimonial, who: str, arg: str | None
) -> None:
    withdrawn = await svc.repo.withdraw(tm.id)
    if withdrawn is None:
        await answer_query(query, _already(svc, mod, tm), show_alert=True)
        return
    log.info("testimonial #%d unpublished by %s", tm.id, who)
    await answer_query(query, svc.texts(mod.lang, "moderation.unpublish_answer"))
    line = svc.texts(mod.lang, "card.unpublished_by", who=who, time=_time(withdrawn.updated_at))
    await mod.update_card(withdrawn, line)
    await mod.notify_author(withdrawn, "author.unpublished", id=withdrawn.id)
    if svc.publisher is not None:
        svc.publisher.wake()


async def _republish(
    query: CallbackQuery, svc: Services, mod: Moderation, tm: Testimonial, who: str, arg: str | None
) -> None:
    requeued = await svc.repo.requeue(tm.id, from_status=Status.PUBLISHING)
    if requeued is None:
        await answer_query(query, _already(svc, mod, tm), show_alert=True)
        return
    await answer_query(query, svc.texts(mod.lang, "moderation.republished", who=who))
    await _drop_keyboard(query)
    if svc.publisher is not None:
        svc.publisher.wake()


async def _markpub(
    query: CallbackQuery, svc: Services, mod: Moderation, tm: Testimonial, who: str, arg: str | None
) -> None:
    marked = await svc.repo.transition(tm.id, Status.PUBLISHED, expected=Status.PUBLISHING)
    if marked is None:
        await answer_query(query, _already(svc, mod, tm), show_alert=True)
        return
    await answer_query(query, svc.texts(mod.lang, "moderation.marked_published", who=who))
    await _drop_keyboard(query)
    await mod.update_card(marked)


async def _retry(
    query: CallbackQuery, svc: Services, mod: Moderation, tm: Testimonial, who: str, arg: str | None
) -> None:
    await svc.repo.requeue(tm.id, from_status=Status.APPROVED)
    await answer_query(query, svc.texts(mod.lang, "moderation.retrying"))
    await _drop_keyboard(query)
    if svc.publisher is not None:
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
    "back": _back,
    "unpublish": _unpublish,
    "unpublish_yes": _unpublish_yes,
    "republish": _republish,
    "markpub": _markpub,
    "retry": _retry,
}


async def unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a button whose data we did not make (forged, or from an old version)."""
    query = update.callback_query
    assert query is not None
    svc = services(context)
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


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An organiser's message in the group: the answer to their open prompt, if any."""
    svc, mod = _moderation(context)
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or message.text is None:
        return
    prompt = await svc.repo.pop_prompt(mod.group, user.id)
    if prompt is None:
        return
    tm = await svc.repo.get(prompt.testimonial_id)
    t, lang = svc.texts, mod.lang
    if tm is None or tm.status is not Status.PENDING:
        await message.reply_text(t(lang, "moderation.not_pending"))
        return
    who = profile_name(user)
    text = message.text.strip()
    if prompt.action == "reject":
        if not text:
            return
        fake_query_user = user
        decision = await svc.repo.decide(
            tm.id, Status.REJECTED, by=fake_query_user.id, by_name=who, reason=text[:500]
        )
        if not decision.won or decision.testimonial is None:
            await message.reply_text(_already(svc, mod, decision.testimonial))
            return
        log.info("testimonial #%d rejected by %s (%d)", tm.id, who, user.id)
        await mod.update_card(decision.testimonial)
        await mod.notify_author(
            decision.testimonial, "author.rejected", id=tm.id, reason=text[:500]
        )
        return
    field = prompt.action.split(":")[1]
    value = _clean_correction(field, text)
    if value is None:
        await message.reply_text(t(lang, "moderation.correction_empty"))
        return
    edited = await svc.repo.edit_pending(tm.id, field, value)
    if edited is None:
        await message.reply_text(t(lang, "moderation.not_pending"))
        return
    log.info("testimonial #%d: %s corrected by %s", tm.id, field, who)
    await mod.update_card(edited)


def _clean_correction(field: str, text: str) -> str | None:
    if field == "name":
        value = " ".join(text.split())
    elif field == "organisation":
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        value = "\n".join(lines[:3])
    else:
        value = text.strip()
    if not value or len(value) > CORRECTION_MAX[field]:
        return None
    return value


async def _organiser_only(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Moderation | None:
    svc, mod = _moderation(context)
    if not await mod.is_organiser(update.effective_user):
        message = update.effective_message
        if message is not None:
            await message.reply_text(svc.texts(mod.lang, "moderation.only_organisers"))
        return None
    return mod


async def pending_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send again the cards of the testimonials waiting for review, oldest first."""
    mod = await _organiser_only(update, context)
    if mod is None:
        return
    waiting = await mod.repo.list_by_status(Status.PENDING, limit=1000)
    if not waiting:
        await mod.alert(mod.texts(mod.lang, "moderation.pending_none"))
        return
    await mod.alert(mod.texts(mod.lang, "moderation.pending_header", count=len(waiting)))
    for testimonial in waiting:
        # Move the card to the bottom of the chat: one live card per testimonial.
        await mod.delete_messages(testimonial.card_message_ids)
        await mod.send_card(testimonial)


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Post the counts by status."""
    mod = await _organiser_only(update, context)
    if mod is None:
        return
    counts = await mod.repo.count_by_status()
    await mod.alert(
        mod.texts(
            mod.lang,
            "moderation.stats",
            **{status.value: count for status, count in counts.items()},
        )
    )


async def ban_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ban (/ban) or unban (/unban) the author of the card replied to."""
    mod = await _organiser_only(update, context)
    message = update.effective_message
    if mod is None or message is None or message.text is None:
        return
    banning = message.text.split()[0].split("@")[0].lower() == "/ban"
    reply = message.reply_to_message
    testimonial = await mod.repo.find_by_card(reply.message_id) if reply else None
    t, lang = mod.texts, mod.lang
    if testimonial is None:
        await message.reply_text(t(lang, "moderation.ban_usage"))
        return
    if testimonial.user_id is None or not await mod.repo.set_banned(testimonial.user_id, banning):
        await message.reply_text(t(lang, "moderation.ban_no_author"))
        return
    log.info("author of #%d %s", testimonial.id, "banned" if banning else "unbanned")
    key = "moderation.banned" if banning else "moderation.unbanned"
    await message.reply_text(t(lang, key, id=testimonial.id))


async def export_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the livre d'or as a file: /export [md|html|csv|json] (Markdown by default)."""
    mod = await _organiser_only(update, context)
    message = update.effective_message
    if mod is None or message is None:
        return
    fmt = context.args[0].lower().lstrip(".") if context.args else "md"
    if fmt not in FORMATS:
        await message.reply_text(mod.texts(mod.lang, "moderation.export_usage"))
        return
    testimonials = await mod.repo.list_for_book()
    data = render_book(testimonials, fmt, mod.settings).encode("utf-8")
    await mod.bot.send_document(
        mod.group,
        InputFile(data, filename=book_filename(fmt)),
        caption=mod.texts(mod.lang, "moderation.export_caption", count=len(testimonials)),
    )
    log.info("book exported as %s (%d testimonials)", fmt, len(testimonials))


def handlers(
    settings: Settings,
) -> list[tuple[int, BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]]:
    """Return the organisers' handlers with their group."""
    assert settings.organisers_chat_id is not None
    group = filters.Chat(settings.organisers_chat_id)
    return [
        (0, CallbackQueryHandler(pressed, pattern=MOD_PATTERN)),
        (0, CommandHandler("pending", pending_command, filters=group)),
        (0, CommandHandler("stats", stats_command, filters=group)),
        (0, CommandHandler(["ban", "unban"], ban_command, filters=group)),
        (0, CommandHandler("export", export_command, filters=group)),
        (
            0,
            MessageHandler(
                group & filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE, group_text
            ),
        ),
    ]


def fallback_handlers() -> list[tuple[int, BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]]:
    """Handlers registered last: any button nobody else matched."""
    return [(0, CallbackQueryHandler(unknown_button))]
