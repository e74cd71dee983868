"""Data of the fake Telegram: errors, parameters, chats, messages, and their Bot API JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bot.sandbox.limits import CALLBACK_DATA_MAX_BYTES, INLINE_BUTTONS_MAX

__all__ = [
    "ALL_UPDATE_TYPES",
    "DEFAULT_UPDATE_TYPES",
    "ApiError",
    "BotRights",
    "Chat",
    "Params",
    "RecordedRequest",
    "StoredMessage",
    "UploadedFile",
    "WebhookDelivery",
    "bad_request",
    "forbidden",
    "validate_reply_markup",
]

JSONDict = dict[str, Any]

# What Telegram sends when allowed_updates was never given (or given as []): everything but
# the three types a bot must ask for explicitly.
ALL_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
DEFAULT_UPDATE_TYPES = ALL_UPDATE_TYPES - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": code, "description": ...}``."""

    def __init__(
        self,
        code: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def payload(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        if self.migrate_to_chat_id is not None:
            body["parameters"] = {"migrate_to_chat_id": self.migrate_to_chat_id}
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    return ApiError(403, f"Forbidden: {detail}")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content: bytes
    mime_type: str | None = None


# How PTB (and any HTTP client) encodes values: form fields are strings, JSON-typed values are
# JSON text. A JSON body carries them typed. Params accepts both, like Telegram does.
_INT_RE = re.compile(r"-?\d+")
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "commands",
        "scope",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "media",
    }
)
_INT_FIELDS = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "timeout",
        "user_id",
        "cache_time",
        "reply_to_message_id",
        "max_connections",
        "message_thread_id",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "show_alert",
        "disable_notification",
        "protect_content",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "disable_content_type_detection",
        "show_caption_above_media",
        "has_spoiler",
    }
)


