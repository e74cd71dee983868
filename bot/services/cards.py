"""The organisers' cards: rendering, sending, editing, and who counts as an organiser.

Group traffic is kept low (Telegram allows about 20 messages a minute into a group, edits
included): one card per testimonial, one edit per outcome.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup
from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)
from telegram import User as TgUser
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.services.backlog import Backlog
from bot.services.clock import Clock
from bot.services.group import OrganisersGroup
from bot.services.limiter import retry_seconds
from bot.services.links import USERNAME_KEY, is_private_link, post_link
from bot.services.render import (
    DEFAULT_LIMIT,
    plain_length,
    post_header_html,
    quote_paragraphs_html,
    split_html_paragraphs,
)
from bot.services.sessions import Sessions
from bot.services.signature import byline, signed_line
from bot.services.telegram_errors import Refusal, classify
from bot.services.texts import Texts
from bot.services.workers import stop_task
from config.settings import Settings
from storage.models import Status, Testimonial
from storage.testimonials import Repository

log = logging.getLogger(__name__)

#: The statuses of a testimonial an exported book may hold (approved when /export ran; the
#: book takes approved, publishing and published; withdrawn: maybe since).
IN_A_BOOK = frozenset({Status.APPROVED, Status.PUBLISHING, Status.PUBLISHED, Status.WITHDRAWN})


@dataclass(frozen=True, slots=True)
class CardJob:
    """One job of the card sender: ``send`` a new card (or finish a half-sent one),
    ``refresh`` an existing one's outcome line and buttons (its last part), ``rewrite`` it
    (the words changed: every part), ``repost`` it at the bottom of the group, ``photo``:
    delete the photo above it (taken off)."""

    testimonial_id: int
    kind: str
    footer: str | None = None


#: The buttons that live on the card itself (Retry, Post again and Mark as posted are on
#: separate alerts): a press on any message but the testimonial's recorded card is refused.
CARD_BUTTONS = frozenset(
    {
        "approve",
        "reject",
        "reason",
        "other",
        "edit",
        "field",
        "write",
        "back",
        "unpublish",
        "unpublish_yes",
    }
)

# Cards are split shorter than posts so that an outcome line always fits on the last part.
CARD_LIMIT = 3600
CARD_MARKER = "({i}/{n})"
# The card sender's pauses after an error (doubling), and when it gives up on a refused job.
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0
GIVE_UP_AFTER = 3
ADMIN_CACHE_SECONDS = 120.0
# The ready-made rejection reasons, in button order: texts ``reasons.<key>`` in each language.
REASON_KEYS = ("off_topic", "offensive", "duplicate", "personal")
# An admin who has not acted for this long is checked again before a decision or an export.
RECHECK_SECONDS = 30.0


def reason_text(texts: Texts, lang: str, testimonial: Testimonial) -> str | None:
    """Return why a testimonial was rejected, in ``lang`` for a ready-made reason, as typed
    for a typed one (None: no reason given)."""
    if testimonial.reject_reason_key:
        return texts(lang, f"reasons.{testimonial.reject_reason_key}")
    return testimonial.reject_reason


def format_time(value: datetime | None) -> str:
    """Return a time as organisers read it on a card."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


