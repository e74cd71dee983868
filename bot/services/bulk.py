"""/review's "Approve all": a list of short testimonials, decided when its undo window closes.

An organiser lists up to ``MAX_LIST`` short testimonials, each shown whole in one message,
and approves them with one press; Undo is offered for ``LIVREDOR_REVIEW_UNDO_SECONDS``.

Why nothing is decided (nor posted) before the window closes, rather than posting at once
and deleting the posts on Undo: a channel post notifies its followers as it is sent, and can
be read, forwarded or captured in the seconds before a deletion, which calls none of that
back. So the press decides nothing: the testimonials stay waiting, held for the organiser
(a claim, as /review's), and the list waits in the database (``bulk_lists``, ``waiting``).
When the window closes, ``BulkDesk``'s worker approves them through the one decision path
(``decide``), one after the other in the order shown: that is their order in the channel,
after whatever was approved before that moment. Undo and the worker meet in one
compare-and-set (waiting to undone, or to committing): one of them wins. A kill -9 in the
window loses nothing: after a restart Undo still works until the window closes, and the
worker commits what is due (a list caught half-committed is resumed; approving the same
testimonial twice for the same organiser counts once).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden

from bot.services.container import Services
from bot.services.decisions import decide
from bot.services.messages import replace_with_notice
from bot.services.render import DEFAULT_LIMIT, plain_length, post_header_html, quote_paragraphs_html
from bot.services.signature import signed_line
from bot.services.telegram_errors import Refusal, classify
from storage.models import BulkList, Status, Testimonial, utcnow

log = logging.getLogger(__name__)

#: At most this many testimonials in one list.
MAX_LIST = 10
#: A quote this long or shorter may be listed (characters): ten of them fit one message.
SHORT_CHARS = 280
#: The list's message stays this far under Telegram's 4,096 (the last line, the counts).
LIST_BUDGET = DEFAULT_LIMIT - 300
#: How long the organiser holds what a list shows (as /review's claim), and past the undo
#: window (so that nobody else's /review shows them while they wait to be approved).
LIST_CLAIM = timedelta(minutes=5)


def digest(testimonial: Testimonial) -> str:
    """A fingerprint of the words a list shows: "Approve all" approves what was read, so a
    testimonial corrected since is left out."""
    words = "\0".join((testimonial.name, testimonial.organisation, testimonial.quote))
    return hashlib.sha256(words.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Shown:
    """A list ready to show: its testimonials (in order) and the message's text."""

    testimonials: tuple[Testimonial, ...]
    text: str


async def build_list(svc: Services, user_id: int, lang: str) -> Shown | None:
    """Claim the oldest short testimonials for an organiser and lay them out in one message,
    each whole, as many as fit (at most ``MAX_LIST``); None if fewer than two are short."""
    now = utcnow()
    claimed = await svc.repo.claim_short(
        user_id, now=now, until=now + LIST_CLAIM, max_chars=SHORT_CHARS, limit=MAX_LIST
    )
    texts = svc.texts
    blocks: list[str] = []
    shown: list[Testimonial] = []
    budget = LIST_BUDGET - plain_length(texts(lang, "review.list_header", count=MAX_LIST))
    for testimonial in claimed:
        paragraphs = quote_paragraphs_html(testimonial.quote)
        block = (
            texts(lang, "review.list_item", id=testimonial.id)
            + " "
            + post_header_html(testimonial.name, testimonial.organisation).replace("\n", " · ")
            + "\n"
            + signed_line(texts, lang, testimonial)
            + "\n".join(paragraphs)
        )
        cost = plain_length(block) + 2
        if cost > budget:
            break  # never cut one: it waits for the next list
        budget -= cost
        blocks.append(block)
        shown.append(testimonial)
    left = [t.id for t in claimed if t not in shown]
    await svc.repo.release_claims(left, user_id)
    if len(shown) < 2:
        await svc.repo.release_claims([t.id for t in shown], user_id)
        return None
    header = texts(lang, "review.list_header", count=len(shown))
    return Shown(tuple(shown), header + "\n\n" + "\n\n".join(blocks))


