"""A person's own business with the bot, in private: language, /mine (and withdrawing),
/forget (erasing everything the bot holds about them)."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.handlers.chat import answer_query, button, drop_buttons, load_person, reply
from storage.models import Status

log = logging.getLogger(__name__)

LANGUAGE_PATTERN = r"^lang:(en|fr)$"
MINE_PATTERN = r"^mine:(ask|yes|no):\d+$"
FORGET_PATTERN = r"^forget:(yes|no)$"


async def language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer English or French."""
    svc, lang, _, _ = await load_person(update, context)
    markup = InlineKeyboardMarkup([[button("English", "lang:en"), button("Français", "lang:fr")]])
    await reply(update, svc.texts(lang, "language.choose"), markup)


async def chose_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Store the chosen language."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    svc, _, _, user = await load_person(update, context)
    chosen = query.data.split(":")[1]
    await answer_query(query)
    tg_user = update.effective_user
    if user is None:
        await svc.repo.upsert_user(
            tg_user.id, tg_user.first_name, tg_user.last_name, tg_user.username
        )
    await svc.repo.set_language(tg_user.id, chosen)
    await drop_buttons(query)
    await reply(update, svc.texts(chosen, "language.set"))


def _excerpt(text: str, length: int = 40) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


async def mine(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List my testimonials with their status; offer to withdraw those still live."""
    svc, lang, _, _ = await load_person(update, context)
    assert update.effective_user is not None
    items = await svc.repo.list_for_user(update.effective_user.id)
    t = svc.texts
    if not items:
        await reply(update, t(lang, "mine.none"))
        return
    lines = [t(lang, "mine.header")]
    buttons = []
    for item in items[:20]:
        status = t(lang, f"status.{item.status.value}")
        if item.status is Status.REJECTED and item.reject_reason:
            line = t(
                lang,
                "mine.item_reason",
                id=item.id,
                excerpt=_excerpt(item.quote),
                status=status,
                reason=item.reject_reason,
            )
        else:
            line = t(lang, "mine.item", id=item.id, excerpt=_excerpt(item.quote), status=status)
        lines.append(line)
        if item.status in (Status.PENDING, Status.APPROVED, Status.PUBLISHED):
            buttons.append([button(t(lang, "mine.withdraw", id=item.id), f"mine:ask:{item.id}")])
    await reply(update, "\n".join(lines), InlineKeyboardMarkup(buttons) if buttons else None)


async def mine_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Withdraw one of my testimonials (asks to confirm first)."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    svc, lang, _, _ = await load_person(update, context)
    _, action, raw_id = query.data.split(":")
    testimonial = await svc.repo.get(int(raw_id))
    t = svc.texts
    if testimonial is None or testimonial.user_id != update.effective_user.id:
        await answer_query(query, t(lang, "intake.stale_button"))
        return
    await answer_query(query)
    if action == "ask":
        markup = InlineKeyboardMarkup(
            [
                [
                    button(t(lang, "mine.withdraw_yes"), f"mine:yes:{testimonial.id}"),
                    button(t(lang, "common.no"), f"mine:no:{testimonial.id}"),
                ]
            ]
        )
        await reply(update, t(lang, "mine.withdraw_confirm", id=testimonial.id), markup)
        return
    await drop_buttons(query)
    if action == "no":
        return
    withdrawn = await svc.repo.withdraw(testimonial.id)
    if withdrawn is None:
        await reply(update, t(lang, "mine.not_withdrawable", id=testimonial.id))
        return
    log.info("testimonial #%d withdrawn by its author", testimonial.id)
    await reply(update, t(lang, "mine.withdrawn", id=testimonial.id))
    if svc.desk is not None:
        await svc.desk.withdrawn_by_author(withdrawn)
    if svc.publisher is not None:
        svc.publisher.wake()


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask to confirm erasing everything about me."""
    svc, lang, _, _ = await load_person(update, context)
    t = svc.texts
    markup = InlineKeyboardMarkup(
        [[button(t(lang, "forget.yes"), "forget:yes"), button(t(lang, "common.no"), "forget:no")]]
    )
    await reply(update, t(lang, "forget.confirm"), markup)


async def forget_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Erase everything about the presser (and queue the removal of their posts)."""
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    svc, lang, _, _ = await load_person(update, context)
    await answer_query(query)
    await drop_buttons(query)
    if query.data != "forget:yes":
        await reply(update, svc.texts(lang, "forget.kept"))
        return
    await svc.repo.forget_user(update.effective_user.id)
    log.info("user %d asked to be forgotten", update.effective_user.id)
    await reply(update, svc.texts(lang, "forget.done"))
    if svc.publisher is not None:
        svc.publisher.wake()