class CardDesk:
    """Sends and updates the organisers' cards (through the group's one writer), tells
    authors the outcome, and knows who organises."""

    def __init__(
        self,
        group: OrganisersGroup,
        repo: Repository,
        texts: Texts,
        settings: Settings,
        sessions: Sessions,
        backlog: Backlog,
        clock: Clock | None = None,
    ) -> None:
        self.group = group
        self.bot = group.bot
        self.repo = repo
        self.texts = texts
        self.settings = settings
        self.sessions = sessions
        self.backlog = backlog  # past its threshold, new cards give way to a summary
        # Every write into the group that concerns a card goes through this one queue, in
        # order, so that only the card sender ever reads or writes card message ids.
        self._jobs: deque[CardJob] = deque()
        self._more = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._job_in_hand = False
        clock = clock or Clock()
        self.sleep = clock.sleep  # what the back-offs wait on
        # When the admin list was read and each admin last confirmed (``clock``'s seconds;
        # a test may set a fake clock).
        self.clock: Callable[[], float] = clock.now
        self._admins: tuple[float, frozenset[int]] | None = None
        #: Why the organisers' group refuses cards (the bot was removed from it, or it is
        #: gone), in one sentence for the log and ``livredor health``; None when it takes them.
        self.unreachable: str | None = None
        self.unreachable_changed = asyncio.Event()
        #: Set when Telegram says the bot is back in the group: ends a back-off at once.
        self._back_in_group = asyncio.Event()
        self._seen: dict[int, float] = {}  # admin id -> when Telegram last confirmed it
        self.channel_username: str | None = None  # learnt with getChat at start

    # -- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Queue the cards that are missing or half-sent (the bot stopped between the
        submission and its card, or between two parts of it), then start sending."""
        for testimonial_id in await self.repo.cards_to_send():
            self._put(CardJob(testimonial_id, "send"))
        self._task = asyncio.create_task(self._send_cards(), name="livredor-cards")

    async def learn_channel(self) -> None:
        """Ask Telegram the channel's public username (links that open for everyone; a
        private channel has none) and keep it in the database, where ``livredor export``
        finds it; if Telegram cannot tell, the one kept from the last start is used."""
        if self.settings.channel_id is None:
            return
        try:
            chat = await self.bot.get_chat(self.settings.channel_id)
        except TelegramError as exc:
            log.warning("could not read the channel's public name: %s", exc)
            self.channel_username = await self.repo.get_state(USERNAME_KEY)
            return
        self.channel_username = chat.username
        await self.repo.set_state(USERNAME_KEY, chat.username)
        if chat.username is None:
            log.info("the channel is private: post links open for its members only")

    def post_link(self, testimonial: Testimonial) -> str | None:
        """Return the link of the testimonial's channel post (None: not posted, or no link
        form): the public one when the channel has a public username."""
        if not testimonial.channel_message_ids:
            return None
        message_id = testimonial.channel_message_ids[0]
        return post_link(self.settings.channel_id, message_id, self.channel_username)

    async def stop(self) -> None:
        """Stop sending cards (unsent ones are found again at the next start)."""
        await stop_task(self._task)

    def _put(self, job: CardJob) -> None:
        # The same job twice in the queue would do the same work twice (two /pending).
        if job not in list(self._jobs)[1 if self._job_in_hand else 0 :]:
            self._jobs.append(job)
            self._more.set()

    def submitted(self, testimonial_id: int) -> None:
        """Queue the card of a new submission (sent in the background: the group's flood
        limit must not delay the attendee's thank-you)."""
        self._put(CardJob(testimonial_id, "send"))

    def refresh_later(
        self, testimonial_id: int, footer: str | None = None, *, words_changed: bool = False
    ) -> None:
        """Queue a card update (deciders and the publisher must not wait on the group's
        flood limit); ``footer`` replaces the outcome line the status implies. Only the last
        part (outcome and buttons) is edited, every part when ``words_changed``."""
        self._put(CardJob(testimonial_id, "rewrite" if words_changed else "refresh", footer))

    def photo_removed(self, testimonial_id: int) -> None:
        """Queue deleting the photo shown above a card (the card itself is unchanged)."""
        self._put(CardJob(testimonial_id, "photo"))

    def repost_later(self, testimonial_id: int) -> None:
        """Queue moving a pending testimonial's card to the bottom of the group (/pending)."""
        self._put(CardJob(testimonial_id, "repost"))

    def queued(self) -> int:
        """Return how many card jobs wait (for /pending's estimate)."""
        return len(self._jobs)

    def idle(self) -> bool:
        """Return whether no card job is queued or in hand."""
        return not self._jobs and not self._job_in_hand

    async def _send_cards(self) -> None:
        """Do the jobs one at a time, in order. A failed job stays first and is tried again
        after a pause (Telegram's ``retry_after``, or a growing back-off), so order is kept;
        a job Telegram keeps refusing (400, 403) is dropped after a few tries."""
        failures = 0
        while True:
            if not self._jobs:
                self._more.clear()
                await self._more.wait()
                continue
            job = self._jobs[0]
            self._job_in_hand = True
            # Cleared before the attempt: a return reported while it fails still ends the wait.
            self._back_in_group.clear()
            try:
                await self._do(job)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                if self._group_refuses(exc):
                    # Not this card's fault: every card waits, none is dropped, until the
                    # organisers let the bot back in (tried again every minute at most).
                    delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (failures - 1))
                    self._job_in_hand = False
                    await self._wait_or_back(delay)
                    continue
                if isinstance(exc, BadRequest | Forbidden) and failures >= GIVE_UP_AFTER:
                    log.error("card job %s dropped after %d tries: %s", job, failures, exc)
                else:
                    delay = (
                        retry_seconds(exc) + 0.1
                        if isinstance(exc, RetryAfter)
                        else min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (failures - 1))
                    )
                    log.warning("card job %s failed (%s); again in %.1f s", job, exc, delay)
                    self._job_in_hand = False
                    await self.sleep(delay)
                    continue
            finally:
                self._job_in_hand = False
            failures = 0
            self._reachable()
            if self._jobs and self._jobs[0] is job:
                self._jobs.popleft()

    async def _wait_or_back(self, delay: float) -> None:
        """Wait ``delay`` on the clock, or less if Telegram says the bot is back in the group
        (``bot_back_in_group``): the organisers who add it again see the cards at once."""
        back = asyncio.ensure_future(self._back_in_group.wait())
        pause = asyncio.ensure_future(self.sleep(delay))
        try:
            await asyncio.wait((back, pause), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in (back, pause):
                waiting.cancel()

    def _group_refuses(self, exc: Exception) -> bool:
        """Whether ``exc`` says the group refuses the bot itself (removed, banned, gone);
        the first time, say so in the log as an ERROR, with what to do."""
        refusal = classify(exc) if isinstance(exc, TelegramError) else None
        if refusal not in (Refusal.NOT_MEMBER, Refusal.CHAT_GONE):
            return False
        self._unreachable(str(exc))
        return True

    def _unreachable(self, why: str) -> None:
        """The group refuses the bot: said once, as an ERROR with what to do; attendees are
        told their testimonial is saved and will reach the organisers (``thanks``)."""
        if self.unreachable is None:
            self.unreachable = (
                f"the organisers' group {self.group.chat_id} refuses the bot ({why}): add "
                f"@{self.bot.username} "
                "to it again as an administrator; the cards wait and go out then"
            )
            log.error("%s", self.unreachable)
            self.unreachable_changed.set()

    def _reachable(self) -> None:
        if self.unreachable is not None:
            log.info("the organisers' group takes cards again")
            self.unreachable = None
            self.unreachable_changed.set()

    def bot_left_group(self) -> None:
        """Telegram says the bot was removed from the group (``my_chat_member``): from now
        on cards wait and attendees are told so, before any card is refused."""
        self._unreachable("removed from it")

    def bot_back_in_group(self) -> None:
        """Telegram says the bot is in the group again: it takes cards; the card sender
        stops waiting out its back-off and sends what waits."""
        self._reachable()
        self._back_in_group.set()

    async def _do(self, job: CardJob) -> None:
        testimonial = await self.repo.get(job.testimonial_id)
        if testimonial is None:
            return
        if job.kind == "send":
            if testimonial.status is Status.PENDING and not testimonial.card_done:
                # At event scale a new card waits for nobody: the group gets one summary and
                # organisers use /review. A card already half out is finished.
                if not testimonial.card_message_ids and not await self.backlog.wants_card():
                    self.backlog.poke()
                    return
                await self.send_card(testimonial)
        elif job.kind == "repost":
            if testimonial.status is Status.PENDING:
                # Move the card to the bottom of the chat: one live card per testimonial.
                await self._drop_photo(testimonial)
                await self.delete_messages(testimonial.card_message_ids)
                await self.repo.set_card_messages(testimonial.id, [], done=False)
                await self.send_card(await self._reread(testimonial))
        elif job.kind == "photo" or not testimonial.card_message_ids:
            if testimonial.portrait is None:
                await self._drop_photo(testimonial)
        else:
            await self.refresh_card(testimonial, job.footer, words_changed=job.kind == "rewrite")

    async def _reread(self, testimonial: Testimonial) -> Testimonial:
        fresh = await self.repo.get(testimonial.id)
        return fresh if fresh is not None else testimonial

    # -- rendering -----------------------------------------------------------------------------

    def _author(self, testimonial: Testimonial, lang: str) -> str:
        texts = self.texts
        if testimonial.user_id is None:
            return texts(lang, "card.imported")
        link = texts(
            lang,
            "card.author_link",
            user_id=testimonial.user_id,
            name=testimonial.author_name or "?",
        )
        if testimonial.author_username:
            return texts(
                lang,
                "card.author_username",
                link=Markup(link),
                username=testimonial.author_username,
            )
        return link

    def card_parts(
        self, testimonial: Testimonial, footer: str | None = None, *, lang: str | None = None
    ) -> list[str]:
        """Return the card's messages: a header, the post as it will be published, and an
        optional outcome line at the end of the last part. ``lang``: the organisers' by
        default (the group); /review passes the organiser's own."""
        lang = lang or self.group.lang
        author = Markup(self._author(testimonial, lang))
        header = self.texts(
            lang,
            "card.header",
            id=testimonial.id,
            author=author,
            language=testimonial.language,
            time=format_time(testimonial.submitted_at or testimonial.created_at),
        )
        session = self.sessions.title(testimonial.start_payload, lang)
        if session:
            header += "\n" + self.texts(lang, "card.session", title=session)
        # The post as it will be published, signed as the author chose; the name they gave
        # is on the line above it when the two differ.
        name, organisation = byline(testimonial, self.texts)
        signed = signed_line(self.texts, lang, testimonial)  # "" or a line and its break
        header += "\n" + signed + "\n" + post_header_html(name, organisation)
        hashtags = self.sessions.hashtags(self.settings.event_hashtag, testimonial.start_payload)
        paragraphs = quote_paragraphs_html(testimonial.quote, hashtag=hashtags)
        # The buttons sit on the last part: it must say whose testimonial a tap decides.
        named = self.texts(lang, "card.continued", id=testimonial.id, author=author)
        # The last part also carries the outcome line (a typed reason can be 500 characters):
        # both come out of the part's budget, so that it stays within Telegram's 4,096.
        extra = plain_length(named + "\n\n") + (plain_length("\n\n" + footer) if footer else 0)
        limit = min(CARD_LIMIT, DEFAULT_LIMIT - extra)
        parts = split_html_paragraphs(header, paragraphs, limit=limit, marker=CARD_MARKER)
        if len(parts) > 1:
            parts[-1] = named + "\n\n" + parts[-1]
        if footer:
            parts[-1] += "\n\n" + footer
        return parts

    def keyboard(self, rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
        """Build buttons from (text key, callback data) rows."""
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(self.texts(self.group.lang, k), callback_data=d)
                    for k, d in row
                ]
                for row in rows
            ]
        )

    def pending_keyboard(self, tid: int) -> InlineKeyboardMarkup:
        """Approve / Reject; Edit / Reply to the author."""
        return self.keyboard(
            [
                [("card.approve", f"mod:approve:{tid}"), ("card.reject", f"mod:reject:{tid}")],
                [("card.edit", f"mod:edit:{tid}"), ("card.write", f"mod:write:{tid}")],
            ]
        )

    def reasons_keyboard(self, tid: int) -> InlineKeyboardMarkup:
        """The ready-made rejection reasons, typing one, and back."""
        rows = [
            [
                InlineKeyboardButton(
                    self.texts(self.group.lang, f"reasons.{key}"),
                    callback_data=f"mod:reason:{tid}:{i}",
                )
            ]
            for i, key in enumerate(REASON_KEYS)
        ]
        rows.append(
            [
                InlineKeyboardButton(
                    self.texts(self.group.lang, "card.other_reason"),
                    callback_data=f"mod:other:{tid}",
                )
            ]
        )
        rows.append(
            [
                InlineKeyboardButton(
                    self.texts(self.group.lang, "card.back"), callback_data=f"mod:back:{tid}"
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

    def waiting_line(self, testimonial: Testimonial, lang: str | None = None) -> str | None:
        """Return what a pending testimonial's card (or /review, in ``lang``) says it waits
        for: the organisers who approved it so far, out of LIVREDOR_APPROVALS, and an edit
        waiting for its author's answer (None: nothing to say)."""
        lang = lang or self.group.lang
        lines = []
        if testimonial.approvals:
            lines.append(
                self.texts(
                    lang,
                    "card.approvals_so_far",
                    who=", ".join(a.name for a in testimonial.approvals),
                    count=len(testimonial.approvals),
                    needed=max(self.settings.approvals, len(testimonial.approvals)),
                )
            )
        proposal = testimonial.proposal
        if proposal is not None:
            # The card shows the author's own words: Approve publishes those.
            fields = ", ".join(
                self.texts.raw(lang, f"moderation.field_{f}")
                for f in ("name", "organisation", "quote")
                if f in proposal.fields
            )
            lines.append(
                self.texts(lang, "card.waiting_author", who=proposal.by_name, fields=fields)
            )
        return "\n".join(lines) or None

    def outcome(self, testimonial: Testimonial) -> tuple[str | None, InlineKeyboardMarkup | None]:
        """Return the outcome line and buttons a card shows for the testimonial's status."""
        texts, lang = self.texts, self.group.lang
        who, when = testimonial.decided_by_name or "?", format_time(testimonial.decided_at)
        if testimonial.status is Status.PENDING:
            return self.waiting_line(testimonial), self.pending_keyboard(testimonial.id)
        if testimonial.status is Status.REJECTED:
            return texts(
                lang,
                "card.rejected",
                who=who,
                time=when,
                reason=reason_text(texts, lang, testimonial) or "-",
            ), None
        if testimonial.status is Status.PUBLISHED:
            link = self.post_link(testimonial)
            line = (
                texts(lang, "card.approved_posted", who=who, time=when, link=link)
                if link
                else texts(lang, "card.approved_posted_nolink", who=who, time=when)
            )
            return line, self.keyboard([[("card.unpublish", f"mod:unpublish:{testimonial.id}")]])
        if testimonial.status in (Status.APPROVED, Status.PUBLISHING):
            return texts(lang, "card.approved", who=who, time=when), None
        return texts(lang, "card.withdrawn", time=format_time(testimonial.updated_at)), None

    # -- sending and editing cards ---------------------------------------------------------------

    async def send_card(self, testimonial: Testimonial) -> None:
        """Send the card of a testimonial (its photo first, if it has one) and remember its
        message ids."""
        if testimonial.portrait is not None and testimonial.card_photo_message_id is None:
            await self._send_photo(testimonial)
        footer, markup = self.outcome(testimonial)
        await self._send_parts(
            testimonial, self.card_parts(testimonial, footer), markup, resume=True
        )

    async def refresh_card(
        self, testimonial: Testimonial, footer: str | None = None, *, words_changed: bool = False
    ) -> None:
        """Bring a card up to date with the testimonial: an edit of its last part (the
        outcome line and buttons), of every part when the words changed, or a new card if
        the number of parts changed or the old card is gone. An edit to the same text is a
        call lost from the group's 20 a minute (and a 400 "not modified")."""
        if testimonial.portrait is None:
            await self._drop_photo(testimonial)  # withdrawn, erased, or taken off
        default_footer, markup = self.outcome(testimonial)
        parts = self.card_parts(testimonial, footer or default_footer)
        if len(parts) != len(testimonial.card_message_ids):
            await self.delete_messages(testimonial.card_message_ids)
            await self._send_parts(testimonial, parts, markup)
            return
        for message_id, part, index in zip(
            testimonial.card_message_ids, parts, range(len(parts)), strict=True
        ):
            last = index == len(parts) - 1
            if not (last or words_changed):
                continue
            try:
                await self.group.edit(message_id, part, markup if last else None)
            except BadRequest as exc:
                refusal = classify(exc)
                if refusal is Refusal.NOT_MODIFIED:
                    continue
                if refusal is Refusal.MESSAGE_GONE:
                    await self.delete_messages(testimonial.card_message_ids)
                    await self._send_parts(testimonial, parts, markup)
                    return
                raise

    async def _send_parts(
        self,
        testimonial: Testimonial,
        parts: list[str],
        markup: InlineKeyboardMarkup | None,
        *,
        resume: bool = False,
    ) -> None:
        """Send a card part by part, recording each id as Telegram confirms it; with
        ``resume``, carry on after the parts of a half-sent card."""
        ids = list(testimonial.card_message_ids) if resume and not testimonial.card_done else []
        if len(ids) >= len(parts):
            await self.delete_messages(tuple(ids))
            ids = []
        for i in range(len(ids), len(parts)):
            message = await self.group.send(parts[i], markup if i == len(parts) - 1 else None)
            ids.append(message.message_id)
            await self.repo.set_card_messages(testimonial.id, ids, done=len(ids) == len(parts))

    async def _send_photo(self, testimonial: Testimonial) -> None:
        """Send the photo above the card, with its button to take it off, and record it."""
        assert testimonial.portrait is not None
        image = await self.repo.read_portrait(testimonial.portrait)
        if image is None:
            return
        caption = self.texts(self.group.lang, "card.photo", id=testimonial.id)
        markup = self.keyboard([[("card.remove_photo", f"mod:nophoto:{testimonial.id}")]])
        sent = await self.group.send_photo(image, caption, markup)
        await self.repo.set_card_photo(testimonial.id, sent.message_id)

    async def _drop_photo(self, testimonial: Testimonial) -> None:
        """Delete the photo shown above the card (it is no longer the testimonial's)."""
        if testimonial.card_photo_message_id is None:
            return
        await self.delete_messages((testimonial.card_photo_message_id,), "card.photo_gone")
        await self.repo.set_card_photo(testimonial.id, None)

    async def delete_messages(
        self, message_ids: tuple[int, ...], notice: str = "card.outdated"
    ) -> None:
        """Delete messages of the group (an old card), ignoring those already gone. One
        Telegram no longer lets the bot delete (48 hours) is blanked to the ``notice`` text
        (a photo replaced by a neutral image): once its id is dropped, nothing could find
        it again, and a /forget would leave its words or photo behind."""
        for message_id in message_ids:
            try:
                await self.group.delete(message_id)
                continue
            except BadRequest as exc:
                if classify(exc) is not Refusal.CANT_DELETE:
                    continue  # already gone
            try:
                await self.group.blank(message_id, self.texts(self.group.lang, notice))
            except BadRequest as exc:
                log.warning("could not blank an old card message: %s", exc.message)

    async def erase_cards(self, testimonials: Sequence[Testimonial]) -> tuple[int, int]:
        """Remove the cards of someone who asked to be forgotten: delete each message, or,
        when Telegram no longer allows it (48 hours), edit it to say it was erased (the
        photo above the card: its image replaced by a neutral one). Return how many
        messages were (deleted, edited)."""
        deleted = edited = 0
        erased = self.texts(self.group.lang, "card.erased")
        for testimonial in testimonials:
            photo = testimonial.card_photo_message_id
            for message_id in (*testimonial.card_message_ids, *([photo] if photo else [])):
                try:
                    await self.group.delete(message_id)
                    deleted += 1
                    continue
                except BadRequest as exc:
                    if classify(exc) is not Refusal.CANT_DELETE:
                        continue  # already gone
                try:
                    await self.group.blank(message_id, erased)
                    edited += 1
                except BadRequest as exc:
                    log.warning("could not blank a card of #%d: %s", testimonial.id, exc)
            # No card left to refresh when the channel post is taken down later.
            await self.repo.set_card_messages(testimonial.id, [])
        if any(t.status in IN_A_BOOK for t in testimonials):
            # The books /export sent hold their words too (approved then, maybe withdrawn
            # since): /export makes a fresh one.
            gone, blanked = await self._erase_exports()
            deleted, edited = deleted + gone, edited + blanked
        return deleted, edited

    async def _erase_exports(self) -> tuple[int, int]:
        """Delete the books /export sent (or blank them past 48 hours); (deleted, edited)."""
        deleted = edited = 0
        notice = self.texts(self.group.lang, "moderation.export_erased")
        # Each stays recorded until erased: a crash in between erases it again at the replay.
        for chat_id, message_id in await self.repo.exports():
            gone, blanked = await self._erase_export(chat_id, message_id, notice)
            deleted, edited = deleted + gone, edited + blanked
            await self.repo.drop_export(chat_id, message_id)
        return deleted, edited

    async def _erase_export(self, chat_id: int, message_id: int, notice: str) -> tuple[int, int]:
        """Delete one book /export sent, or blank it; (deleted, edited), each 0 or 1."""
        try:
            await self.group.delete(message_id, chat_id=chat_id)
            return 1, 0
        except BadRequest as exc:
            if classify(exc) is not Refusal.CANT_DELETE:
                return 0, 0  # already gone
        except Forbidden:
            return 0, 0  # no longer in that chat: nothing it can do there
        try:
            await self.group.blank(message_id, notice, chat_id=chat_id)
        except (BadRequest, Forbidden) as exc:
            log.warning("could not blank an exported book: %s", exc.message)
            return 0, 0
        return 0, 1

    async def set_keyboard(self, query: CallbackQuery, markup: InlineKeyboardMarkup) -> None:
        """Swap the buttons of the pressed card (reasons, fields, back)."""
        try:
            await query.edit_message_reply_markup(markup)
        except BadRequest as exc:
            if classify(exc) is not Refusal.NOT_MODIFIED:
                raise

    async def author_language(self, testimonial: Testimonial) -> str | None:
        """Return the language to tell the author in, None if they cannot be told."""
        if testimonial.user_id is None:
            return None
        user = await self.repo.get_user(testimonial.user_id)
        if user is None or user.blocked_bot:
            return None
        return user.language or testimonial.language

    def told_author(self, testimonial: Testimonial, lang: str) -> tuple[str, dict[str, str]] | None:
        """Return what its author is told of a testimonial out of review, in ``lang``: the
        text's key and its parameters (``number`` aside); None while it is in review or on
        its way to the channel. The one home of that rule: the notice when it is published
        (with the post's link) or not (with the reason, as the author reads it in /mine),
        and an old button of its preview pressed later.

        Withdrawn says only that it is withdrawn, what /mine says: the row does not record
        whether its author withdrew it or the organisers took it off the channel (the
        author was told which at the time)."""
        if testimonial.status is Status.PUBLISHED:
            link = self.post_link(testimonial)
            if link and is_private_link(link):
                return "author.published_private", {"link": link}
            if link:
                return "author.published", {"link": link}
            return "author.published_nolink", {}
        if testimonial.status is Status.REJECTED:
            reason = reason_text(self.texts, lang, testimonial)
            if reason:
                return "author.rejected", {"reason": reason}
            return "author.rejected_noreason", {}
        if testimonial.status is Status.WITHDRAWN:
            return "mine.withdrawn", {}
        return None

    async def notify_outcome(self, testimonial: Testimonial) -> None:
        """Tell the author their testimonial is published (with its link) or was not (with
        the reason in their language, or as the organiser typed it)."""
        lang = await self.author_language(testimonial)
        told = self.told_author(testimonial, lang) if lang is not None else None
        if told is not None:
            key, params = told
            await self.notify_author(testimonial, key, **params)

    async def notify_author(self, testimonial: Testimonial, key: str, **params: object) -> None:
        """Tell a testimonial's author something; remember if they blocked the bot.

        The text gets ``number``: the author's own numbering of it (1, 2, 3, as in /mine),
        not the global id organisers see."""
        lang = await self.author_language(testimonial)
        if lang is None or testimonial.user_id is None:
            return
        number = (await self.repo.own_numbers(testimonial.user_id)).get(
            testimonial.id, testimonial.id
        )
        try:
            await self.bot.send_message(
                testimonial.user_id, self.texts(lang, key, number=number, **params)
            )
        except Forbidden:
            log.info("author of testimonial #%d blocked the bot; not notified", testimonial.id)
            await self.repo.set_blocked_bot(testimonial.user_id, True)

    def withdrawn_by_author(self, testimonial: Testimonial) -> None:
        """Update the card of a testimonial its author withdrew."""
        if testimonial.card_message_ids:
            line = self.texts(
                self.group.lang,
                "card.withdrawn_by_author",
                time=format_time(testimonial.updated_at),
            )
            self.refresh_later(testimonial.id, line)

    # -- who may press ---------------------------------------------------------------------------

    async def is_organiser(self, user: TgUser | None, *, fresh: bool = False) -> bool:
        """Return whether a user is an admin of the group or in LIVREDOR_ADMIN_IDS (see
        ``is_organiser_id``)."""
        return user is not None and await self.is_organiser_id(user.id, fresh=fresh)

    async def is_organiser_id(self, user_id: int, *, fresh: bool = False) -> bool:
        """Return whether the user ``user_id`` organises: an admin of the group, or in
        LIVREDOR_ADMIN_IDS. The one home of that rule (buttons, commands, /review, and the
        approvals already given when a testimonial needs several).

        The admin list is cached, and ``chat_member`` updates (``forget_admin``) drop a
        demoted admin at once. With ``fresh`` (a decision, an export), an admin not seen for
        ``RECHECK_SECONDS`` is asked about again (one ``getChatMember``): the update can be
        missed (the bot was not an admin then, or was stopped).
        """
        if user_id in self.settings.admin_ids:
            return True
        now = self.clock()
        if self._admins is None or now - self._admins[0] > ADMIN_CACHE_SECONDS:
            try:
                admins = await self.bot.get_chat_administrators(self.group.chat_id)
                ids = frozenset(m.user.id for m in admins)
            except TelegramError as exc:
                log.warning("could not list the group's administrators: %s", exc)
                ids = frozenset()
            self._admins = (now, ids)
            self._seen = dict.fromkeys(ids, now)
        cached = user_id in self._admins[1]
        if cached and (not fresh or now - self._seen.get(user_id, 0.0) <= RECHECK_SECONDS):
            return True
        # Not known as an admin (maybe new), or not seen for a while: ask about this person.
        try:
            member = await self.bot.get_chat_member(self.group.chat_id, user_id)
        except TelegramError:
            return False
        if member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER):
            self.learn_admin(user_id)
            return True
        self.forget_admin(user_id)
        return False

    def learn_admin(self, user_id: int) -> None:
        """Count a user as an admin from now (promoted, or confirmed by Telegram)."""
        now = self.clock()
        if self._admins is not None:
            self._admins = (self._admins[0], self._admins[1] | {user_id})
        self._seen[user_id] = now

    def forget_admin(self, user_id: int) -> None:
        """Stop counting a user as an admin (demoted, left, banned): effective at once."""
        if self._admins is not None:
            self._admins = (self._admins[0], self._admins[1] - {user_id})
        self._seen.pop(user_id, None)
