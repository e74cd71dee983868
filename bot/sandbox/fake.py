"""``FakeTelegram``: a strict, in-memory Telegram Bot API, and the API tests drive it with.

The Bot API side (``handle``) is reached through :class:`bot.sandbox.request.FakeRequest`
(in process) or :func:`bot.sandbox.server.start_server` (loopback HTTP). The driver side
(``add_user``, ``user_sends``, ``messages``, ``wait_for``...) is what tests call directly.

Everything runs on one asyncio loop; methods that are not ``async`` never block.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bot.sandbox import api, api_messages
from bot.sandbox.limits import FloodControl
from bot.sandbox.media import command_entities, media_content
from bot.sandbox.objects import (
    DEFAULT_UPDATE_TYPES,
    ApiError,
    Chat,
    Params,
    RecordedRequest,
    StoredMessage,
    UploadedFile,
    WebhookDelivery,
    bad_request,
    buttons_of,
)
from bot.sandbox.signals import Signals
from bot.sandbox.webhook import WebhookConfig, deliver_forever

__all__ = ["FakeTelegram"]

log = logging.getLogger("bot.sandbox")
JSONDict = dict[str, Any]

_HANDLERS = {**api.HANDLERS, **api_messages.HANDLERS}
_TELEGRAM_SERVICE_USER: JSONDict = {"id": 777000, "is_bot": False, "first_name": "Telegram"}


class FakeTelegram(Signals):
    """A strict fake of the Telegram Bot API, plus helpers to play the users.

    Bot API behaviour (errors, limits, updates) follows Telegram; see the package docstring
    for the list of checks. Attributes tests read:

    * ``requests``: every call, in order (:class:`RecordedRequest`);
    * ``unknown_methods``: Bot API methods the fake does not implement (must stay empty);
    * ``callback_answers``: ``{query_id: {"text", "show_alert", "url", "cache_time"}}``;
    * ``allowed_updates``: the last ``allowed_updates`` the bot asked for (None: never);
    * ``chat_actions``: ``[(chat_id, action)]`` from sendChatAction;
    * ``webhook`` / ``webhook_deliveries``: current webhook and every POST made to it;
    * ``flood``: the :class:`FloodControl` (its limits and windows may be changed live).
    """

    def __init__(
        self,
        *,
        token: str = "123456:TEST-TOKEN",
        bot_id: int | None = None,
        bot_username: str = "livredor_test_bot",
        bot_first_name: str = "Livre d'or",
        group_limit: int = 20,
        group_window: float = 60.0,
        global_limit: int = 30,
        global_window: float = 1.0,
        privacy_mode: bool = True,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``clock`` returns Unix time in seconds (message dates, the 48-hour rule, flood
        windows); long polling and ``wait_for`` always use real time.

        ``privacy_mode``: as for a bot created with BotFather's defaults, a bot that is not an
        administrator of a group only gets commands, replies to its messages and mentions.
        """
        super().__init__()
        self.token = token
        self.bot_id = bot_id if bot_id is not None else int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.privacy_mode = privacy_mode
        self.clock: Callable[[], float] = clock or time.time
        self.flood = FloodControl(
            group_limit=group_limit,
            group_window=group_window,
            global_limit=global_limit,
            global_window=global_window,
        )
        self.requests: list[RecordedRequest] = []
        self.unknown_methods: list[str] = []
        self.callback_answers: dict[str, JSONDict] = {}
        self.allowed_updates: list[str] | None = None
        self.chat_actions: list[tuple[int, str]] = []
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        # setMyDescription / setMyShortDescription, by language_code ("" = every language).
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        self.webhook: WebhookConfig | None = None
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.webhook_retry_delay = 0.2
        self.webhook_timeout = 5.0

        self._users: dict[int, JSONDict] = {}
        self._chats: dict[int, Chat] = {}
        self._updates: list[JSONDict] = []
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(4_000_000_000_000_000_001)
        self._file_ids = itertools.count(1)
        self._queries: dict[str, JSONDict] = {}  # callback query id -> query JSON
        self._answered: set[str] = set()
        self._files: dict[str, tuple[JSONDict, UploadedFile | None]] = {}
        self._poll_generation = 0
        self._webhook_task: asyncio.Task[None] | None = None
        self._cancelled_tasks: list[asyncio.Task[None]] = []
        self._closed = False

    # --- the bot ---------------------------------------------------------------------------

    @property
    def bot_user(self) -> JSONDict:
        """The bot as a Bot API ``User``."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def now(self) -> float:
        return self.clock()

    # --- Bot API entry point ---------------------------------------------------------------

    async def handle(
        self,
        token: str,
        method: str,
        params: Mapping[str, object],
        files: Mapping[str, UploadedFile] | None = None,
    ) -> tuple[int, JSONDict]:
        """Answer one Bot API call: (HTTP status, JSON body). Never raises for API errors."""
        parsed = Params(params)
        record = RecordedRequest(
            method, parsed.decoded(), time.monotonic(), files=dict(files or {})
        )
        self.requests.append(record)
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            handler = _HANDLERS.get(method.lower())
            if handler is None:
                self.unknown_methods.append(method)
                log.error(
                    "fake Telegram: unknown Bot API method %r called; add it to "
                    "bot.sandbox or stop calling it",
                    method,
                )
                raise ApiError(404, "Not Found")
            result = await handler(self, parsed, record.files)
            status, payload = 200, {"ok": True, "result": result}
        except ApiError as exc:
            status, payload = exc.code, exc.payload()
        except Exception:
            # A bug of the fake, or input it did not foresee: answer like a broken server
            # (PTB raises NetworkError) and say so loudly.
            log.exception("fake Telegram: %s crashed on %r", method, record.params)
            status, payload = 500, ApiError(500, "Internal Server Error").payload()
        record.status, record.response = status, payload
        log.debug("fake Telegram: %s -> %s", method, status)
        self.notify()
        if self.held_by_rule(method, record.params):
            await self.hold_answer(record)
        return status, payload

    # --- the world: users, chats, rights ---------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> JSONDict:
        """Create a user and their private chat with the bot (chat id = user id)."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name is not None:
            user["last_name"] = last_name
        if username is not None:
            user["username"] = username
        if language_code is not None:
            user["language_code"] = language_code
        self._users[user_id] = user
        self._chats[user_id] = Chat(
            user_id,
            "private",
            username=username,
            first_name=first_name,
            last_name=last_name,
            members={user_id: "member"},
        )
        return dict(user)

    def add_group(
        self,
        chat_id: int,
        title: str,
        *,
        admins: Iterable[int] = (),
        members: Iterable[int] = (),
        supergroup: bool = True,
        username: str | None = None,
    ) -> JSONDict:
        """Create a group (supergroup by default, id like -100...) with the bot as admin.

        ``admins`` and ``members`` are user ids (``add_user`` them first).
        """
        if supergroup and not str(chat_id).startswith("-100"):
            raise ValueError("supergroup ids look like -100xxxxxxxxxx")
        if chat_id >= 0:
            raise ValueError("group ids are negative")
        chat = Chat(
            chat_id, "supergroup" if supergroup else "group", title=title, username=username
        )
        for user_id in members:
            chat.members[self._user(user_id)["id"]] = "member"
        for user_id in admins:
            chat.members[self._user(user_id)["id"]] = "administrator"
        self._chats[chat_id] = chat
        return chat.to_json()

    def add_channel(self, chat_id: int, title: str, username: str | None = None) -> JSONDict:
        """Create a channel (id like -100...) where the bot is an admin that may post."""
        if not str(chat_id).startswith("-100"):
            raise ValueError("channel ids look like -100xxxxxxxxxx")
        chat = Chat(chat_id, "channel", title=title, username=username)
        self._chats[chat_id] = chat
        return chat.to_json()

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """Set a user's status in a group or channel: creator, administrator, member, left,
        kicked (what getChatMember / getChatAdministrators report)."""
        if status not in ("creator", "administrator", "member", "left", "kicked"):
            raise ValueError(f"unknown status {status!r}")
        self._user(user_id)
        self._chat(chat_id).members[user_id] = status
        self.notify()

    def set_bot_rights(
        self,
        chat_id: int,
        *,
        member: bool | None = None,
        admin: bool | None = None,
        can_post_messages: bool | None = None,
        can_delete_messages: bool | None = None,
        by: int | None = None,
    ) -> None:
        """Change the bot's rights in a group or channel (None: unchanged).

        Not a member implies not an admin; an admin is a member. Queues the
        ``my_chat_member`` update Telegram sends, "from" user ``by`` (default: an admin).
        """
        chat = self._chat(chat_id)
        if chat.type == "private":
            raise ValueError("use block_bot for private chats")
        old = api.bot_member_json(self, chat)
        rights = chat.rights
        if member is not None:
            rights.member = member
        if admin is not None:
            rights.admin = admin
        if can_post_messages is not None:
            rights.can_post_messages = can_post_messages
        if can_delete_messages is not None:
            rights.can_delete_messages = can_delete_messages
        if member is False:
            rights.admin = False
        if rights.admin:
            rights.member = True
        new = api.bot_member_json(self, chat)
        if old != new:
            by_user = self._users.get(by) if by is not None else None
            if by_user is None:
                admins = [u for u, s in chat.members.items() if s in ("creator", "administrator")]
                by_user = self._users.get(admins[0]) if admins else None
            self._my_chat_member(chat, old, new, by_user or _TELEGRAM_SERVICE_USER)

    def block_bot(self, user_id: int) -> None:
        """The user blocks the bot: sending to them gives 403 until they unblock it."""
        chat = self._chat(user_id)
        if chat.blocked:
            return
        old = api.bot_member_json(self, chat)
        chat.blocked = True
        self._my_chat_member(chat, old, api.bot_member_json(self, chat), self._user(user_id))

    def unblock_bot(self, user_id: int) -> None:
        """The user unblocks the bot (Telegram's "Restart" button)."""
        chat = self._chat(user_id)
        if not chat.blocked:
            return
        old = api.bot_member_json(self, chat)
        chat.blocked = False
        self._my_chat_member(chat, old, api.bot_member_json(self, chat), self._user(user_id))

    # --- users act -------------------------------------------------------------------------

    def user_sends(
        self,
        user_id: int,
        text: str | None = None,
        *,
        chat_id: int | None = None,
        reply_to: int | None = None,
        kind: str = "text",
    ) -> JSONDict:
        """A user sends a message; queues a ``message`` update; returns the Message JSON.

        ``chat_id`` defaults to the user's private chat. A text starting with "/" carries a
        ``bot_command`` entity (so "/start payload" is a deep link). ``kind`` is one of text,
        sticker, photo, voice, location, contact, document, video, animation, audio,
        video_note, poll, dice; for media, ``text`` is the caption. ``reply_to`` is the id
        of a message of that chat.

        A user who writes in a group becomes a member of it (unless left or kicked).
        In a group where the bot is not an admin and ``privacy_mode`` is on, the message is
        stored but, as with Telegram, only delivered if it is a command, a reply to the bot
        or mentions it. Sending to a bot the user blocked unblocks it first, as in the apps.
        """
        user = self._user(user_id)
        chat = self._chat(user_id if chat_id is None else chat_id)
        if chat.type == "channel":
            raise ValueError("users cannot write in a channel; use channel_post")
        if chat.type != "private":
            status = chat.members.get(user_id)
            if status in ("left", "kicked"):
                raise ValueError(f"user {user_id} is {status} in chat {chat.id}")
            if status is None:
                chat.members[user_id] = "member"
        elif chat.id != user_id:
            raise ValueError("a private chat only has its own user")
        if chat.blocked:
            self.unblock_bot(user_id)
        replied = self._alive(chat, reply_to) if reply_to is not None else None
        message = StoredMessage(
            chat=chat.to_json(),
            message_id=self._next_message_id(chat),
            date=self.now(),
            sender=user,
            from_bot=False,
            reply_to=replied.to_json(with_reply=False) if replied else None,
        )
        self._fill_content(message, kind, text, user)
        chat.messages[message.message_id] = message
        payload = message.to_json()
        if self._delivered_despite_privacy(chat, message, replied):
            self.queue_update("message", payload)
        else:
            log.debug("privacy mode: message %s in %s not delivered", message.message_id, chat.id)
            self.notify()
        return payload

    def user_edits(
        self, user_id: int, message_id: int, new_text: str, *, chat_id: int | None = None
    ) -> JSONDict:
        """A user edits their text message (or caption); queues ``edited_message``."""
        chat = self._chat(user_id if chat_id is None else chat_id)
        message = self._alive(chat, message_id)
        if message.from_bot or (message.sender or {}).get("id") != user_id:
            raise ValueError(f"message {message_id} was not sent by user {user_id}")
        message.plain = new_text
        message.entities = command_entities(new_text) if message.text_field == "text" else []
        message.edit_date = self.now()
        message.edit_count += 1
        payload = message.to_json()
        self.queue_update("edited_message", payload)
        return payload

    def user_presses(
        self, user_id: int, chat_id: int, message_id: int, data: str, *, forge: bool = False
    ) -> str:
        """A user presses an inline button; queues a ``callback_query``; returns its id.

        Raises ``LookupError`` (in the test, not an HTTP error) if no button of that message
        carries ``data``, unless ``forge=True`` (a forged callback, e.g. from a modified
        client; the message may then even be gone).
        """
        user = self._user(user_id)
        chat = self._chat(chat_id)
        message = chat.messages.get(message_id)
        if not forge:
            if message is None or message.deleted:
                raise LookupError(f"no message {message_id} in chat {chat_id}")
            carried = [d for _, d in buttons_of(message.reply_markup)]
            if data not in carried:
                raise LookupError(
                    f"message {message_id} in chat {chat_id} has no button with callback_data "
                    f"{data!r} (it has {carried!r}); pass forge=True to send it anyway"
                )
        query_id = str(next(self._query_ids))
        query: JSONDict = {
            "id": query_id,
            "from": user,
            "chat_instance": str(abs(chat_id) * 1_000_003 % 2**62),
            "data": data,
        }
        if message is not None and not message.deleted:
            query["message"] = message.to_json()
        else:
            # What Telegram sends for a message the bot can no longer see.
            query["message"] = {"chat": chat.to_json(), "message_id": message_id, "date": 0}
        self._queries[query_id] = query
        self.queue_update("callback_query", query)
        return query_id

    def channel_post(self, chat_id: int, text: str) -> JSONDict:
        """Someone (an admin) posts in a channel; queues ``channel_post``."""
        chat = self._chat(chat_id)
        if chat.type != "channel":
            raise ValueError(f"chat {chat_id} is not a channel")
        message = StoredMessage(
            chat=chat.to_json(),
            message_id=self._next_message_id(chat),
            date=self.now(),
            sender=None,
            from_bot=False,
            plain=text,
            entities=command_entities(text),
        )
        chat.messages[message.message_id] = message
        payload = message.to_json()
        self.queue_update("channel_post", payload)
        return payload

    # --- reading ---------------------------------------------------------------------------

    def messages(
        self, chat_id: int, *, include_users: bool = False, include_deleted: bool = False
    ) -> list[JSONDict]:
        """The bot's messages in a chat, oldest first, as they are now (after edits, without
        deleted ones). Each is a fresh dict: message_id, chat_id, text (plain, or the caption),
        html (as sent), parse_mode, entities, reply_markup, document (None or filename,
        content, mime_type, file_id), from_bot, date, edit_count, deleted, json (Bot API)."""
        chat = self._chat(chat_id)
        return [
            m.view()
            for m in chat.messages.values()
            if (include_users or m.from_bot) and (include_deleted or not m.deleted)
        ]

    def last_message(self, chat_id: int) -> JSONDict:
        """The bot's latest live message in a chat; ``LookupError`` if there is none."""
        found = self.messages(chat_id)
        if not found:
            raise LookupError(f"the bot has no message in chat {chat_id}")
        return found[-1]

    def message(self, chat_id: int, message_id: int) -> JSONDict:
        """One message of a chat (bot's or user's, even deleted), as in ``messages``."""
        chat = self._chat(chat_id)
        if message_id not in chat.messages:
            raise LookupError(f"no message {message_id} in chat {chat_id}")
        return chat.messages[message_id].view()

    def buttons(self, chat_id: int, message_id: int | None = None) -> list[tuple[str, str | None]]:
        """(text, callback_data) of the inline buttons of a message (default: the bot's
        latest one), row by row; callback_data is None for URL and other buttons."""
        if message_id is None:
            message_id = int(self.last_message(chat_id)["message_id"])
        return buttons_of(self._alive(self._chat(chat_id), message_id).reply_markup)

    def calls(self, method: str) -> list[RecordedRequest]:
        """Recorded requests of one Bot API method (case-insensitive)."""
        wanted = method.lower()
        return [r for r in self.requests if r.method.lower() == wanted]

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by the bot (getUpdates offset or webhook 2xx)."""
        return list(self._updates)

    def my_commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """Commands set with setMyCommands for a scope (default scope) and language."""
        return list(self.commands.get(api.commands_key(scope, language_code), []))

    def age_message(self, chat_id: int, message_id: int, *, hours: float) -> None:
        """Pretend a message was sent ``hours`` earlier (for the 48-hour delete rule)."""
        message = self._chat(chat_id).messages[message_id]
        message.date -= hours * 3600

    # --- waiting ---------------------------------------------------------------------------

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 5.0,
    ) -> list[JSONDict]:
        """Wait until the bot has at least ``count`` live messages in a chat; return them."""
        await self.wait_for(
            lambda: len(self.messages(chat_id)) >= count,
            timeout,
            what=f"{count} bot message(s) in chat {chat_id}",
        )
        return self.messages(chat_id)

    async def wait_for_call(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[RecordedRequest]:
        """Wait until the bot has made ``count`` answered calls of ``method``; return them."""
        await self.wait_for(
            lambda: len([r for r in self.calls(method) if r.status is not None]) >= count,
            timeout,
            what=f"{count} {method} call(s)",
        )
        return self.calls(method)

    # --- lifecycle -------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop webhook delivery and answer held calls. The fake stays readable."""
        self._closed = True
        self.release()
        await self.stop_webhook_delivery()

    # --- internals shared with api.py and webhook.py ---------------------------------------

    def chat_by_param(self, p: Params, name: str = "chat_id") -> Chat:
        """The chat a ``chat_id`` parameter designates (an id or "@channelusername")."""
        value = p.get_str(name)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        if value.startswith("@"):
            for chat in self._chats.values():
                if chat.username and chat.type != "private" and f"@{chat.username}" == value:
                    return chat
            raise bad_request("chat not found")
        try:
            chat_id = int(value)
        except ValueError:
            raise bad_request("chat not found") from None
        found = self._chats.get(chat_id)
        if found is None:
            raise bad_request("chat not found")
        return found

    def user_json(self, user_id: int) -> JSONDict | None:
        if user_id == self.bot_id:
            return self.bot_user
        return self._users.get(user_id)

    def store_bot_message(self, chat: Chat, message: StoredMessage) -> StoredMessage:
        message.message_id = self._next_message_id(chat)
        chat.messages[message.message_id] = message
        return message

    def file_id_for(self, document: JSONDict, upload: UploadedFile | None) -> None:
        """Give an uploaded or sent file a file_id / file_unique_id and remember it."""
        n = next(self._file_ids)
        document["file_id"] = f"BQACAgQAAxkBAAI{n:08d}"
        document["file_unique_id"] = f"AgAD{n:08d}"
        self._files[document["file_id"]] = (dict(document), upload)

    def known_file(self, file_id: str) -> tuple[JSONDict, UploadedFile | None] | None:
        return self._files.get(file_id)

    def callback_query(self, query_id: str) -> JSONDict | None:
        """The query, if it exists and was not answered yet (it is marked answered)."""
        if query_id not in self._queries or query_id in self._answered:
            return None
        self._answered.add(query_id)
        return self._queries[query_id]

    def effective_allowed_updates(self) -> frozenset[str]:
        if not self.allowed_updates:
            return DEFAULT_UPDATE_TYPES
        return frozenset(self.allowed_updates)

    def queue_update(self, kind: str, payload: JSONDict) -> JSONDict | None:
        """Queue an update unless the bot's ``allowed_updates`` excludes its type (then
        Telegram does not even create it); return it (or None)."""
        if kind not in self.effective_allowed_updates():
            log.debug("update %s not in allowed_updates, dropped", kind)
            self.notify()
            return None
        update = {"update_id": next(self._update_ids), kind: payload}
        self._updates.append(update)
        self.notify()
        if self.webhook is not None:
            self.start_webhook_delivery()
        return update

    def confirm_updates(self, offset: int) -> None:
        """getUpdates ``offset`` semantics: drop updates with a lower id; a negative offset
        keeps only the last ``-offset`` updates."""
        before = len(self._updates)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        if len(self._updates) != before:
            self.notify()

    def drop_pending_updates(self) -> None:
        self._updates.clear()
        self.notify()

    def first_pending_update(self) -> JSONDict | None:
        return self._updates[0] if self._updates else None

    def new_poll(self) -> int:
        """A getUpdates call starts: earlier ones still waiting must give up (409)."""
        self._poll_generation += 1
        self.notify()
        return self._poll_generation

    def poll_superseded(self, generation: int) -> bool:
        return generation != self._poll_generation

    def start_webhook_delivery(self) -> None:
        if self._closed:
            return
        if self._webhook_task is None or self._webhook_task.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # started by the next setWebhook or update queued inside the loop
            self._webhook_task = loop.create_task(deliver_forever(self))

    def cancel_webhook_delivery(self) -> None:
        """Stop delivering (deleteWebhook): no wait, the caller may be the webhook handler."""
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            self._cancelled_tasks.append(task)

    async def stop_webhook_delivery(self) -> None:
        self.cancel_webhook_delivery()
        tasks, self._cancelled_tasks = self._cancelled_tasks, []
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- private helpers -------------------------------------------------------------------

    def _user(self, user_id: int) -> JSONDict:
        user = self._users.get(user_id)
        if user is None:
            raise KeyError(f"unknown user {user_id}: call fake.add_user({user_id}, ...) first")
        return user

    def _chat(self, chat_id: int) -> Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id}: add_user / add_group / add_channel first")
        return chat

    def _alive(self, chat: Chat, message_id: int) -> StoredMessage:
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise LookupError(f"no live message {message_id} in chat {chat.id}")
        return message

    def _next_message_id(self, chat: Chat) -> int:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        return message_id

    def _delivered_despite_privacy(
        self, chat: Chat, message: StoredMessage, replied: StoredMessage | None
    ) -> bool:
        if chat.type == "private" or not self.privacy_mode or chat.rights.admin:
            return True
        if not chat.rights.member:
            return False
        text = message.plain
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            return "@" not in command or command.endswith(f"@{self.bot_username}")
        if replied is not None and replied.from_bot:
            return True
        return f"@{self.bot_username}" in text

    def _fill_content(
        self, message: StoredMessage, kind: str, text: str | None, user: JSONDict
    ) -> None:
        if kind == "text":
            if not text:
                raise ValueError("a text message needs text")
            message.plain = text
            message.entities = command_entities(text)
            return
        message.content, captioned = media_content(kind, text, user, next(self._file_ids))
        message.text_field = "caption"
        if text and captioned:
            message.plain = text

    def _my_chat_member(self, chat: Chat, old: JSONDict, new: JSONDict, by: JSONDict) -> None:
        self.queue_update(
            "my_chat_member",
            {
                "chat": chat.to_json(),
                "from": by,
                "date": int(self.now()),
                "old_chat_member": old,
                "new_chat_member": new,
            },
        )

    def timeout_report(self, what: str, timeout: float) -> str:
        lines = [super().timeout_report(what, timeout), "last requests:"]
        for r in self.requests[-8:]:
            detail = ""
            if r.response is not None and not r.response.get("ok"):
                detail = f" {r.response.get('description')}"
            lines.append(f"  {r.method} -> {r.status}{detail}")
        if self.unknown_methods:
            lines.append(f"unknown methods called: {self.unknown_methods}")
        lines.append(f"pending updates: {len(self._updates)}")
        return "\n".join(lines)
