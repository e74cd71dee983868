"""A person's own business with the bot, in private: language, /mine (and withdrawing),
/forget (erasing everything the bot holds about them), their answer to an organiser's edit."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update

from bot.services import author_edits, menus, relay
from bot.services.cards import reason_text
from bot.services.container import Context, Services
from bot.services.messages import answer_query, button, drop_buttons, reply
from bot.services.people import load_person
from bot.services.questions import ask
from bot.services.review_messages import erase_shown
from bot.services.typography import unframed
from storage.models import Status, Testimonial
from storage.textlength import shorten

log = logging.getLogger(__name__)

LANGUAGE_PATTERN = r"^lang:(en|fr)$"
MINE_PATTERN = r"^mine:(ask|yes|no):(\d{1,18})$"
FORGET_PATTERN = r"^forget:(yes|no)$"
AUTHOR_EDIT_PATTERN = r"^aut:(ok|keep|withdraw|withdraw_yes|back):(\d{1,18}):(\d{1,9})$"


async def language(update: Update, context: Context) -> None:
    """Offer English or French."""
    svc, lang, _, _ = await load_person(update, context, allow_banned=True)
    markup = InlineKeyboardMarkup([[button("English", "lang:en"), button("Français", "lang:fr")]])
    await reply(update, svc.texts(lang, "language.choose"), markup)


async def chose_language(update: Update, context: Context) -> None:
    """Store the chosen language."""
    query = update.callback_query
    assert query is not None and context.match is not None and update.effective_user is not None
    svc, _, draft, user = await load_person(update, context, allow_banned=True)
    chosen = context.match.group(1)
    await answer_query(query)
    tg_user = update.effective_user
    if user is None:
        await svc.repo.upsert_user(
            tg_user.id, tg_user.first_name, tg_user.last_name, tg_user.username
        )
    await svc.repo.set_language(tg_user.id, chosen)
    await drop_buttons(query)
    if draft is not None and draft.step is not None and not (user and user.banned):
        # Mid-conversation: the open question again, in the new language.
        await ask(update, svc, chosen, draft, svc.texts(chosen, "language.set"))
    else:
        await reply(update, svc.texts(chosen, "language.set"))


EXCERPT_WIDTH = 28  # perceived characters: the line still fits a phone with its status


def _sentence_start(text: str) -> str:
    # Status names are written to fit inside sentences ("is waiting for review"); a line of
    # /mine starts with one.
    return text[:1].upper() + text[1:]


async def mine(update: Update, context: Context) -> None:
    """List my testimonials, status first, with my own numbering; offer to withdraw those
    still live."""
    svc, lang, _, _ = await load_person(update, context, allow_banned=True)
    assert update.effective_user is not None
    items = await svc.repo.list_for_user(update.effective_user.id)
    texts = svc.texts
    if not items:
        await reply(update, texts(lang, "mine.none"))
        return
    numbers = await svc.repo.own_numbers(update.effective_user.id)
    lines = [texts(lang, "mine.header")]
    buttons = []
    for item in items[:20]:
        number = numbers[item.id]
        status = _sentence_start(texts(lang, f"status.{item.status.value}"))
        # Shown inside « »: without the attendee's own pair around the whole quote.
        excerpt = shorten(unframed(item.quote), EXCERPT_WIDTH)
        given = reason_text(texts, lang, item) if item.status is Status.REJECTED else None
        if given:
            reason = shorten(given, EXCERPT_WIDTH)
            line = texts(
                lang,
                "mine.item_reason",
                number=number,
                excerpt=excerpt,
                status=status,
                reason=reason,
            )
        else:
            line = texts(lang, "mine.item", number=number, excerpt=excerpt, status=status)
        lines.append(line)
        if item.status in (Status.PENDING, Status.APPROVED, Status.PUBLISHED):
            label = texts(lang, "mine.withdraw", number=number)
            buttons.append([button(label, f"mine:ask:{item.id}")])
    await reply(update, "\n".join(lines), InlineKeyboardMarkup(buttons) if buttons else None)


async def mine_pressed(update: Update, context: Context) -> None:
    """Withdraw one of my testimonials (asks to confirm first)."""
    query = update.callback_query
    assert query is not None and context.match is not None and update.effective_user is not None
    svc, lang, _, _ = await load_person(update, context, allow_banned=True)
    action, raw_id = context.match.groups()
    # The button carries the database id; the sentences use the person's own numbering.
    numbers = await svc.repo.own_numbers(update.effective_user.id)
    testimonial = await svc.repo.get(int(raw_id))
    texts = svc.texts
    if (
        testimonial is None
        or testimonial.user_id != update.effective_user.id
        or testimonial.id not in numbers
    ):
        await answer_query(query, texts(lang, "intake.stale_button"))
        return
    number = numbers[testimonial.id]
    await answer_query(query)
    if action == "ask":
        markup = InlineKeyboardMarkup(
            [
                [
                    button(texts(lang, "mine.withdraw_yes"), f"mine:yes:{testimonial.id}"),
                    button(texts(lang, "common.no"), f"mine:no:{testimonial.id}"),
                ]
            ]
        )
        await reply(update, texts(lang, "mine.withdraw_confirm", number=number), markup)
        return
    await drop_buttons(query)
    if action == "no":
        return
    await _withdraw(update, context, svc, lang, testimonial, number)


async def _withdraw(
    update: Update,
    context: Context,
    svc: Services,
    lang: str,
    testimonial: Testimonial,
    number: int,
) -> None:
    """Withdraw one of the presser's testimonials (/mine, or their answer to an edit)."""
    texts = svc.texts
    withdrawn = await svc.repo.withdraw(testimonial.id)
    if withdrawn is not None:
        log.info("testimonial #%d withdrawn by its author", testimonial.id)
    elif testimonial.status is Status.WITHDRAWN:
        # Withdrawn already: a second press, or this press replayed after a crash between
        # the database and Telegram. What Telegram shows is done again (each step finds
        # what is already done and passes), so no /review message keeps the words.
        withdrawn = testimonial
    else:
        await reply(update, texts(lang, "mine.not_withdrawable", number=number))
        return
    await reply(update, texts(lang, "mine.withdrawn", number=number))
    svc.desk.withdrawn_by_author(withdrawn)
    await erase_shown(svc, context.bot, [withdrawn.id])
    svc.publisher.wake()