def list_keyboard(svc: Services, list_id: int, count: int, lang: str) -> InlineKeyboardMarkup:
    """Approve all N shown; one at a time."""
    texts = svc.texts
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts(lang, "review.approve_all", count=count),
                    callback_data=f"rev:bulk:{list_id}",
                )
            ],
            [
                InlineKeyboardButton(
                    texts(lang, "review.one_at_a_time"), callback_data=f"rev:single:{list_id}"
                )
            ],
        ]
    )


def undo_keyboard(svc: Services, list_id: int, lang: str) -> InlineKeyboardMarkup:
    """Undo (while the window is open)."""
    seconds = svc.settings.review_undo_seconds
    label = svc.texts(lang, "review.undo", seconds=seconds)
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"rev:undo:{list_id}")]]
    )


def waiting_text(svc: Services, bulk: BulkList, lang: str) -> str:
    """What the list's message says while its window is open: which, in which order."""
    taken = [i.testimonial_id for i in bulk.items if not i.left_out]
    left_out = [i.testimonial_id for i in bulk.items if i.left_out]
    texts = svc.texts
    text = texts(
        lang,
        "review.bulk_waiting",
        count=len(taken),
        ids=_ids(taken),
        seconds=svc.settings.review_undo_seconds,
    )
    if left_out:
        text += "\n" + texts(lang, "review.bulk_left_out", count=len(left_out), ids=_ids(left_out))
    return text


def _ids(ids: list[int]) -> str:
    return ", ".join(f"#{i}" for i in ids)


async def press(svc: Services, bulk: BulkList) -> BulkList | None:
    """ "Approve all" on a list: what changed since it was shown (decided, withdrawn,
    corrected) is left out; the rest waits for the undo window. None: pressed already."""
    left_out: list[int] = []
    for item in bulk.items:
        testimonial = await svc.repo.get(item.testimonial_id)
        if (
            testimonial is None
            or testimonial.status is not Status.PENDING
            or digest(testimonial) != item.digest
        ):
            left_out.append(item.position)
    now = svc.bulk.clock()
    if not await svc.repo.press_bulk(bulk.id, bulk.user_id, now=now, left_out=left_out):
        return None
    kept = [i.testimonial_id for i in bulk.items if i.position not in left_out]
    # Held for this organiser through the window: nobody else's /review shows them meanwhile.
    await svc.repo.claim_until(kept, bulk.user_id, now + svc.bulk.window + LIST_CLAIM)
    svc.bulk.poke()
    pressed = await svc.repo.get_bulk_list(bulk.id)
    log.info("bulk list %d: %d approval(s) waiting for the undo window", bulk.id, len(kept))
    return pressed


async def undo(svc: Services, bulk: BulkList) -> bool:
    """Undo a pressed list while its window is open; return False if it closed already."""
    since = svc.bulk.clock() - svc.bulk.window
    if not await svc.repo.undo_bulk(bulk.id, bulk.user_id, pressed_after=since):
        return False
    await svc.repo.release_claims([i.testimonial_id for i in bulk.items], bulk.user_id)
    log.info("bulk list %d undone", bulk.id)
    svc.bulk.poke()
    return True


async def commit_due(svc: Services, bot: Bot, now: datetime) -> datetime | None:
    """Approve the lists whose window has closed, each in its order (``BulkDesk`` calls it);
    return when the next window closes (None: no list waits)."""
    closed_before = now - svc.bulk.window
    for list_id in await svc.repo.bulk_due(pressed_before=closed_before):
        if not await svc.repo.start_bulk_commit(list_id, pressed_before=closed_before):
            continue  # undone at the last moment
        bulk = await svc.repo.get_bulk_list(list_id)
        if bulk is not None:
            await _commit(svc, bot, bulk)
    pressed = await svc.repo.next_bulk_press()
    return pressed + svc.bulk.window if pressed is not None else None


