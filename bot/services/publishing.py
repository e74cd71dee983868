"""The single publisher: drains the outbox into the channel, in approval order.

Approval wrote the decision and an outbox row in one transaction. Here each row is claimed
(approved -> publishing), posted part by part, then recorded (publishing -> published, with
the channel message ids). A row still ``publishing`` at start-up means the process died
between sending and recording: it is never re-sent blindly, the organisers decide.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from markupsafe import Markup
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import MessageLimit
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.services.cards import CardDesk
from bot.services.clock import Clock
from bot.services.group import OrganisersGroup
from bot.services.limiter import retry_seconds
from bot.services.links import post_link
from bot.services.messages import blank, plain
from bot.services.render import plain_length, render_post_parts
from bot.services.signature import byline
from bot.services.telegram_errors import Refusal, classify
from bot.services.texts import Texts
from bot.services.workers import stop_task
from config.settings import Settings
from storage.models import OutboxItem, Status, Testimonial
from storage.testimonials import Repository

log = logging.getLogger(__name__)

POST_MARKER = "({i}/{n})"
CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH
RETRY_DELAY = 2.0
IDLE_POLL = 5.0


def post_messages(parts: list[str], photo: bool) -> list[tuple[bool, str | None]]:
    """The channel messages of a post, as (is the photo, HTML text or caption): with a
    photo, one message when the whole post fits in a caption (1,024 characters), else the
    photo alone, then the parts as without one. Unpublish deletes them all."""
    if not photo:
        return [(False, part) for part in parts]
    if len(parts) == 1 and plain_length(parts[0]) <= CAPTION_LIMIT:
        return [(True, parts[0])]
    return [(True, None), *((False, part) for part in parts)]


class ChannelRefused(Exception):
    """The channel will not take the bot's posts until an organiser fixes its rights."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _channel_problem(exc: TelegramError) -> str | None:
    """Map Telegram's answer to a problem an organiser must fix (text key), or None."""
    refusal = classify(exc)
    if refusal is Refusal.NOT_MEMBER:
        return "moderation.channel_not_member"
    if refusal is Refusal.NO_RIGHTS or isinstance(exc, Forbidden):
        return "moderation.channel_not_admin"
    if refusal is Refusal.CHAT_GONE:
        return "moderation.channel_unknown"
    return None


