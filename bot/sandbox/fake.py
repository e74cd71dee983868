"""``FakeTelegram``: a strict, in-memory Telegram Bot API, and the API tests drive it with.

The Bot API side (``handle``) is reached through :class:`bot.sandbox.request.FakeRequest`
(in process) or :func:`bot.sandbox.server.start_server` (loopback HTTP). The driver side
(``add_user``, ``user_sends``, ``messages``, ``wait_for``...) is what tests call directly.

Everything runs on one asyncio loop; methods that are not ``async`` never block.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping

from bot.sandbox import api, api_messages
from bot.sandbox.media import command_entities, default_photo, media_content, photo_sizes
from bot.sandbox.objects import (
    ApiError,
    BotRights,
    Chat,
    JSONDict,
    Params,
    RecordedRequest,
    StoredMessage,
    UploadedFile,
    buttons_of,
)
from bot.sandbox.webhook import deliver_forever
from bot.sandbox.world import World

__all__ = ["FakeTelegram"]

log = logging.getLogger("bot.sandbox")

_HANDLERS = {**api.HANDLERS, **api_messages.HANDLERS}
_TELEGRAM_SERVICE_USER: JSONDict = {"id": 777000, "is_bot": False, "first_name": "Telegram"}
# The sender Telegram shows for an admin who posts as the group.
GROUP_ANONYMOUS_BOT: JSONDict = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}


class FakeTelegram(World):
    """A strict fake of the Telegram Bot API (a test double), plus helpers to play the users.

    Bot API behaviour (errors, limits, updates) follows Telegram; see the package docstring
    for the list of checks. Attributes tests read:

    * ``requests``: every call, in order (:class:`RecordedRequest`);
    * ``unknown_methods``: Bot API methods the fake does not implement (must stay empty);
    * ``callback_answers``: ``{query_id: {"text", "show_alert", "url", "cache_time"}}``;
    * ``allowed_updates``: the last ``allowed_updates`` the bot asked for (None: never);
    * ``webhook`` / ``webhook_deliveries``: current webhook and every POST made to it;
    * ``flood``: the :class:`FloodControl` (its limits and windows may be changed live).
    """

    # --- Bot API entry point ----------------------------------------------------------------------

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
        hold = self.held_by_rule(method, record.params)
        if hold is not None and not hold.effect:
            # Lost on the way: nothing happens, the caller waits (and times out).
            await self.hold_answer(record)
            record.status, record.response = 504, ApiError(504, "Gateway Timeout").payload()
            return 504, record.response
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
            failure = self.failure_for(method, record.params)
            if failure is not None:
                raise ApiError(*failure)
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
        if hold is not None:
            await self.hold_answer(record)
        return status, payload

    # --- the world: users, chats, rights ----------------------------------------------------------

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
        with_bot: bool = True,
    ) -> JSONDict:
        """Create a group (supergroup by default, id like -100...) with the bot as admin.

        ``admins`` and ``members`` are user ids (``add_user`` them first). ``with_bot=False``:
        the bot is not in it yet (``add_bot`` adds it, as an organiser would).
        """
        if supergroup and not str(chat_id).startswith("-100"):
            raise ValueError("supergroup ids look like -100xxxxxxxxxx")
        if chat_id >= 0:
            raise ValueError("group ids are negative")
        chat = Chat(
            chat_id, "supergroup" if supergroup else "group", title=title, username=username
        )
        if not with_bot:
            chat.rights = BotRights(member=False, admin=False)
        for user_id in members:
            chat.members[self._user(user_id)["id"]] = "member"
        for user_id in admins:
            chat.members[self._user(user_id)["id"]] = "administrator"
        self._chats[chat_id] = chat
        return chat.to_json()

    def add_channel(
        self,
        chat_id: int,
        title: str,
        username: str | None = None,
        *,
        admins: Iterable[int] = (),
        with_bot: bool = True,
    ) -> JSONDict:
        """Create a channel (id like -100...) where the bot is an admin that may post
        (``with_bot=False``: not there yet; ``admins`` are user ids, the first its owner)."""
        if not str(chat_id).startswith("-100"):
            raise ValueError("channel ids look like -100xxxxxxxxxx")
        chat = Chat(chat_id, "channel", title=title, username=username)
        for n, user_id in enumerate(admins):
            chat.members[self._user(user_id)["id"]] = "creator" if n == 0 else "administrator"
        if not with_bot:
            chat.rights = BotRights(member=False, admin=False)
        self._chats[chat_id] = chat
        return chat.to_json()

    def add_bot(
        self,
        chat_id: int,
        *,
        by: int,
        admin: bool = False,
        can_post_messages: bool = True,
    ) -> None:
        """User ``by`` adds the bot to a group or channel, as a member or straight as an
        administrator (a channel only takes bots as administrators).

        Telegram then sends the bot a ``my_chat_member`` update (left -> member or
        administrator) and, in a group, the service message that announces the new member
        (``new_chat_members``). ``set_bot_rights(chat_id, admin=True, by=...)`` promotes it
        later, ``set_bot_rights(chat_id, member=False, by=...)`` removes it.
        """
        chat = self._chat(chat_id)
        if chat.rights.member:
            raise ValueError(f"the bot is already in chat {chat_id}")
        if chat.type == "channel" and not admin:
            raise ValueError("a bot can only join a channel as an administrator")
        self.set_bot_rights(
            chat_id, member=True, admin=admin, can_post_messages=can_post_messages, by=by
        )
        if chat.type in ("group", "supergroup"):
            adder = self._user(by)
            message = StoredMessage(
                chat=chat.to_json(),
                message_id=self._next_message_id(chat),
                date=self.now(),
                sender=adder,
                from_bot=False,
                content={"new_chat_members": [self.bot_user]},
                text_field="service",
            )
            chat.messages[message.message_id] = message
            self.queue_update("message", message.to_json())

    def migrate_group(self, chat_id: int, new_id: int, *, by: int) -> JSONDict:
        """User ``by`` turns a basic group into a supergroup (Telegram does it when a group
        gets a public link or some settings): a new chat, ``new_id`` (-100...), with the same
        title, members and bot rights; the old id answers every call with 400 and
        ``migrate_to_chat_id``. Each chat gets its service message, ``migrate_to_chat_id`` in
        the old one and ``migrate_from_chat_id`` in the new one."""
        old = self._chat(chat_id)
        if old.type != "group":
            raise ValueError("only a basic group becomes a supergroup")
        if not str(new_id).startswith("-100") or new_id in self._chats:
            raise ValueError("a new supergroup id, like -100xxxxxxxxxx")
        new = Chat(
            new_id,
            "supergroup",
            title=old.title,
            members=dict(old.members),
            rights=BotRights(**vars(old.rights)),
        )
        self._chats[new_id] = new
        adder = self._user(by)
        for chat, content in (
            (old, {"migrate_to_chat_id": new_id}),
            (new, {"migrate_from_chat_id": chat_id}),
        ):
            message = StoredMessage(
                chat=chat.to_json(),
                message_id=self._next_message_id(chat),
                date=self.now(),
                sender=adder,
                from_bot=False,
                content=content,
                text_field="service",
            )
            chat.messages[message.message_id] = message
            if chat.rights.member:
                self.queue_update("message", message.to_json())
        old.migrated_to = new_id
        return new.to_json()

    def set_member(self, chat_id: int, user_id: int, status: str, *, tell_bot: bool = True) -> None:
        """Set a user's status in a group or channel: creator, administrator, member, left,
        kicked (what getChatMember / getChatAdministrators report). ``tell_bot=False``: no
        ``chat_member`` update (the bot was stopped, or not an admin, when it happened)."""
        if status not in ("creator", "administrator", "member", "left", "kicked"):
            raise ValueError(f"unknown status {status!r}")
        user = self._user(user_id)
        chat = self._chat(chat_id)
        old = chat.members.get(user_id, "left")
        chat.members[user_id] = status
        self.notify()
        if tell_bot and old != status and chat.type != "private" and chat.rights.admin:
            # Telegram tells admin bots (that asked for chat_member) of every change.
            owner = next((u for u, s in chat.members.items() if s == "creator"), None)
            by = self._users.get(owner) if owner is not None else None
            self.queue_update(
                "chat_member",
                {
                    "chat": chat.to_json(),
                    "from": by or _TELEGRAM_SERVICE_USER,
                    "date": int(self.now()),
                    "old_chat_member": api.member_json(user, old),
                    "new_chat_member": api.member_json(user, status),
                },
            )

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

    # --- users act --------------------------------------------------------------------------------

    def user_sends(
        self,
        user_id: int,
        text: str | None = None,
        *,
        chat_id: int | None = None,
        reply_to: int | None = None,
        kind: str = "text",
        anonymous: bool = False,
        photo: bytes | None = None,
        media_group_id: str | None = None,
    ) -> JSONDict:
        """A user sends a message; queues a ``message`` update; returns the Message JSON.

        ``chat_id`` defaults to the user's private chat. A text starting with "/" carries a
        ``bot_command`` entity (so "/start payload" is a deep link). ``kind`` is one of text,
        sticker, photo, voice, location, contact, document, video, animation, audio,
        video_note, poll, dice; for media, ``text`` is the caption. ``reply_to`` is the id
        of a message of that chat. ``anonymous``: an admin who posts as the group (Telegram
        sends it "from" GroupAnonymousBot with ``sender_chat`` the group; admins only).

        A user who writes in a group becomes a member of it (unless left or kicked).
        In a group where the bot is not an admin and ``privacy_mode`` is on, the message is
        stored but, as with Telegram, only delivered if it is a command, a reply to the bot
        or mentions it. Sending to a bot the user blocked unblocks it first, as in the apps.
        """
        user = self._user(user_id)
        chat = self._chat(user_id if chat_id is None else chat_id)
        if chat.type == "channel":
            raise ValueError("users cannot write in a channel")
        if chat.type != "private":
            status = chat.members.get(user_id)
            if status in ("left", "kicked"):
                raise ValueError(f"user {user_id} is {status} in chat {chat.id}")
            if status is None:
                chat.members[user_id] = "member"
        elif chat.id != user_id:
            raise ValueError("a private chat only has its own user")
        if anonymous and chat.members.get(user_id) not in ("administrator", "creator"):
            raise ValueError(f"only admins can post as the group; user {user_id} is not one")
        if chat.blocked:
            self.unblock_bot(user_id)
        replied = self._alive(chat, reply_to) if reply_to is not None else None
        message = StoredMessage(
            chat=chat.to_json(),
            message_id=self._next_message_id(chat),
            date=self.now(),
            sender=GROUP_ANONYMOUS_BOT if anonymous else user,
            from_bot=False,
            reply_to=replied.to_json(with_reply=False) if replied else None,
            as_chat=anonymous,
        )
        self._fill_content(message, kind, text, user, photo)
        if media_group_id is not None:
            message.content["media_group_id"] = media_group_id
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

    # --- reading ----------------------------------------------------------------------------------

    def messages(
        self, chat_id: int, *, include_users: bool = False, include_deleted: bool = False
    ) -> list[JSONDict]:
        """The bot's messages in a chat, oldest first, as they are now (after edits, without
        deleted ones). Each is a fresh dict: message_id, chat_id, text (plain, or the caption),
        html (as sent), parse_mode, entities, reply_markup, document (None or filename,
        content, mime_type, file_id), photo (None or the bytes of a photo the bot sent),
        from_bot, date, edit_count, deleted, json (Bot API)."""
        chat = self._chat(chat_id)
        return [
            m.view()
            for m in chat.messages.values()
            if (include_users or m.from_bot) and (include_deleted or not m.deleted)
        ]

    def snapshot(self, chat_id: int) -> dict[int, str]:
        """The texts of the bot's messages in a chat now, for ``changed_since``."""
        return {int(m["message_id"]): str(m["text"]) for m in self.messages(chat_id)}

    def changed_since(self, chat_id: int, snapshot: Mapping[int, str]) -> list[JSONDict]:
        """The bot's messages in a chat, oldest first, that are new since ``snapshot`` or
        whose text was edited since (a bot may answer a button press in place)."""
        return [m for m in self.messages(chat_id) if snapshot.get(m["message_id"]) != m["text"]]

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

    def my_commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """Commands set with setMyCommands for a scope (default scope) and language."""
        return list(self.commands.get(api.commands_key(scope, language_code), []))

    def age_message(self, chat_id: int, message_id: int, *, hours: float) -> None:
        """Pretend a message was sent ``hours`` earlier (for the 48-hour delete rule)."""
        message = self._chat(chat_id).messages[message_id]
        message.date -= hours * 3600

    # --- waiting ----------------------------------------------------------------------------------

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

    # --- lifecycle --------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop webhook delivery and answer held calls. The fake stays readable."""
        self._closed = True
        self.release()
        await self.stop_webhook_delivery()

    async def deliver_webhook(self) -> None:
        """POST pending updates to the webhook until it is deleted."""
        await deliver_forever(self)

    # --- private helpers --------------------------------------------------------------------------

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
        self,
        message: StoredMessage,
        kind: str,
        text: str | None,
        user: JSONDict,
        photo: bytes | None = None,
    ) -> None:
        if kind == "text":
            if not text:
                raise ValueError("a text message needs text")
            message.plain = text
            message.entities = command_entities(text)
            return
        message.content, captioned = media_content(kind, text, user, next(self._file_ids))
        if kind == "photo":
            content = default_photo() if photo is None else photo
            file_id, unique_id = self.new_file_ids()
            sizes = photo_sizes(content, file_id, unique_id)
            for size in sizes:
                self.keep_content(size["file_id"], size["file_unique_id"], content)
            message.content["photo"] = sizes
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