async def _commit(svc: Services, bot: Bot, bulk: BulkList) -> None:
    approved: list[int] = []
    counted: list[int] = []  # one approval of several needed (LIVREDOR_APPROVALS)
    not_taken: list[int] = []
    for item in bulk.items:
        if item.left_out:
            continue
        testimonial = await svc.repo.get(item.testimonial_id)
        if testimonial is None:
            not_taken.append(item.testimonial_id)
            continue
        if testimonial.status is not Status.PENDING:
            # Resumed after a crash: approved by this list already. Else decided elsewhere.
            mine = testimonial.decided_by == bulk.user_id and testimonial.status in (
                Status.APPROVED,
                Status.PUBLISHING,
                Status.PUBLISHED,
            )
            (approved if mine else not_taken).append(testimonial.id)
            continue
        if digest(testimonial) != item.digest:
            not_taken.append(testimonial.id)  # corrected during the window: not what was read
            continue
        decision = await decide(
            svc, testimonial.id, Status.APPROVED, by=bulk.user_id, who=bulk.user_name
        )
        if decision.won:
            approved.append(testimonial.id)
        else:
            (counted if decision.recorded else not_taken).append(testimonial.id)
    await svc.repo.finish_bulk(bulk.id)
    await svc.repo.release_claims([i.testimonial_id for i in bulk.items], bulk.user_id)
    log.info("bulk list %d committed: %d approved", bulk.id, len(approved))
    texts, lang = svc.texts, bulk.lang
    lines = []
    if approved:
        lines.append(texts(lang, "review.bulk_done", count=len(approved), ids=_ids(approved)))
    if counted:
        lines.append(texts(lang, "review.bulk_counted", count=len(counted), ids=_ids(counted)))
    if not_taken:
        lines.append(
            texts(lang, "review.bulk_not_taken", count=len(not_taken), ids=_ids(not_taken))
        )
    text = "\n".join(lines) or texts(lang, "review.bulk_none")
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts(lang, "review.carry_on"), callback_data="rev:next:0")]]
    )
    try:
        await bot.edit_message_text(
            text, chat_id=bulk.chat_id, message_id=bulk.message_id, reply_markup=markup
        )
    except BadRequest as exc:
        if classify(exc) is not Refusal.NOT_MODIFIED:
            log.info("could not update bulk list %d's message: %s", bulk.id, exc)
    except Forbidden:
        pass  # the organiser blocked the bot: the approvals stand


async def erase_lists(svc: Services, bot: Bot, testimonial_ids: list[int]) -> int:
    """Erase every list still shown that shows one of these testimonials (withdrawn, or its
    author forgotten): the message is edited to say so. Return how many were erased. The
    lists are closed once their messages are erased: a crash in between erases them again."""
    erased = 0
    shown = await svc.repo.bulk_shown(testimonial_ids)
    for bulk in shown:
        erased += await _erase_message(svc, bot, bulk)
    await svc.repo.close_bulk_shown([b.id for b in shown], testimonial_ids)
    return erased


async def erase_if_gone(svc: Services, bot: Bot, list_id: int) -> None:
    """After a list was put on screen: if one of its testimonials was withdrawn or forgotten
    meanwhile (the erasure ran before the list was on screen, or closed it), erase it now."""
    current = await svc.repo.get_bulk_list(list_id)
    if current is None:
        return
    gone = False
    for item in current.items:
        testimonial = await svc.repo.get(item.testimonial_id)
        gone = gone or testimonial is None or testimonial.status is Status.WITHDRAWN
    if not gone and current.state != "closed":
        return
    await svc.repo.close_bulk_lists(current.chat_id, current.message_id)
    await svc.repo.release_claims([i.testimonial_id for i in current.items], current.user_id)
    await _erase_message(svc, bot, current)


async def _erase_message(svc: Services, bot: Bot, shown: BulkList) -> bool:
    text = svc.texts(shown.lang, "review.withdrawn")
    return await replace_with_notice(bot, shown.chat_id, shown.message_id, text)
