"""An organiser's edit waits for its author (LIVREDOR_EDITS_NEED_AUTHOR): the before/after
sent to them (a word diff, cut to fit one message), sent again at start if it never went
out, and the buttons they answer with (bot/handlers/account.py takes the answer)."""

from __future__ import annotations

import html
import logging

from markupsafe import Markup
from telegram import InlineKeyboardMarkup
from telegram.error import Forbidden, TelegramError

from bot.services.container import Services
from bot.services.messages import button
from bot.services.render import DEFAULT_LIMIT, plain_length
from bot.services.texts import Texts
from bot.services.worddiff import word_diff
from storage.models import Proposal, Testimonial
from storage.textlength import shorten

log = logging.getLogger(__name__)

#: The fields in the order the author reads them.
FIELDS = ("name", "organisation", "quote")
#: Unchanged words kept around each change, tried in turn until the message fits (None: the
#: whole text): a short testimonial is shown whole, a long one by its changed passages.
CONTEXTS: tuple[int | None, ...] = (None, 12, 6, 3, 1, 0)


async def propose(
    svc: Services, testimonial_id: int, field: str, value: str, *, by: int, who: str
) -> Testimonial | None:
    """Record an organiser's correction as an edit waiting for the author, update the card
    and show the author the before/after. None if the testimonial is no longer pending."""
    before = await svc.repo.get(testimonial_id)
    proposed = await svc.repo.propose_edit(testimonial_id, field, value, by=by, by_name=who)
    if proposed is None:
        return None
    if before is not None:
        await close(svc, before)  # the message of the edit this one replaces
    log.info("testimonial #%d: %s edit by %s waits for its author", proposed.id, field, who)
    svc.desk.refresh_later(proposed.id)
    await send(svc, proposed)
    return proposed


async def send(svc: Services, testimonial: Testimonial) -> None:
    """Show the author the edit waiting for them, with their three buttons, and record the
    message (an edit recorded but never shown is sent again at the next start)."""
    proposal = testimonial.proposal
    lang = await svc.desk.author_language(testimonial)
    if proposal is None or lang is None or testimonial.user_id is None:
        return
    numbers = await svc.repo.own_numbers(testimonial.user_id)
    text = message(svc.texts, lang, testimonial, proposal, numbers.get(testimonial.id, 0))
    try:
        sent = await svc.desk.bot.send_message(
            testimonial.user_id,
            text,
            reply_markup=keyboard(svc.texts, lang, testimonial.id, proposal.rev),
        )
    except Forbidden:
        log.info("author of testimonial #%d blocked the bot; edit not shown", testimonial.id)
        await svc.repo.set_blocked_bot(testimonial.user_id, True)
        return
    await svc.repo.set_proposal_message(testimonial.id, proposal.rev, sent.message_id)


async def close(svc: Services, testimonial: Testimonial) -> None:
    """Take the buttons off the author's message of an edit that no longer waits (decided,
    or replaced by a newer edit): a press would only be told so."""
    if testimonial.user_id is None or testimonial.proposal_message_id is None:
        return
    try:
        await svc.desk.bot.edit_message_reply_markup(
            testimonial.user_id, testimonial.proposal_message_id, reply_markup=None
        )
    except TelegramError as exc:  # gone, blocked, already without buttons: nothing to undo
        log.info("could not close the edit message of #%d: %s", testimonial.id, exc)


async def send_unsent(svc: Services) -> None:
    """At start: show their authors the edits a previous run recorded but did not show."""
    for testimonial_id in await svc.repo.proposals_to_send():
        testimonial = await svc.repo.get(testimonial_id)
        if testimonial is None:
            continue
        try:
            await send(svc, testimonial)
        except TelegramError as exc:
            log.warning("could not show #%d's edit to its author: %s", testimonial_id, exc)


def keyboard(
    texts: Texts, lang: str, testimonial_id: int, rev: int, *, confirm_withdraw: bool = False
) -> InlineKeyboardMarkup:
    """Approve the change / Keep my words / Withdraw (which asks to confirm)."""
    data = f"{testimonial_id}:{rev}"
    if confirm_withdraw:
        return InlineKeyboardMarkup(
            [
                [
                    button(texts(lang, "mine.withdraw_yes"), f"aut:withdraw_yes:{data}"),
                    button(texts(lang, "common.no"), f"aut:back:{data}"),
                ]
            ]
        )
    return InlineKeyboardMarkup(
        [
            [button(texts(lang, "author.edit_approve"), f"aut:ok:{data}")],
            [button(texts(lang, "author.edit_keep"), f"aut:keep:{data}")],
            [button(texts(lang, "author.edit_withdraw"), f"aut:withdraw:{data}")],
        ]
    )


def message(
    texts: Texts, lang: str, testimonial: Testimonial, proposal: Proposal, number: int
) -> str:
    """The before/after: each changed field with its removed words struck through and its
    added words in bold; the unchanged stretches of a long text cut to the words around
    each change, so that it fits one message."""
    head = texts(lang, "author.edit_proposed", number=number)
    foot = texts(lang, "author.edit_footer")
    fields = [f for f in FIELDS if f in proposal.fields]
    for context in CONTEXTS:
        blocks = []
        for field in fields:
            diff = word_diff(getattr(testimonial, field), proposal.fields[field], context=context)
            blocks.append(_block(texts, lang, field, diff.before, diff.after))
        text = "\n\n".join([head, *blocks, foot])
        if plain_length(text) <= DEFAULT_LIMIT:
            return text
    # Changed nearly everywhere: the beginning of each version, said to be shortened.
    budget = max(50, (DEFAULT_LIMIT - plain_length(head + foot) - 300) // (2 * len(fields)))
    blocks = [
        _block(
            texts,
            lang,
            field,
            html.escape(shorten(getattr(testimonial, field), budget)),
            html.escape(shorten(proposal.fields[field], budget)),
        )
        for field in fields
    ]
    return "\n\n".join([head, *blocks, texts(lang, "author.edit_shortened"), foot])


def _block(texts: Texts, lang: str, field: str, before: str, after: str) -> str:
    return texts(
        lang,
        "author.edit_field",
        field=Markup(texts(lang, f"card.edit_{field}")),
        before=Markup(before),
        after=Markup(after),
    )
