"""The Bot API methods about the bot, updates, webhooks, chats and commands; the registry.

The message methods are in :mod:`bot.sandbox.api_messages`; the fake merges both tables.

Every handler takes (fake, params, uploaded files) and returns the ``result`` of a successful
answer, or raises :class:`ApiError` with Telegram's code and description.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from bot.sandbox.limits import (
    COMMANDS_MAX,
    DESCRIPTION_MAX,
    SHORT_DESCRIPTION_MAX,
    UPDATES_LIMIT_MAX,
)
from bot.sandbox.objects import (
    ApiError,
    Chat,
    Params,
    UploadedFile,
    WebhookConfig,
    bad_request,
    forbidden,
)
from bot.sandbox.world import World

__all__ = [
    "HANDLERS",
    "Files",
    "Handler",
    "bot_member_json",
    "check_can_write",
    "commands_key",
    "registrar",
]

log = logging.getLogger("bot.sandbox")
JSONDict = dict[str, Any]
Files = Mapping[str, UploadedFile]
Handler = Callable[[World, Params, Files], Awaitable[Any]]

WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def registrar(table: dict[str, Handler]) -> Callable[[str], Callable[[Handler], Handler]]:
    """A decorator factory that files handlers in ``table`` under their method name."""

    def method(name: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            table[name.lower()] = handler  # Telegram's method names are case-insensitive
            return handler

        return register

    return method


HANDLERS: dict[str, Handler] = {}
_method = registrar(HANDLERS)


# --- shared checks ----------------------------------------------------------------------------


def check_can_write(tg: World, chat: Chat) -> None:
    """403/400 when the bot may not post in ``chat`` (blocked, not a member, no rights)."""
    if chat.type == "private":
        if chat.blocked:
            raise forbidden("bot was blocked by the user")
        return
    if not chat.rights.member:
        raise forbidden(f"bot is not a member of the {chat.type} chat")
    if chat.type == "channel" and not (chat.rights.admin and chat.rights.can_post_messages):
        raise bad_request("need administrator rights in the channel chat")


def _member_json(user: JSONDict, status: str) -> JSONDict:
    member: JSONDict = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(
            can_be_edited=False,
            is_anonymous=False,
            can_manage_chat=True,
            can_delete_messages=True,
            can_manage_video_chats=True,
            can_restrict_members=True,
            can_promote_members=False,
            can_change_info=True,
            can_invite_users=True,
            can_post_stories=True,
            can_edit_stories=True,
            can_delete_stories=True,
            can_pin_messages=True,
        )
    elif status == "kicked":
        member["until_date"] = 0
    return member


def member_json(user: JSONDict, status: str) -> JSONDict:
    """A user's ChatMember object for a status (for ``chat_member`` updates)."""
    return _member_json(user, status)


def bot_member_json(tg: World, chat: Chat) -> JSONDict:
    """The bot's ChatMember in ``chat``, from its rights (or the block, in private chats)."""
    bot = tg.bot_user
    if chat.type == "private":
        return _member_json(bot, "kicked" if chat.blocked else "member")
    rights = chat.rights
    if not rights.member:
        return _member_json(bot, "left")
    if not rights.admin:
        return _member_json(bot, "member")
    member = _member_json(bot, "administrator")
    member.update(
        can_delete_messages=rights.can_delete_messages,
        can_restrict_members=False,
        can_change_info=False,
        can_post_stories=False,
        can_edit_stories=False,
        can_delete_stories=False,
    )
    if chat.type == "channel":
        member.pop("can_pin_messages")
        member.update(
            can_post_messages=rights.can_post_messages,
            can_edit_messages=rights.can_post_messages,
        )
    return member


def commands_key(scope: JSONDict | None, language_code: str | None) -> tuple[str, str]:
    return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code or ""


