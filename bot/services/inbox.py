"""Updates are durable before they are acknowledged: PTB's update queue commits them first.

Why the update queue: it is the one place both receivers hand updates over. PTB's polling
loop (``Updater._start_polling``) awaits ``update_queue.put(update)`` for each update of a
``getUpdates`` answer and only then advances the offset that its next ``getUpdates`` sends,
which is what confirms those updates to Telegram. livredor's webhook server
(``bot.services.webhook``, as PTB's own ``TelegramHandler.post`` did) awaits the same ``put``
before it answers 200. So a ``put`` that commits the update to SQLite before it returns makes
every update durable before Telegram can consider it delivered, in both modes, without
touching PTB's polling loop. ``ApplicationBuilder.update_queue()`` is
the documented way to give PTB the queue.

If the commit fails, ``put`` raises ``NetworkError``: PTB's polling loop then retries the same
``getUpdates`` (the offset did not move), and the webhook answers 500 (Telegram retries).

The update is marked done by ``InboxUpdateProcessor`` once PTB has run its handlers (and its
error handler, if one raised). At start, ``replay`` queues what was not done, before any new
update; an update Telegram delivers again is already in the inbox and is not queued twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot, Update
from telegram.error import NetworkError

from bot.services.ordering import PerUserUpdateProcessor, sender_key
from bot.services.telegram_http import AiohttpRequest
from storage.database import is_out_of_space
from storage.inbox import ADD_AT_ONCE, Inbox

log = logging.getLogger(__name__)


def _dumps(data: object) -> str:
    """An update's JSON, compact, its text as it reads (not escaped), unless it holds a lone
    surrogate (Telegram's ``\\ud83d`` escape without its pair): SQLite takes only UTF-8,
    so that update is written escaped, as Telegram sent it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            return json.dumps(data, separators=(",", ":"))
    return text


class RawUpdates:
    """The JSON of the updates ``getUpdates`` brought, as Telegram sent it, until queued.

    The inbox stores each update as JSON. Rebuilding it from PTB's ``Update`` (``to_dict``)
    costs about as much as parsing it did; the JSON is at hand, so it is kept here (by
    ``UpdatesRequest`` in long polling, by ``DurableUpdateQueue.put_raw`` for a webhook's
    body) and taken by ``DurableUpdateQueue.put``. An update put without its JSON kept (no
    receiver of livredor's does that) is rebuilt with ``to_dict``, so nothing is ever lost.
    """

    #: More than this many waiting means something took updates past the queue: start over.
    MAX_WAITING = 1000

    def __init__(self) -> None:
        self._waiting: dict[int, str] = {}
        self._last_answer: set[int] = set()
        #: Updates found unreadable, by id: why (``DurableUpdateQueue.put`` keeps them aside).
        self.unreadable: dict[int, str] = {}

    def keep(self, answer: dict[str, Any]) -> None:
        """Keep the updates of a ``getUpdates`` answer (anything else is ignored).

        PTB reads the whole answer at once: one update it cannot read (a Bot API server of
        another version, a field it does not know yet) fails the whole ``getUpdates``, the
        offset does not move, and the same answer comes back, forever, for everyone. So when
        an answer comes back with the previous one's updates still untaken (PTB could not
        read it), each update is read alone, and one that cannot be read is replaced by its
        bare id: PTB reads the rest, the offset moves past it, and ``put`` keeps it aside as
        unreadable. Reading each update twice only after a failure costs nothing otherwise.
        """
        result = answer.get("result") if answer.get("ok") else None
        if not isinstance(result, list):
            return
        if len(self._waiting) > self.MAX_WAITING:
            self._waiting.clear()
        ids = [u.get("update_id") for u in result if isinstance(u, dict)]
        stuck = self._last_answer.intersection(ids).intersection(self._waiting)
        self._last_answer = {i for i in ids if isinstance(i, int)}
        for index, update in enumerate(result):
            if isinstance(update, dict) and isinstance(update.get("update_id"), int):
                update_id = update["update_id"]
                self._waiting[update_id] = _dumps(update)
                if stuck and (why := unreadable_because(update)) is not None:
                    self.unreadable[update_id] = why
                    result[index] = {"update_id": update_id}

    def keep_one(self, update_id: int, payload: str) -> None:
        """Keep one update's JSON (a webhook's body)."""
        if len(self._waiting) > self.MAX_WAITING:
            self._waiting.clear()
        self._waiting[update_id] = payload

    def take(self, update: Update) -> str:
        """Return an update's JSON: as Telegram sent it if kept, else rebuilt by PTB."""
        kept = self._waiting.pop(update.update_id, None)
        return kept if kept is not None else _dumps(update.to_dict())

    def take_readable(self) -> dict[int, str]:
        """Take the JSON of every update kept and readable (the rest of a ``getUpdates``
        answer, whose updates PTB puts one after the other), by id."""
        taken = {i: p for i, p in self._waiting.items() if i not in self.unreadable}
        for update_id in taken:
            del self._waiting[update_id]
        return taken


def unreadable_because(update: dict[str, Any]) -> str | None:
    """Why PTB cannot read this update (one line), or None if it can."""
    try:
        Update.de_json(update, None)
    except Exception as exc:  # whatever PTB raises on a shape it does not know
        return f"{type(exc).__name__}: {exc}"
    return None


class UpdatesRequest(AiohttpRequest):
    """The bot's HTTP client for ``getUpdates`` (one connection, as PTB's default), which
    hands each answer's updates to ``RawUpdates`` as it parses them."""

    def __init__(self, raw: RawUpdates) -> None:
        super().__init__(connection_pool_size=1)
        self.raw = raw

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:  # type: ignore[override]
        """Parse as PTB does, and keep the updates' JSON."""
        answer = AiohttpRequest.parse_json_payload(payload)
        self.raw.keep(answer)
        return answer


class DurableUpdateQueue(asyncio.Queue[object]):
    """PTB's update queue, committing each update to the inbox before accepting it.

    Updates that come together are committed together, in one INSERT (one commit, one round
    trip to SQLite's thread): the rest of a ``getUpdates`` answer with its first update (PTB
    puts them one after the other; they are received already), and webhook POSTs arriving
    while a commit is under way with the next one (a group commit). Each ``put`` returns only
    once its own update is committed, and says "new" to one of two deliveries of an update.
    """

    #: Handled updates are pruned every this many new ones (and at each start).
    PRUNE_EVERY = 1000

    def __init__(self, inbox: Inbox, raw: RawUpdates | None = None) -> None:
        super().__init__()
        self.inbox = inbox
        self.raw = raw or RawUpdates()
        self._added = 0
        #: Updates received, for the next commit (id: JSON), and the puts waiting for each.
        self._to_commit: dict[int, str] = {}
        self._waiters: dict[int, list[asyncio.Future[bool]]] = {}
        #: Committed before PTB put them (the rest of an answer): new, or the error.
        self._early: dict[int, bool | sqlite3.Error] = {}
        self._committing = False
        #: Whether an update committed alone goes ahead of the statements queued for the
        #: database (``Database.write_returning_first``): a webhook's, whose 200 Telegram
        #: waits for before it sends that connection's next. Not in long polling: there the
        #: wait gathers the updates arriving meanwhile into the next ``getUpdates`` answer
        #: (in the benchmark ~30 an answer; going first, 2 or 3, and 15-25 % more CPU per
        #: update). Nor a webhook's several at once (POSTs on several connections): waiting
        #: gathers more into one INSERT (going first, 10 % more CPU per update).
        self.commit_first = False

    async def put(self, item: object) -> None:
        """Commit an update, then queue it; drop one the inbox already has (a redelivery).
        PTB's own objects (its stop signal) pass straight through."""
        if isinstance(item, Update):
            update_id = item.update_id
            try:
                new = await self._commit(item)
            except sqlite3.Error as exc:
                log.error("could not store update %d: %s", update_id, exc)
                raise NetworkError(f"update {update_id} not stored: {exc}") from exc
            if new is None:  # unreadable: kept aside
                return
            if not new:
                log.info("update %d received again: already in the inbox", update_id)
                return
            self._added += 1
            if self._added % self.PRUNE_EVERY == 0:
                # A bot running for days keeps the inbox small (each row holds an update).
                with contextlib.suppress(sqlite3.Error):
                    await self.inbox.prune()
        await super().put(item)

    async def _commit(self, update: Update) -> bool | None:
        """Commit ``update`` (with whatever else waits); return whether it is new, None if
        it cannot be read (kept aside, see ``put_unreadable``)."""
        update_id = update.update_id
        early = self._early.pop(update_id, None)
        if early is not None:
            if isinstance(early, sqlite3.Error):
                raise early
            return early
        payload = self.raw.take(update)
        why = self.raw.unreadable.pop(update_id, None)
        if why is not None:
            await self.put_unreadable(update_id, payload, why)
            return None
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._to_commit[update_id] = payload
        self._waiters.setdefault(update_id, []).append(waiter)
        self._to_commit.update(self.raw.take_readable())
        if not self._committing:
            await self._commit_waiting()
        return await waiter

    async def _commit_waiting(self) -> None:
        """Commit what waits, batch after batch, until nothing does (one at a time)."""
        self._committing = True
        try:
            while self._to_commit:
                batch = dict(itertools.islice(self._to_commit.items(), ADD_AT_ONCE))
                for update_id in batch:
                    del self._to_commit[update_id]
                waiters = {update_id: self._waiters.pop(update_id, []) for update_id in batch}
                try:
                    # Alone, it goes first; several came while a commit ran: more POSTs are
                    # in flight (Telegram's other connections) and theirs share this one.
                    first = self.commit_first and len(batch) == 1
                    new = await self.inbox.add_many(batch, first=first)
                except sqlite3.Error as exc:
                    self._settle(waiters, exc)
                except BaseException:
                    # Cancelled (the bot stops): not known to be committed; those not
                    # committed are replayed at start, or delivered again by Telegram.
                    self._settle(waiters, sqlite3.OperationalError("commit interrupted"))
                    raise
                else:
                    self._settle(waiters, new)
        finally:
            self._committing = False
            if self._to_commit:  # interrupted: nobody will commit these now
                waiters = {
                    update_id: self._waiters.pop(update_id, []) for update_id in self._to_commit
                }
                self._to_commit.clear()
                self._settle(waiters, sqlite3.OperationalError("commit interrupted"))

    def _settle(
        self, waiters: dict[int, list[asyncio.Future[bool]]], result: set[int] | sqlite3.Error
    ) -> None:
        """Give each put its commit's outcome: a new update is new to its first put only."""
        if len(self._early) > RawUpdates.MAX_WAITING:
            # Committed with others that PTB then never put (it stopped polling): forget.
            self._early.clear()
        for update_id, futures in waiters.items():
            outcome = result if isinstance(result, sqlite3.Error) else update_id in result
            if not futures:
                self._early[update_id] = outcome
            for future in futures:
                if future.done():  # its put was cancelled
                    continue
                if isinstance(outcome, sqlite3.Error):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
                    outcome = False

    async def put_unreadable(self, update_id: int, payload: str, why: str) -> None:
        """Keep an update that cannot be read aside in the inbox (done, with why), log it
        once, and queue nothing: the updates after it go on."""
        try:
            new = await self.inbox.add_unreadable(update_id, payload, why)
        except sqlite3.Error as exc:
            log.error("could not store update %d: %s", update_id, exc)
            raise NetworkError(f"update {update_id} not stored: {exc}") from exc
        if new:
            log.error(
                "update %d cannot be read (%s): kept in the inbox as unreadable and stepped"
                " over; `livredor check` lists such updates",
                update_id,
                why,
            )

    async def put_raw(self, update: Update, payload: str) -> None:
        """``put`` an update whose JSON is at hand (a webhook's body): stored as it is."""
        self.raw.keep_one(update.update_id, payload)
        await self.put(update)

    async def replay(self, bot: Bot) -> list[int]:
        """Queue the updates a previous run received but did not finish; return their ids."""
        replay, given_up = await self.inbox.take_unfinished()
        for item in given_up:
            log.error("update %d cut short %d times: given up", item.update_id, item.attempts)
        readable = []
        for item in replay:
            try:
                update = Update.de_json(json.loads(item.payload), bot)
            except Exception as exc:  # a row kept by an older livredor, or a damaged one
                why = f"{type(exc).__name__}: {exc}"
                log.error("update %d cannot be read (%s): stepped over", item.update_id, why)
                await self.inbox.mark_unreadable(item.update_id, why)
                continue
            self.put_nowait(update)
            readable.append(item)
        replay = readable
        if replay:
            log.info("replaying %d update(s) received before the restart", len(replay))
        await self.inbox.prune()
        return [item.update_id for item in replay]


class InboxUpdateProcessor(PerUserUpdateProcessor):
    """One person's updates in order (see ``PerUserUpdateProcessor``); each marked done in
    the inbox once PTB has handled it. A crash before that leaves it to be replayed.

    An update whose handling could not be stored (the disk is full: the handler's write, or
    the done mark, failed) is not marked done and not lost: it is kept aside, and handled
    again once a write works again (``RETRY_SECONDS`` apart: a checkpoint, which also shrinks
    the WAL that a full disk let grow, then a small real commit), without a restart.
    """

    #: Seconds between two looks at the database once a write failed for want of space.
    RETRY_SECONDS = 1.0

    def __init__(
        self,
        inbox: Inbox,
        max_running: int = 1024,
        *,
        requeue: Callable[[Update], None] | None = None,
    ) -> None:
        super().__init__(max_running)
        self.inbox = inbox
        self.requeue = requeue
        self._replaying: set[int] = set()
        self.replayed = asyncio.Event()
        self.replayed.set()
        self._unsaved: set[int] = set()
        self._stuck: dict[int, Update] = {}
        self._stuck_event = asyncio.Event()
        self._retrying: asyncio.Task[None] | None = None

    def watch(self, update_ids: list[int]) -> None:
        """Clear ``replayed`` until these (replayed) updates are handled."""
        self._replaying = set(update_ids)
        if self._replaying:
            self.replayed.clear()

    def not_saved(self, update: object) -> None:
        """Say that the handlers could not store what ``update`` brought (out of space): it
        stays not done, to be handled again once writes work."""
        if isinstance(update, Update):
            self._unsaved.add(update.update_id)

    @property
    def stuck(self) -> list[int]:
        """The updates waiting for the disk to take writes again."""
        return sorted(self._stuck)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Handle the update under its sender's lock, then mark it done, still in their turn:
        the writes the handlers left for the end (``Database.deferring``: that a question
        reached the attendee) go with the mark, and their next update reads them."""
        key = sender_key(update)
        async with self.person(key) if key is not None else contextlib.nullcontext():
            with self.inbox.db.deferring() as later:
                await coroutine
            try:
                if isinstance(update, Update):
                    if update.update_id in self._unsaved:
                        self._unsaved.discard(update.update_id)
                        self._keep_for_later(update)
                    else:
                        await self.inbox.done(update.update_id, later)
                else:
                    await self.inbox.db.run_deferred(later)
            except sqlite3.Error as exc:
                if not (is_out_of_space(exc) and isinstance(update, Update)):
                    raise
                log.error("update %d not marked done: %s", update.update_id, exc)
                self._keep_for_later(update)
        if isinstance(update, Update):
            self._replaying.discard(update.update_id)
            if not self._replaying:
                self.replayed.set()

    def _keep_for_later(self, update: Update) -> None:
        self._stuck[update.update_id] = update
        self._stuck_event.set()

    async def initialize(self) -> None:
        """Start watching for updates left aside when the disk was full."""
        if self.requeue is not None and self._retrying is None:
            self._retrying = asyncio.create_task(self._retry_when_writable(), name="retry")

    async def shutdown(self) -> None:
        """Stop watching (what was left aside is not done in the inbox: replayed at start)."""
        if self._retrying is not None:
            self._retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrying
            self._retrying = None

    async def _retry_when_writable(self) -> None:
        assert self.requeue is not None
        while True:
            await self._stuck_event.wait()
            await asyncio.sleep(self.RETRY_SECONDS)
            try:
                await self.inbox.db.checkpoint()
                await self.inbox.db.probe_commit()
            except sqlite3.Error as exc:
                if not is_out_of_space(exc):
                    log.error("the database cannot be written: %s", exc)
                continue
            stuck, self._stuck = self._stuck, {}
            self._stuck_event.clear()
            log.info("writes work again: handling %d update(s) again", len(stuck))
            for update_id in sorted(stuck):
                self.requeue(stuck[update_id])