async def edit_answered(update: Update, context: Context) -> None:
    """Take the author's answer to an organiser's edit: approve the change, keep their own
    words, or withdraw the testimonial (after a confirmation)."""
    query = update.callback_query
    assert query is not None and context.match is not None and update.effective_user is not None
    svc, lang, _, _ = await load_person(update, context, allow_banned=True)
    action, raw_id, raw_rev = context.match.groups()
    tid, rev = int(raw_id), int(raw_rev)
    texts = svc.texts
    testimonial = await svc.repo.get(tid)
    numbers = await svc.repo.own_numbers(update.effective_user.id)
    waiting = (
        testimonial is not None
        and testimonial.user_id == update.effective_user.id
        and testimonial.status is Status.PENDING
        and testimonial.proposal is not None
        and testimonial.proposal.rev == rev
    )
    if testimonial is None or not waiting or tid not in numbers:
        # Decided meanwhile (published with the author's own words), edited again (a newer
        # message below), answered already, or not theirs.
        await answer_query(query, texts(lang, "author.edit_stale"), show_alert=True)
        await drop_buttons(query)
        return
    number = numbers[tid]
    if action in ("withdraw", "back"):
        await answer_query(query)
        markup = author_edits.keyboard(texts, lang, tid, rev, confirm_withdraw=action == "withdraw")
        await svc.desk.set_keyboard(query, markup)  # a double tap is "not modified"
        return
    if action == "withdraw_yes":
        await answer_query(query)
        await drop_buttons(query)
        await _withdraw(update, context, svc, lang, testimonial, number)
        return
    accept = action == "ok"
    answered = await svc.repo.answer_proposal(tid, rev, accept=accept)
    if answered is None:  # answered at the same moment from another device
        await answer_query(query, texts(lang, "author.edit_stale"), show_alert=True)
        return
    log.info("testimonial #%d: its author %s the edit", tid, "approved" if accept else "refused")
    await answer_query(query)
    await drop_buttons(query)
    key = "author.edit_approved" if accept else "author.edit_kept"
    await reply(update, texts(lang, key, number=number))
    line = texts(svc.group.lang, "card.author_approved" if accept else "card.author_kept")
    svc.desk.refresh_later(tid, line, words_changed=accept)


