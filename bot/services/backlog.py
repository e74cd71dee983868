"""The review backlog as the organisers' group sees it at event scale.

Telegram allows about 20 messages a minute into a group: a card per testimonial and an edit
per decision cannot keep up with hundreds of submissions. While more than
``LIVREDOR_REVIEW_BACKLOG`` testimonials wait, new ones get no card (``wants_card``); the group
gets ONE summary message instead, edited in place at most once every ``summary_seconds``
(half ``LIVREDOR_GROUP_RATE_PERIOD_SECONDS``: 30 s), and organisers review in their private
chats (``/review``, bot/handlers/review.py). When the oldest has waited
``LIVREDOR_REVIEW_REMIND_MINUTES``, a reminder, at most once per that period.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from telegram.error import BadRequest, RetryAfter

from bot.services.group import OrganisersGroup
from bot.services.limiter import retry_seconds
from bot.services.telegram_errors import Refusal, classify
from bot.services.texts import Texts
from bot.services.workers import stop_task
from config.settings import Settings
from storage.models import utcnow
from storage.testimonials import Repository

log = logging.getLogger(__name__)

#: ``bot_state`` keys: the summary message ({"message_id", "text"}), the last reminder's time.
SUMMARY_KEY = "review_summary"
REMINDED_KEY = "review_reminded_at"
#: How often the worker looks at the backlog when nothing pokes it (for the reminder).
TICK_SECONDS = 30.0


class Backlog:
    """Keeps the group's summary message and reminders; says whether a new card is wanted
    (the card sender asks before each new card)."""

    def __init__(
        self, group: OrganisersGroup, repo: Repository, texts: Texts, settings: Settings
    ) -> None:
        self.group = group
        self.repo = repo
        self.texts = texts
        self.settings = settings
        #: At most one summary message sent or edited per this many seconds: half the group's
        #: rate period (30 s at Telegram's 20 a minute), at most 2 of its 20 messages.
        self.summary_seconds = self.settings.group_rate_period_seconds / 2
        #: The time the reminder compares with (tests move it).
        self.clock: Callable[[], datetime] = utcnow
        self._poke = asyncio.Event()
        self._wrote_at = -float("inf")  # time.monotonic() of the last write into the group
        self._pause = 0.0  # after an error: how long to wait before trying again
        self._working = False
        self._task: asyncio.Task[None] | None = None

    # -- the rule ----------------------------------------------------------------------------

    def carded(self, waiting: int) -> bool:
        """Return whether a testimonial gets a card in the group while ``waiting`` (itself
        included) wait for review."""
        limit = self.settings.review_backlog
        return limit == 0 or waiting <= limit

    async def wants_card(self) -> bool:
        """Return whether a new card should go to the group now (the card sender asks)."""
        if not self.settings.review_backlog:
            return True
        waiting, _ = await self.repo.backlog()
        return self.carded(waiting)

    # -- the worker --------------------------------------------------------------------------

    def poke(self) -> None:
        """Say the backlog changed: the summary is brought up to date (rate-limited)."""
        self._poke.set()

    def idle(self) -> bool:
        """Return whether nothing is being written and nothing is due now (a write held back
        by the rate limit is not due)."""
        due = self._poke.is_set() and time.monotonic() >= self._due()
        return not self._working and not due

    async def start(self) -> None:
        """Start watching the backlog (and look at it once: the bot may have restarted)."""
        self.poke()
        self._task = asyncio.create_task(self._run(), name="livredor-backlog")

    async def stop(self) -> None:
        """Stop watching (the summary's message id and the last reminder are stored)."""
        await stop_task(self._task)

    def _due(self) -> float:
        """Return the time.monotonic() before which the group is not written to again."""
        return self._wrote_at + max(self.summary_seconds, self._pause)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), TICK_SECONDS)
            delay = self._due() - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._poke.clear()
            self._working = True
            try:
                await self.update()
                self._pause = 0.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._pause = retry_seconds(exc) if isinstance(exc, RetryAfter) else 5.0
                self._wrote_at = time.monotonic()
                log.warning(
                    "could not update the review summary (%s); again in %.0f s", exc, self._pause
                )
                self._poke.set()
            finally:
                self._working = False

    async def update(self, now: datetime | None = None) -> bool:
        """Bring the summary up to date and post a reminder if one is due; return whether
        the group was written to."""
        waiting, oldest = await self.repo.backlog()
        wrote = await self._summary(waiting)
        wrote = await self._remind(waiting, oldest, now or self.clock()) or wrote
        if wrote:
            self._wrote_at = time.monotonic()
        return wrote

    async def _summary(self, waiting: int) -> bool:
        group, texts = self.group, self.texts
        stored = await self.repo.get_state(SUMMARY_KEY)
        held = json.loads(stored) if stored else None
        bot = group.bot.username
        large = not self.carded(waiting)
        if large:
            text = texts(
                group.lang,
                "review.summary",
                count=waiting,
                limit=self.settings.review_backlog,
                bot=bot,
            )
        elif held is not None:
            text = texts(group.lang, "review.summary_done", count=waiting, bot=bot)
        else:
            return False
        if held is not None and held["text"] == text:
            return False
        message_id = None
        if held is not None:
            try:
                await group.edit(held["message_id"], text)
                message_id = held["message_id"]
            except BadRequest as exc:
                refusal = classify(exc)
                if refusal is Refusal.NOT_MODIFIED:
                    message_id = held["message_id"]
                elif refusal not in (Refusal.MESSAGE_GONE, Refusal.CHAT_GONE):
                    raise
        if message_id is None:
            if not large:
                await self.repo.set_state(SUMMARY_KEY, None)  # gone: nothing to close
                return False
            message_id = (await group.send(text)).message_id
        # Once back to cards, the summary is closed: the next large backlog gets a new one, at
        # the bottom of the group where it is seen.
        state = json.dumps({"message_id": message_id, "text": text}) if large else None
        await self.repo.set_state(SUMMARY_KEY, state)
        return True

    async def _remind(self, waiting: int, oldest: datetime | None, now: datetime) -> bool:
        minutes = self.settings.review_remind_minutes
        if not minutes or not waiting or oldest is None:
            return False
        period = timedelta(minutes=minutes)
        if now - oldest < period:
            return False
        last = await self.repo.get_state(REMINDED_KEY)
        if last is not None and now - datetime.fromisoformat(last) < period:
            return False
        await self.group.send(
            self.texts(
                self.group.lang,
                "review.reminder",
                count=waiting,
                minutes=int((now - oldest).total_seconds() // 60),
                bot=self.group.bot.username,
            )
        )
        await self.repo.set_state(REMINDED_KEY, now.isoformat())
        log.info("reminded the organisers: %d waiting for review", waiting)
        return True