class Params:
    """The parameters of one request, with typed getters that fail the way Telegram does."""

    def __init__(self, raw: Mapping[str, object]) -> None:
        self.raw: dict[str, object] = dict(raw)

    def has(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def get_str(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        raise bad_request(f'field "{name}" must be of type String')

    def get_int(self, name: str) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
            return int(value)
        raise bad_request(f'field "{name}" must be of type Integer')

    def get_bool(self, name: str) -> bool:
        value = self.raw.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def get_json(self, name: str) -> Any:
        value = self.raw.get(name)
        if isinstance(value, str):
            if not value:
                return None
            try:
                return json.loads(value)
            except ValueError:
                if name == "reply_markup":
                    raise bad_request("can't parse reply keyboard markup JSON object") from None
                raise bad_request(f"can't parse {name} JSON object") from None
        return value

    def decoded(self) -> dict[str, object]:
        """Best-effort typed view, for the request log that tests read."""
        out: dict[str, object] = {}
        for name, value in self.raw.items():
            try:
                if name in _JSON_FIELDS:
                    out[name] = self.get_json(name)
                elif name in _INT_FIELDS:
                    out[name] = self.get_int(name)
                elif name in _BOOL_FIELDS:
                    out[name] = self.get_bool(name)
                elif name == "chat_id" and isinstance(value, str) and _INT_RE.fullmatch(value):
                    out[name] = int(value)
                else:
                    out[name] = value
            except ApiError:
                out[name] = value
        return out


@dataclass
class BotRights:
    """What the bot may do in a group or channel (see ``FakeTelegram.set_bot_rights``)."""

    member: bool = True
    admin: bool = True
    can_post_messages: bool = True
    can_delete_messages: bool = True


@dataclass
class StoredMessage:
    """One message of a chat, as the fake keeps it (bot's and users')."""

    chat: JSONDict  # Bot API Chat object
    message_id: int
    date: float  # the fake's clock; int(date) is the Bot API "date"
    sender: JSONDict | None  # Bot API User ("from"), None for channel posts
    from_bot: bool
    content: JSONDict = field(default_factory=dict)  # sticker, document, photo...
    text_field: str = "text"  # "text" or "caption"
    plain: str = ""  # text or caption as users see it
    entities: list[JSONDict] = field(default_factory=list)
    html: str | None = None  # what the bot sent, before entity parsing
    parse_mode: str | None = None
    reply_markup: JSONDict | None = None
    reply_to: JSONDict | None = None  # Bot API Message replied to
    edit_date: float | None = None
    edit_count: int = 0
    upload: UploadedFile | None = None  # bytes of a document the bot sent
    photo: bytes | None = None  # the image of a photo the bot sent
    deleted: bool = False
    as_chat: bool = False  # an anonymous admin's message: "from" GroupAnonymousBot

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    def to_json(self, *, with_reply: bool = True) -> JSONDict:
        """The Bot API ``Message`` object."""
        msg: JSONDict = {"message_id": self.message_id}
        if self.sender is not None:
            msg["from"] = self.sender
        if self.chat["type"] == "channel" or self.as_chat:
            msg["sender_chat"] = self.chat
        msg["chat"] = self.chat
        msg["date"] = int(self.date)
        if self.edit_date is not None:
            msg["edit_date"] = int(self.edit_date)
        if with_reply and self.reply_to is not None:
            msg["reply_to_message"] = self.reply_to
        msg.update(self.content)
        if self.text_field == "text" or self.plain:
            msg[self.text_field] = self.plain
            if self.entities:
                key = "entities" if self.text_field == "text" else "caption_entities"
                msg[key] = self.entities
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            # Only inline keyboards are part of the Message object.
            msg["reply_markup"] = self.reply_markup
        return msg

    def view(self) -> JSONDict:
        """The flat dict ``FakeTelegram.messages`` hands to tests."""
        document = None
        if self.upload is not None and "document" in self.content:
            document = {
                "filename": self.upload.filename,
                "content": self.upload.content,
                "mime_type": self.upload.mime_type,
                "file_id": self.content.get("document", {}).get("file_id"),
            }
        return {
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "text": self.plain,
            "html": self.html,
            "parse_mode": self.parse_mode,
            "entities": self.entities,
            "reply_markup": self.reply_markup,
            "document": document,
            "photo": self.photo,
            "from_bot": self.from_bot,
            "date": int(self.date),
            "edit_count": self.edit_count,
            "deleted": self.deleted,
            "json": self.to_json(),
        }


@dataclass
class Chat:
    """A chat the fake knows: private (id = user id), group, supergroup or channel."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    members: dict[int, str] = field(default_factory=dict)  # user id -> ChatMember status
    rights: BotRights = field(default_factory=BotRights)
    blocked: bool = False  # private chats: the user blocked the bot
    migrated_to: int | None = None  # a group that became this supergroup
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1

    def to_json(self) -> JSONDict:
        chat: JSONDict = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            value = getattr(self, key)
            if value is not None:
                chat[key] = value
        return chat

    @property
    def is_group_like(self) -> bool:
        """Group, supergroup or channel: the chats with the 20-a-minute limit."""
        return self.type != "private"


@dataclass
class RecordedRequest:
    """One Bot API call the fake answered (or is answering: ``status`` is None until then)."""

    method: str
    params: dict[str, object]
    monotonic: float
    status: int | None = None
    response: JSONDict | None = None
    files: dict[str, UploadedFile] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class WebhookDelivery:
    """One POST of an update to the webhook: ``status`` None when the connection failed;
    ``update`` the update POSTed."""

    update_id: int
    url: str
    status: int | None
    error: str | None = None
    update: JSONDict | None = None


# --- reply markup -----------------------------------------------------------------------------

_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_REPLY_BUTTON_OPTIONS = (
    "request_users",
    "request_chat",
    "request_contact",
    "request_location",
    "request_poll",
    "web_app",
)


def _valid_button_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        return bool(parts.hostname)
    return parts.scheme == "tg" and bool(parts.netloc or parts.path)


def _inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    total = 0
    for row in rows:
        if not isinstance(row, list):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        total += len(row)
        for button in row:
            if not isinstance(button, dict):
                raise bad_request(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            text = button.get("text")
            if not isinstance(text, str):
                raise bad_request(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if not text.strip():
                raise bad_request("BUTTON_TEXT_INVALID")
            actions = [a for a in _INLINE_ACTIONS if a in button]
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are "
                    "unallowed in the inline keyboard"
                )
            if len(actions) > 1:
                raise bad_request(
                    "can't parse inline keyboard button: only one of the "
                    f"optional fields must be used, got {', '.join(actions)}"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not data:
                    raise bad_request("BUTTON_DATA_INVALID")
                if len(data.encode("utf-8")) > CALLBACK_DATA_MAX_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in button:
                url = button["url"]
                if not isinstance(url, str) or not _valid_button_url(url):
                    raise bad_request(
                        f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL"
                    )
    if total > INLINE_BUTTONS_MAX:
        raise bad_request("BUTTONS_TOO_MUCH")


def _reply_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not rows:
        raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be a non-empty Array')
    for row in rows:
        if not isinstance(row, list):
            raise bad_request(
                'field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays'
            )
        for button in row:
            if isinstance(button, str):
                text: object = button
            elif isinstance(button, dict):
                text = button.get("text")
                if sum(option in button for option in _REPLY_BUTTON_OPTIONS) > 1:
                    raise bad_request(
                        "can't parse keyboard button: only one of the optional fields must be used"
                    )
            else:
                raise bad_request(
                    "can't parse keyboard button: KeyboardButton must be a String or an Object"
                )
            if not isinstance(text, str) or not text.strip():
                raise bad_request(
                    'can\'t parse keyboard button: Field "text" must be a non-empty String'
                )


def validate_reply_markup(markup: Any, *, inline_only: bool = False) -> JSONDict | None:
    """Check ``reply_markup`` like Telegram; return it (None when absent).

    ``inline_only``: edit methods accept nothing but an inline keyboard.
    """
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _inline_keyboard(markup["inline_keyboard"])
        return markup
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        _reply_keyboard(markup["keyboard"])
    elif "remove_keyboard" in markup:
        if markup["remove_keyboard"] is not True:
            raise bad_request('field "remove_keyboard" of the ReplyKeyboardRemove must be true')
    elif "force_reply" in markup:
        if markup["force_reply"] is not True:
            raise bad_request('field "force_reply" of the ForceReply must be true')
    else:
        raise bad_request(
            'can\'t find field "inline_keyboard", "keyboard", '
            '"remove_keyboard" or "force_reply" in reply_markup'
        )
    return markup


def buttons_of(markup: JSONDict | None) -> list[tuple[str, str | None]]:
    """(text, callback_data) of every inline button, row by row; None for non-callback ones."""
    if not markup or "inline_keyboard" not in markup:
        return []
    return [
        (str(button["text"]), button.get("callback_data"))
        for row in markup["inline_keyboard"]
        for button in row
    ]


@dataclass
class WebhookConfig:
    """What setWebhook set, plus what getWebhookInfo reports about failures."""

    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