async def forget(update: Update, context: Context) -> None:
    """Ask to confirm erasing everything about me."""
    svc, lang, _, _ = await load_person(update, context, allow_banned=True)
    texts = svc.texts
    markup = InlineKeyboardMarkup(
        [
            [
                button(texts(lang, "forget.yes"), "forget:yes"),
                button(texts(lang, "common.no"), "forget:no"),
            ]
        ]
    )
    await reply(update, texts(lang, "forget.confirm"), markup)


async def forget_pressed(update: Update, context: Context) -> None:
    """Erase everything about the presser (and queue the removal of their posts)."""
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    svc, lang, _, _ = await load_person(update, context, allow_banned=True)
    await answer_query(query)
    await drop_buttons(query)
    if query.data != "forget:yes":
        await reply(update, svc.texts(lang, "forget.kept"))
        return
    user_id = update.effective_user.id
    held = await svc.repo.list_for_user(user_id)
    # Telegram's side first, the database's last: until forget_user commits, a crash (or a
    # connection failure) replays this press and finds every message again; each record
    # goes once its message is erased. The cards (and the books /export sent):
    deleted, edited = await svc.desk.erase_cards(held)
    # And where /review showed them, in organisers' private chats.
    reviews = await erase_shown(svc, context.bot, [h.id for h in held])
    # And the messages between them and the organisers ("Reply to the author"), both ways.
    exchanges = await relay.erase(svc, context.bot, user_id)
    forgotten = await svc.repo.forget_user(user_id)
    posted = forgotten.posted
    # An organiser who pressed their card, opened /review or sent /export meanwhile may have
    # put one up again before the rows went: once more, from what the rows held then (from
    # here on, a message shown for a testimonial that is gone is erased as it is recorded).
    more, more_edited = await svc.desk.erase_cards(forgotten.held)
    deleted, edited = deleted + more, edited + more_edited
    reviews += await erase_shown(svc, context.bot, [h.id for h in forgotten.held])
    exchanges += await relay.erase(svc, context.bot, user_id)
    # An organiser's own chat menu is remembered by their id: that goes too.
    await menus.drop_organiser_menu(context.bot, svc.repo, user_id)
    log.info(
        "user %d forgotten: %d testimonial(s), %d card message(s) deleted, %d blanked,"
        " %d /review message(s) and %d exchange message(s) erased, %d post(s) to remove",
        user_id,
        len(held),
        deleted,
        edited,
        reviews,
        exchanges,
        len(posted),
    )
    texts = svc.texts
    lines = [texts(lang, "forget.done")]
    lines.append(
        texts(lang, "forget.done_testimonials", count=len(held))
        if held
        else texts(lang, "forget.done_nothing")
    )
    if deleted:
        lines.append(texts(lang, "forget.done_cards_deleted", count=deleted))
    if edited:
        lines.append(texts(lang, "forget.done_cards_edited", count=edited))
    if reviews:
        lines.append(texts(lang, "forget.done_reviews", count=reviews))
    if exchanges:
        lines.append(texts(lang, "forget.done_exchanges", count=exchanges))
    if posted:
        lines.append(texts(lang, "forget.done_posts", count=len(posted)))
    # The person's own chat with the bot is not erased (the bot keeps no list of what it
    # showed there once a testimonial is sent): say so, and where to delete it.
    lines.append(texts(lang, "forget.this_chat"))
    await reply(update, "\n".join(lines))
    svc.publisher.wake()