class Publisher:
    """One task; wakes on approval, polls otherwise."""

    def __init__(
        self,
        bot: Bot,
        repo: Repository,
        texts: Texts,
        settings: Settings,
        group: OrganisersGroup,
        desk: CardDesk,
        clock: Clock | None = None,
    ) -> None:
        self.bot = bot
        self.sleep = (clock or Clock()).sleep  # what the retries wait on
        self.repo = repo
        self.texts = texts
        self.settings = settings
        self.group = group  # where a refused or half-done post is reported
        self.desk = desk  # the card of what is published, its author told
        self._wake = asyncio.Event()
        self._wake.set()  # the first look at the outbox is due at start
        self._resume = asyncio.Event()
        self._resume.set()
        self._looking = False
        self._task: asyncio.Task[None] | None = None

    @property
    def channel(self) -> int | str:
        """Return the channel id or @username."""
        assert self.settings.channel_id is not None
        return self.settings.channel_id

    async def start(self) -> None:
        """Report half-published testimonials to the organisers, then start draining."""
        for stuck in await self.repo.list_by_status(Status.PUBLISHING, limit=100_000):
            log.warning("testimonial #%d was being posted when the bot stopped", stuck.id)
            await self._report_half_published(stuck)
        self._task = asyncio.create_task(self._run(), name="livredor-publisher")

    async def stop(self) -> None:
        """Stop after the current send (a row left ``publishing`` is reported at restart)."""
        await stop_task(self._task)

    def wake(self) -> None:
        """Look at the outbox now."""
        self._wake.set()

    def resume(self) -> None:
        """Resume after a channel refusal (an organiser pressed Retry)."""
        self._resume.set()
        self._wake.set()

    @property
    def paused(self) -> bool:
        """Whether publishing waits for an organiser's Retry (the channel refused)."""
        return not self._resume.is_set()

    def idle(self) -> bool:
        """Return whether the publisher waits with nothing in hand: paused, or its last look
        found the outbox empty and nothing woke it since."""
        return not self._looking and (self.paused or not self._wake.is_set())

    async def drain(self) -> None:
        """Process the outbox until it is empty (for tests and tools)."""
        while await self._step():
            pass

    async def _run(self) -> None:
        while True:
            await self._resume.wait()
            # Cleared before looking, so that an approval committed during the look wakes
            # the next one instead of waiting for the idle poll.
            self._wake.clear()
            self._looking = True
            try:
                busy = await self._step()
            except asyncio.CancelledError:
                raise
            except ChannelRefused:
                continue
            except Exception:
                log.exception("publisher error; retrying in %.0f s", RETRY_DELAY)
                await self.sleep(RETRY_DELAY)
                self._wake.set()
                continue
            finally:
                self._looking = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(IDLE_POLL):
                        await self._wake.wait()

    async def _step(self) -> bool:
        """Handle the oldest outbox row; return False when there was none."""
        found = await self.repo.next_outbox()
        if found is None:
            return False
        item, testimonial = found
        if item.action == "publish":
            await self._publish(item, testimonial)
        else:
            await self._unpublish(item, testimonial)
        return True

    async def _publish(self, item: OutboxItem, testimonial: Testimonial) -> None:
        claimed = await self.repo.claim_for_publishing(item.id, testimonial.id)
        if claimed is None:
            return  # withdrawn or already handled: the row was closed
        name, organisation = byline(claimed, self.texts)  # as the author chose to sign
        parts = render_post_parts(
            name,
            organisation,
            claimed.quote,
            hashtag=self.desk.sessions.hashtags(self.settings.event_hashtag, claimed.start_payload),
            marker=POST_MARKER,
        )
        image = await self.repo.read_portrait(claimed.portrait) if claimed.portrait else None
        messages = post_messages(parts, image is not None)
        # Parts Telegram confirmed before (a timeout, or a stop, then "Post again") stay:
        # carry on from the first missing one.
        ids: list[int] = list(claimed.channel_message_ids)[: len(messages)]
        lang = self.group.lang
        try:
            for photo, part in messages[len(ids) :]:
                ids.append(await self._send(part, image if photo else None))
                # Recorded as soon as confirmed: a timeout or a crash on the next part must
                # not lose the ids of the ones already out (Unpublish deletes them).
                await self.repo.record_parts(claimed.id, ids)
        except ChannelRefused as refused:
            await self._undo(ids)
            await self.repo.publishing_failed(item.id, claimed.id)
            self._resume.clear()
            # The operator reads the sentence (in English), not the text's key.
            fix = self.texts("en", refused.key, bot=self.bot.username)
            log.error("the channel refused testimonial #%d: to fix: %s", claimed.id, fix)
            problem = self.texts(lang, refused.key, bot=self.bot.username)
            await self._alert(claimed, "moderation.channel_refused", Markup(problem))
            raise
        except TimedOut:
            # The post may have gone out before the answer was lost: the organisers decide,
            # as after a crash, rather than risk a double post.
            log.error("posting testimonial #%d timed out: it may be half-posted", claimed.id)
            await self.repo.finish_outbox(item.id)
            await self._report_half_published(claimed)
            return
        except TelegramError as exc:
            await self._undo(ids)
            await self.repo.publishing_failed(item.id, claimed.id)
            log.error("could not post testimonial #%d: %s", claimed.id, exc.message)
            await self._alert(claimed, "moderation.post_failed", exc.message)
            return
        published = await self.repo.record_published(item.id, claimed.id, ids)
        if published is None:
            # Withdrawn (or its author forgotten) while it was being posted: take it down.
            log.info("testimonial #%d was withdrawn while being posted: removing it", claimed.id)
            await self._take_back(claimed, ids)
            return
        log.info("testimonial #%d published (%d message(s))", published.id, len(ids))
        await self._after_publish(published)

    async def _send(self, html_text: str | None, photo: bytes | None = None) -> int:
        """Post one part (``photo``: the portrait, with the part as its caption, if any);
        wait out 429s and connection failures (nothing was sent then)."""
        while True:
            try:
                if photo is not None:
                    message = await self.bot.send_photo(self.channel, photo, caption=html_text)
                else:
                    assert html_text is not None
                    message = await self.bot.send_message(self.channel, html_text)
                return message.message_id
            except RetryAfter as exc:
                await self.sleep(retry_seconds(exc) + 0.1)
            except (BadRequest, Forbidden) as exc:
                key = _channel_problem(exc)
                if key is None:
                    raise
                raise ChannelRefused(key) from exc
            except TimedOut:
                raise
            except NetworkError as exc:
                log.warning("network trouble posting to the channel (%s); retrying", exc)
                await self.sleep(RETRY_DELAY)

    async def _undo(self, sent: list[int]) -> None:
        """Delete the parts of a post that did go out (a retry would orphan them)."""
        for message_id in sent:
            with contextlib.suppress(TelegramError):
                await self.bot.delete_message(self.channel, message_id)

    async def _alert(self, testimonial: Testimonial, key: str, problem: str) -> None:
        """Tell the organisers a post failed, with a Retry button (``problem``: plain text
        to escape, or ``Markup``)."""
        lang = self.group.lang
        label = self.texts(lang, "moderation.retry")
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(label, callback_data=f"mod:retry:{testimonial.id}")]]
        )
        try:
            await self.group.send(self.texts(lang, key, id=testimonial.id, problem=problem), markup)
        except TelegramError as exc:
            log.error("could not warn the organisers about #%d: %s", testimonial.id, exc)

    async def _after_publish(self, testimonial: Testimonial) -> None:
        await self.desk.notify_outcome(testimonial)
        if testimonial.card_message_ids:
            self.desk.refresh_later(testimonial.id)

    async def _unpublish(self, item: OutboxItem, testimonial: Testimonial) -> None:
        """Delete the channel posts, or where Telegram no longer allows it (48 hours), edit
        them to a short "withdrawn" line. A post that can be neither stays queued: the
        organisers are told which, and publishing waits for their Retry or their word that
        it is gone (``_stuck``)."""
        withdrawn_line = self.texts(self.settings.default_language, "channel.withdrawn")
        ids = testimonial.channel_message_ids
        for index, message_id in enumerate(ids):
            try:
                await self._take_down(message_id, withdrawn_line)
            except (BadRequest, Forbidden) as exc:
                await self._stuck(testimonial, ids[index:], exc)
                raise ChannelRefused(
                    _channel_problem(exc) or "moderation.unpublish_refused"
                ) from exc
        await self.repo.finish_outbox(item.id)
        log.info("testimonial #%d removed from the channel", testimonial.id)

    async def _take_down(self, message_id: int, line: str) -> None:
        """Delete one post, or blank it if Telegram no longer lets the bot delete it (its
        photo replaced too); a post already gone is done. Wait out 429s and connection
        failures; raise Telegram's refusal when neither was possible."""
        while True:
            try:
                try:
                    await self.bot.delete_message(self.channel, message_id)
                    return
                except BadRequest as exc:
                    if classify(exc) is not Refusal.CANT_DELETE:
                        raise
                await blank(self.bot, self.channel, message_id, line)
                return
            except BadRequest as exc:
                if classify(exc) is Refusal.MESSAGE_GONE:
                    return  # deleted by someone (or edited away) meanwhile
                raise
            except RetryAfter as exc:
                await self.sleep(retry_seconds(exc) + 0.1)
            except NetworkError as exc:
                log.warning("network trouble removing a post (%s); retrying", exc)
                await self.sleep(RETRY_DELAY)

    async def _take_back(self, testimonial: Testimonial, ids: list[int]) -> None:
        """Remove a post that went out while it was being withdrawn (or its author
        forgotten), as any removal: through connection failures and 429s. If the channel
        refuses, the organisers are told where it is (nothing of it may be recorded any
        more, so nothing is queued: they delete it by hand)."""
        line = self.texts(self.settings.default_language, "channel.withdrawn")
        for index, message_id in enumerate(ids):
            try:
                await self._take_down(message_id, line)
            except (BadRequest, Forbidden) as exc:
                log.error(
                    "could not remove testimonial #%d, withdrawn while being posted: %s",
                    testimonial.id,
                    exc.message,
                )
                lang = self.group.lang
                problem, links = self._what_is_left(ids[index:], exc)
                text = self.texts(
                    lang,
                    "moderation.takeback_refused",
                    id=testimonial.id,
                    problem=problem,
                    links=links,
                )
                try:
                    await self.group.send(text)
                except TelegramError as send_exc:
                    log.error(
                        "could not warn the organisers about #%d: %s", testimonial.id, send_exc
                    )
                return

    def _what_is_left(self, left: Sequence[int], exc: TelegramError) -> tuple[str, str]:
        """Why the channel refused (plain text, or ``Markup``) and the links to the posts
        still there, for the organisers."""
        links = ", ".join(
            post_link(self.settings.channel_id, message_id, self.desk.channel_username)
            or f"#{message_id}"
            for message_id in left
        )
        key = _channel_problem(exc)
        if key is None:
            return exc.message, links
        return Markup(self.texts(self.group.lang, key, bot=self.bot.username)), links

    async def _stuck(
        self, testimonial: Testimonial, left: tuple[int, ...], exc: TelegramError
    ) -> None:
        """A post of a withdrawn testimonial could be neither deleted nor blanked: its words
        may still be public. Pause publishing (the removal stays first in line), and tell the
        organisers what is left, with a link to each post, Retry and "no longer in the
        channel". "chat not found" is a deleted channel (its posts gone with it) or a private
        one the bot was removed from (its posts still there): only the organisers can tell."""
        self._resume.clear()
        lang = self.group.lang
        problem, links = self._what_is_left(left, exc)
        refusal = classify(exc)
        log.error(
            "could not remove testimonial #%d from the channel (%d post(s) left): %s",
            testimonial.id,
            len(left),
            exc.message,
        )
        if refusal is Refusal.CHAT_GONE:
            text = self.texts(
                lang,
                "moderation.unpublish_unknown",
                id=testimonial.id,
                links=links,
                bot=self.bot.username,
            )
        else:
            text = self.texts(
                lang,
                "moderation.unpublish_refused",
                id=testimonial.id,
                problem=problem,
                links=links,
            )
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        plain(self.texts(lang, "moderation.retry")),
                        callback_data=f"mod:retry:{testimonial.id}",
                    ),
                    InlineKeyboardButton(
                        plain(self.texts(lang, "moderation.posts_gone")),
                        callback_data=f"mod:removed:{testimonial.id}",
                    ),
                ]
            ]
        )
        try:
            await self.group.send(text, markup)
        except TelegramError as send_exc:
            log.error("could not warn the organisers about #%d: %s", testimonial.id, send_exc)

    async def _report_half_published(self, testimonial: Testimonial) -> None:
        lang = self.group.lang
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        self.texts(lang, "moderation.publish_again"),
                        callback_data=f"mod:republish:{testimonial.id}",
                    ),
                    InlineKeyboardButton(
                        self.texts(lang, "moderation.mark_published"),
                        callback_data=f"mod:markpub:{testimonial.id}",
                    ),
                ]
            ]
        )
        try:
            await self.group.send(
                self.texts(lang, "moderation.half_published", id=testimonial.id), markup
            )
        except TelegramError as exc:
            log.error("could not warn the organisers about #%d: %s", testimonial.id, exc)