def _allowed_updates(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request("can't parse allowed_updates JSON array")
    return list(value)


# --- bot and updates --------------------------------------------------------------------------


@_method("getMe")
async def get_me(tg: World, p: Params, files: Files) -> JSONDict:
    return {
        **tg.bot_user,
        "can_join_groups": True,
        "can_read_all_group_messages": not tg.privacy_mode,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@_method("getUpdates")
async def get_updates(tg: World, p: Params, files: Files) -> list[JSONDict]:
    """Long polling with Telegram's semantics: ``offset`` confirms every lower update, an
    unconfirmed update comes again, a newer getUpdates call ends a waiting one (409)."""
    if tg.webhook is not None:
        raise ApiError(409, WEBHOOK_CONFLICT)
    offset = p.get_int("offset")
    limit = min(max(p.get_int("limit") or UPDATES_LIMIT_MAX, 1), UPDATES_LIMIT_MAX)
    timeout = max(p.get_int("timeout") or 0, 0)
    allowed = _allowed_updates(p.get_json("allowed_updates"))
    if allowed is not None:
        tg.allowed_updates = allowed
    if offset is not None:
        tg.confirm_updates(offset)
    generation = tg.new_poll()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if tg.poll_superseded(generation):
            raise ApiError(409, POLL_CONFLICT)
        if tg.webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        pending = tg.pending_updates
        if pending:
            return pending[:limit]
        remaining = deadline - loop.time()
        if remaining <= 0:
            return []
        await tg.wait_change(remaining)


@_method("setWebhook")
async def set_webhook(tg: World, p: Params, files: Files) -> bool:
    url = p.get_str("url") or ""
    if not url:
        await delete_webhook(tg, p, files)  # an empty url removes the webhook
        return True
    parts = urlsplit(url)
    if not parts.hostname:
        raise bad_request("bad webhook: Failed to resolve host: Name or service not known")
    # Telegram wants HTTPS on a few ports; plain HTTP is only tolerated to loopback, where the
    # tests and `livredor demo` run.
    if parts.hostname not in _LOOPBACK:
        if parts.scheme != "https":
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if (parts.port or 443) not in (80, 88, 443, 8443):
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
    elif parts.scheme not in ("http", "https"):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = p.get_str("secret_token")
    if secret is not None and not _SECRET_RE.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    allowed = _allowed_updates(p.get_json("allowed_updates"))
    if allowed is not None:
        tg.allowed_updates = allowed
    max_connections = p.get_int("max_connections") or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    if p.get_bool("drop_pending_updates"):
        tg.drop_pending_updates()
    tg.webhook = WebhookConfig(
        url=url,
        secret_token=secret,
        max_connections=max_connections,
        allowed_updates=tg.allowed_updates,
        ip_address=p.get_str("ip_address"),
    )
    tg.start_webhook_delivery()
    tg.notify()
    return True


@_method("deleteWebhook")
async def delete_webhook(tg: World, p: Params, files: Files) -> bool:
    tg.webhook = None
    tg.cancel_webhook_delivery()
    if p.get_bool("drop_pending_updates"):
        tg.drop_pending_updates()
    tg.notify()
    return True


@_method("getWebhookInfo")
async def get_webhook_info(tg: World, p: Params, files: Files) -> JSONDict:
    config = tg.webhook
    info: JSONDict = {
        "url": config.url if config else "",
        "has_custom_certificate": False,
        "pending_update_count": len(tg.pending_updates),
    }
    if config is not None:
        info["max_connections"] = config.max_connections
        if config.allowed_updates is not None:
            info["allowed_updates"] = config.allowed_updates
        if config.ip_address:
            info["ip_address"] = config.ip_address
        if config.last_error_date is not None:
            info["last_error_date"] = config.last_error_date
            info["last_error_message"] = config.last_error_message
    return info


# --- chats ------------------------------------------------------------------------------------


@_method("getChat")
async def get_chat(tg: World, p: Params, files: Files) -> JSONDict:
    chat = tg.chat_by_param(p)
    return {
        **chat.to_json(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


def _member_list_access(chat: Chat) -> None:
    if not chat.rights.member:
        raise forbidden(f"bot is not a member of the {chat.type} chat")
    if chat.type == "channel" and not chat.rights.admin:
        raise bad_request("member list is inaccessible")


@_method("getChatMember")
async def get_chat_member(tg: World, p: Params, files: Files) -> JSONDict:
    chat = tg.chat_by_param(p)
    user_id = p.get_int("user_id")
    if user_id is None:
        raise bad_request("user_id is empty")
    if user_id == tg.bot_id:
        return bot_member_json(tg, chat)
    user = tg.user_json(user_id)
    if user is None:
        raise bad_request("user not found")
    if chat.type == "private":
        if user_id != chat.id:
            raise bad_request("user not found")
        return _member_json(user, "member")
    _member_list_access(chat)
    return _member_json(user, chat.members.get(user_id, "left"))


@_method("getChatAdministrators")
async def get_chat_administrators(tg: World, p: Params, files: Files) -> list[JSONDict]:
    chat = tg.chat_by_param(p)
    if chat.type == "private":
        raise bad_request("there are no administrators in the private chat")
    _member_list_access(chat)
    admins = []
    for user_id, status in chat.members.items():
        user = tg.user_json(user_id)
        if user is not None and status in ("creator", "administrator"):
            admins.append(_member_json(user, status))
    if chat.rights.admin:
        admins.append(bot_member_json(tg, chat))
    return admins


# --- commands ---------------------------------------------------------------------------------


def _scope(tg: World, p: Params) -> tuple[str, str]:
    scope = p.get_json("scope")
    if scope is not None:
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
            raise bad_request("can't parse BotCommandScope JSON object")
        if scope["type"] in ("chat", "chat_administrators", "chat_member"):
            tg.chat_by_param(Params({"chat_id": scope.get("chat_id")}))
        if scope["type"] == "chat_member" and not isinstance(scope.get("user_id"), int):
            raise bad_request("user not found")
    language = p.get_str("language_code") or ""
    if language and not re.fullmatch(r"[a-z]{2}", language):
        raise bad_request("invalid language code specified")
    return commands_key(scope, language)


@_method("setMyCommands")
async def set_my_commands(tg: World, p: Params, files: Files) -> bool:
    commands = p.get_json("commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON array")
    if len(commands) > COMMANDS_MAX:
        raise bad_request("BOT_COMMANDS_TOO_MUCH")
    checked = []
    for command in commands:
        if not isinstance(command, dict):
            raise bad_request("can't parse BotCommand JSON object")
        name, description = command.get("command"), command.get("description")
        if not isinstance(name, str) or not _COMMAND_RE.fullmatch(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        checked.append({"command": name, "description": description})
    tg.commands[_scope(tg, p)] = checked
    return True


@_method("deleteMyCommands")
async def delete_my_commands(tg: World, p: Params, files: Files) -> bool:
    # The scope's list goes; Telegram then shows the next broader scope's (for a private
    # chat: all private chats', then the default).
    tg.commands.pop(_scope(tg, p), None)
    return True


@_method("getMyCommands")
async def get_my_commands(tg: World, p: Params, files: Files) -> list[JSONDict]:
    return list(tg.commands.get(_scope(tg, p), []))


# --- the bot's description ("What can this bot do?") and short description (its profile) ------


def _language(p: Params) -> str:
    language = p.get_str("language_code") or ""
    if language and not re.fullmatch(r"[a-z]{2}", language):
        raise bad_request("invalid language code specified")
    return language


def _set_description(tg: World, p: Params, field: str, limit: int) -> bool:
    """An empty (or absent) text removes the language's one; longer than ``limit``: 400."""
    text = p.get_str(field) or ""
    if len(text) > limit:
        raise bad_request(f"{field.upper()}_INVALID")
    table = tg.descriptions if field == "description" else tg.short_descriptions
    language = _language(p)
    if text:
        table[language] = text
    else:
        table.pop(language, None)
    return True


@_method("setMyDescription")
async def set_my_description(tg: World, p: Params, files: Files) -> bool:
    return _set_description(tg, p, "description", DESCRIPTION_MAX)


@_method("getMyDescription")
async def get_my_description(tg: World, p: Params, files: Files) -> JSONDict:
    return {"description": tg.descriptions.get(_language(p), "")}


@_method("setMyShortDescription")
async def set_my_short_description(tg: World, p: Params, files: Files) -> bool:
    return _set_description(tg, p, "short_description", SHORT_DESCRIPTION_MAX)


@_method("getMyShortDescription")
async def get_my_short_description(tg: World, p: Params, files: Files) -> JSONDict:
    return {"short_description": tg.short_descriptions.get(_language(p), "")}
