"""``World``: the fake Telegram's state, as the Bot API methods and the webhook see it.

The bot, its users and chats, pending updates, the webhook, flood control, and what the
methods of :mod:`bot.sandbox.api` and :mod:`bot.sandbox.api_messages` need to read and
change them. :class:`bot.sandbox.fake.FakeTelegram` adds the entry point (``handle``) and
the driver tests call. Modules depend on this one, never the other way round.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.sandbox.limits import FloodControl
from bot.sandbox.objects import (
    DEFAULT_UPDATE_TYPES,
    ApiError,
    Chat,
    JSONDict,
    StoredMessage,
    bad_request,
)
from bot.sandbox.signals import Signals

if TYPE_CHECKING:
    from bot.sandbox.objects import (
        Params,
        RecordedRequest,
        UploadedFile,
        WebhookConfig,
        WebhookDelivery,
    )

# The Bot API methods, the webhook delivery and FakeTelegram log under one name.
log = logging.getLogger("bot.sandbox")


class World(Signals):
    """The state of a fake Telegram and the operations its Bot API methods share."""

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
        private_limit: int | None = None,
        private_window: float = 1.0,
        flood: FloodControl | None = None,
        privacy_mode: bool = True,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``clock`` returns Unix time in seconds (message dates, the 48-hour rule, flood
        windows); long polling and ``wait_for`` always use real time.

        Flood limits: ``group_*`` per group or channel, ``global_*`` in all, ``private_*`` per
        private chat (off when ``private_limit`` is None); or a whole ``flood`` (like
        ``FloodControl.scaled(10)``), which replaces them.

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
        self.flood = flood or FloodControl(
            group_limit=group_limit,
            group_window=group_window,
            global_limit=global_limit,
            global_window=global_window,
            private_limit=private_limit,
            private_window=private_window,
        )
        self.requests: list[RecordedRequest] = []
        self.unknown_methods: list[str] = []
        self.callback_answers: dict[str, JSONDict] = {}
        self.allowed_updates: list[str] | None = None
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
        # What getFile can serve: file id -> (file_unique_id, bytes); file_path -> bytes.
        self._contents: dict[str, tuple[str, bytes]] = {}
        self._file_paths: dict[str, bytes] = {}
        self.downloads: list[str] = []  # file paths downloaded from the file server
        self._poll_generation = 0
        self._webhook_task: asyncio.Task[None] | None = None
        self._cancelled_tasks: list[asyncio.Task[None]] = []
        self._closed = False

    # --- the bot ----------------------------------------------------------------------------------

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

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by the bot (getUpdates offset or webhook 2xx)."""
        return list(self._updates)

    # --- shared with the Bot API methods and the webhook ------------------------------------------

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
        if found.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=found.migrated_to,
            )
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

    def new_file_ids(self, prefix: str = "AgACAgQAAxkBAAI") -> tuple[str, str]:
        """A fresh (file_id, file_unique_id)."""
        n = next(self._file_ids)
        return f"{prefix}{n:08d}", f"AQAD{n:08d}"

    def keep_content(self, file_id: str, unique_id: str, content: bytes) -> None:
        """Remember the bytes behind a file id, for getFile and the file server."""
        self._contents[file_id] = (unique_id, content)

    def content_of(self, file_id: str) -> bytes | None:
        found = self._contents.get(file_id)
        return found[1] if found is not None else None

    def get_file(self, file_id: str) -> JSONDict | None:
        """The Bot API ``File`` for getFile (None: unknown id): its ``file_path`` is valid on
        the file server (``download``) from now on, like Telegram's (an hour there)."""
        found = self._contents.get(file_id)
        if found is None:
            return None
        unique_id, content = found
        path = f"photos/file_{len(self._file_paths)}.jpg"
        self._file_paths[path] = content
        return {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "file_size": len(content),
            "file_path": path,
        }

    def download(self, token: str, path: str) -> bytes | None:
        """The file server: ``/file/bot<token>/<file_path>``; None answers 404."""
        if token != self.token:
            return None
        content = self._file_paths.get(path)
        if content is not None:
            self.downloads.append(path)
            self.notify()
        return content

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
            self._webhook_task = loop.create_task(self.deliver_webhook())

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

    async def deliver_webhook(self) -> None:
        """POST pending updates to the webhook until it is deleted (FakeTelegram does it
        with :func:`bot.sandbox.webhook.deliver_forever`)."""
        raise NotImplementedError

    # --- lookups ----------------------------------------------------------------------------------

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
