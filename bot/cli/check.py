"""``livredor check``: is everything ready to run? One line per item, one fix per problem.

It asks Telegram (with the configured token) who the bot is and what it may do in the
organisers' group and the channel, and looks at the database file. It never prints the token:
PTB's own ``InvalidToken`` message contains it, so exception texts are not echoed unredacted.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from telegram import Bot, ChatFullInfo, ChatMember, ChatMemberAdministrator, User
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    TelegramError,
)

from bot.services import menus
from bot.services.sessions import Sessions, SessionsError
from bot.services.telegram_http import command_bot
from bot.services.texts import Texts, TextsError
from config.settings import Settings
from storage.database import Database, DatabaseFileError, sqlite_code
from storage.inbox import Inbox
from storage.migrations import SCHEMA_VERSION

OFFICIAL_API_HOST = "api.telegram.org"
#: The schema from which the inbox records unreadable updates (storage/migrations.py, 10).
UNREADABLE_SINCE = 10
WEBHOOK_PORTS = (443, 80, 88, 8443)


@dataclass
class Finding:
    """One checked item: what was found and, for a problem, the sentence that fixes it."""

    subject: str
    found: str
    fix: str | None = None
    note: str | None = None
    # Telegram turned the group into a supergroup: its new id (what the fix asks to set).
    moved_to: int | None = None

    @property
    def ok(self) -> bool:
        return self.fix is None

    def sentence(self) -> str:
        """The finding as one line: what was found and, for a problem, what to do."""
        line = f"{self.subject}: {self.found}."
        return f"{line} To fix: {self.fix}" if self.fix else line


#: How a chat's type reads in a sentence ("this chat is a channel, not a group").
CHAT_KINDS: dict[str, str] = {
    ChatType.PRIVATE: "a private chat",
    ChatType.CHANNEL: "a channel",
    ChatType.GROUP: "a group",
    ChatType.SUPERGROUP: "a supergroup",
}


def _redact(text: str, settings: Settings) -> str:
    return text.replace(settings.token, "<token>") if settings.bot_token else text


def _group_title(chat: ChatFullInfo, chat_id: int | str) -> str:
    if chat.title:
        return f'"{chat.title}" ({chat_id})'
    return str(chat_id)


async def _member(bot: Bot, chat_id: int | str, bot_id: int) -> ChatMember | None:
    """The bot's own membership, or None when Telegram will not say (not a member)."""
    try:
        return await bot.get_chat_member(chat_id, bot_id)
    except (BadRequest, Forbidden):
        return None


async def check_group(bot: Bot, settings: Settings, me: User) -> Finding:
    """The bot must be an administrator of the organisers' group: with BotFather's default
    privacy mode, only an administrator sees the organisers' typed replies."""
    chat_id = settings.organisers_chat_id
    assert chat_id is not None
    username = me.username or str(me.id)
    subject = "organisers' group"
    try:
        chat = await bot.get_chat(chat_id)
    except ChatMigrated as exc:
        return Finding(
            f"{subject} {chat_id}",
            "Telegram turned this group into a supergroup, which changed its id",
            f"set LIVREDOR_ORGANISERS_CHAT_ID to {exc.new_chat_id}.",
            moved_to=exc.new_chat_id,
        )
    except (BadRequest, Forbidden):
        return Finding(
            f"{subject} {chat_id}",
            "Telegram says the bot is not in this chat (or it does not exist)",
            f"add @{username} to the organisers' group as an administrator, and check that "
            f"LIVREDOR_ORGANISERS_CHAT_ID is that group's id (like -1001234567890).",
        )
    subject = f"{subject} {_group_title(chat, chat_id)}"
    if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return Finding(
            subject,
            f"this chat is {CHAT_KINDS.get(chat.type, chat.type)}, not a group",
            "set LIVREDOR_ORGANISERS_CHAT_ID to the id of the organisers' group "
            "(the channel goes in LIVREDOR_CHANNEL_ID).",
        )
    member = await _member(bot, chat_id, me.id)
    status = member.status if member is not None else ChatMemberStatus.LEFT
    if status == ChatMemberStatus.ADMINISTRATOR:
        return Finding(subject, "the bot is an administrator")
    if status == ChatMemberStatus.MEMBER:
        return Finding(
            subject,
            "the bot is a member but not an administrator",
            f"make @{username} an administrator of the organisers' group (group info, "
            "Administrators, Add administrator), so that it sees the organisers' replies.",
        )
    return Finding(
        subject,
        "the bot is not a member of this group",
        f"add @{username} to the organisers' group and make it an administrator.",
    )


async def check_channel(bot: Bot, settings: Settings, me: User) -> Finding:
    """The bot must be an administrator of the channel with the right to post."""
    channel = settings.channel_id
    assert channel is not None
    username = me.username or str(me.id)
    subject = "channel"
    add = f"add @{username} to the channel as an administrator with 'Post messages'"
    try:
        chat = await bot.get_chat(channel)
    except (BadRequest, Forbidden):
        return Finding(
            f"{subject} {channel}",
            "Telegram says the bot is not in this channel (or it does not exist)",
            f"{add}, and check that LIVREDOR_CHANNEL_ID is the channel's id "
            "(like -1001234567890) or @username.",
        )
    subject = f"{subject} {_group_title(chat, channel)}"
    if chat.type != ChatType.CHANNEL:
        return Finding(
            subject,
            f"this chat is a {chat.type}, not a channel",
            "set LIVREDOR_CHANNEL_ID to the public channel's id or @username "
            "(the organisers' group goes in LIVREDOR_ORGANISERS_CHAT_ID).",
        )
    member = await _member(bot, channel, me.id)
    if isinstance(member, ChatMemberAdministrator):
        if member.can_post_messages:
            # The same getChat the bot makes at start: it decides how post links look.
            links = (
                f"post links: https://t.me/{chat.username}/<n>"
                if chat.username
                else "post links: t.me/c/... (a private channel: they open for members only)"
            )
            return Finding(subject, f"the bot is an administrator and may post; {links}")
        return Finding(
            subject,
            "the bot is an administrator but may not post",
            f"give @{username} the 'Post messages' right (channel info, Administrators, "
            f"@{username}).",
        )
    return Finding(subject, "the bot is not an administrator of this channel", f"{add}.")


def _webhook_findings(settings: Settings) -> list[Finding]:
    """Where updates come from, and the webhook URL Telegram will accept."""
    if not settings.webhook_url:
        return [Finding("updates", "long polling (no LIVREDOR_WEBHOOK_URL)")]
    url = urlsplit(settings.webhook_url)
    local = f"{settings.webhook_listen}:{settings.webhook_port}{url.path or '/'}"
    found = f"webhook {settings.webhook_url}, served on {local}"
    note = None
    if settings.webhook_secret is None:
        note = "no LIVREDOR_WEBHOOK_SECRET: a random one is made at each start"
    # A self-hosted Bot API server (another api_base_url) accepts any URL; Telegram does not.
    official = urlsplit(settings.api_base_url).hostname == OFFICIAL_API_HOST
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
    except ValueError:
        port = -1
    if official and (url.scheme != "https" or port not in WEBHOOK_PORTS):
        return [
            Finding(
                "updates",
                found,
                "set LIVREDOR_WEBHOOK_URL to an https:// address on port 443, 80, 88 or 8443 "
                "(Telegram refuses any other).",
            )
        ]
    return [Finding("updates", found, note=note)]


async def check_telegram(settings: Settings) -> list[Finding]:
    """The token, then the group and the channel (skipped when the token does not work)."""
    async with command_bot(settings.token, settings.api_base_url) as bot:
        return await _ask_telegram(bot, settings)


async def _ask_telegram(bot: Bot, settings: Settings) -> list[Finding]:
    try:
        # Not ``bot.initialize()``: its InvalidToken message quotes the token.
        me = await bot.get_me()
    except InvalidToken:
        return [
            Finding(
                "token",
                "Telegram refused the token",
                "copy the token again from @BotFather (/mybots, your bot, API Token) into "
                "LIVREDOR_BOT_TOKEN.",
            )
        ]
    except NetworkError as exc:
        host = urlsplit(settings.api_base_url).netloc
        return [
            Finding(
                "token",
                f"could not reach the Bot API at {host} ({_redact(str(exc), settings)})",
                "check this machine's internet access (or LIVREDOR_API_BASE_URL if you run "
                "your own Bot API server).",
            )
        ]
    findings = [Finding("bot", f"@{me.username or me.id} (id {me.id}), the token works")]
    for check in (check_group, check_channel):
        try:
            findings.append(await check(bot, settings, me))
        except TelegramError as exc:
            findings.append(
                Finding(
                    check.__name__.removeprefix("check_"),
                    f"Telegram answered: {_redact(str(exc), settings)}",
                    "run `livredor check` again in a minute; if it persists, check the ids.",
                )
            )
    try:
        findings.append(await check_menus(bot, settings))
    except TelegramError as exc:
        # The group's menu cannot be read while the bot is not in the group: said above.
        what = f"could not be read (Telegram answered: {_redact(str(exc), settings)})"
        findings.append(Finding("menus and description", what))
    return findings


async def check_menus(bot: Bot, settings: Settings) -> Finding:
    """Are the "/" menus and the description registered? Not a problem if not: `livredor run`
    registers them at start."""
    subject = "menus and description"
    try:
        texts = Texts.load(settings.texts, settings.default_language)
    except (TextsError, OSError, ValueError) as exc:
        return Finding(subject, f"the texts cannot be loaded ({exc})", "fix LIVREDOR_TEXTS.")
    missing = await menus.differences(bot, texts, settings)
    if not missing:
        return Finding(subject, "set, in English, French and for other languages")
    return Finding(
        subject,
        f"not set or out of date: {', '.join(c.what for c in missing)}",
        note="`livredor run` sets them at start",
    )


def _file_problem(path: Path) -> Finding | None:
    """A problem visible from the file system alone (the database need not exist yet)."""
    subject = f"database {path}"
    folder = path.parent.resolve()
    if not path.exists():
        if not folder.is_dir():
            return Finding(
                subject,
                f"the folder {folder} does not exist",
                f"create the folder {folder}, or set LIVREDOR_DATABASE to a path in an "
                "existing one.",
            )
        if not os.access(folder, os.W_OK | os.X_OK):
            return Finding(
                subject,
                f"the folder {folder} is not writable",
                f"let the user that runs the bot write in {folder} "
                "(or set LIVREDOR_DATABASE to a path where it can).",
            )
        return Finding(subject, "does not exist yet; `livredor run` will create it")
    if path.is_dir():
        return Finding(
            subject,
            "this is a folder",
            "set LIVREDOR_DATABASE to a file path, like /data/livredor.db.",
        )
    # SQLite writes livredor.db-wal and -shm beside the file: the folder must be writable too.
    if not os.access(path, os.W_OK) or not os.access(folder, os.W_OK | os.X_OK):
        return Finding(
            subject,
            "not writable by this user",
            f"let the user that runs the bot write the file {path.name} and its folder "
            f"{folder} (SQLite creates {path.name}-wal beside it).",
        )
    return None


async def check_database(path: Path) -> Finding:
    """The file (or its folder) must be writable, and the schema one this version knows."""
    problem = _file_problem(path)
    if problem is not None:
        return problem
    subject = f"database {path}"
    try:
        db = await Database.open(path, migrate=False)
        try:
            version = await db.schema_version()
            await db.probe_write()
            unreadable = await Inbox(db).unreadable() if version >= UNREADABLE_SINCE else []
        finally:
            await db.close()
    except DatabaseFileError as exc:
        return Finding(
            subject,
            str(exc),
            "set LIVREDOR_DATABASE to the bot's database, or restore it from a backup.",
        )
    except sqlite3.Error as exc:
        if sqlite_code(exc) in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN):
            return Finding(
                subject,
                f"not writable ({exc})",
                f"let the user that runs the bot write the file {path.name} and its folder "
                f"{path.parent.resolve()} (SQLite creates {path.name}-wal beside it).",
            )
        return Finding(
            subject,
            f"SQLite cannot use it ({exc})",
            "set LIVREDOR_DATABASE to the bot's database, or restore it from a backup.",
        )
    if version > SCHEMA_VERSION:
        return Finding(
            subject,
            f"schema {version}, newer than this livredor knows ({SCHEMA_VERSION})",
            "install the livredor version that wrote this database, or restore a backup "
            "made with this one.",
        )
    if version < SCHEMA_VERSION:
        return Finding(
            subject,
            f"writable, schema {version}",
            note=f"`livredor run` will upgrade it to schema {SCHEMA_VERSION}; "
            "take a `livredor backup` first",
        )
    return Finding(
        subject, f"writable, schema {version} (current)", note=_unreadable_note(unreadable)
    )


def _unreadable_note(unreadable: list[tuple[int, str]]) -> str | None:
    """Say which updates the bot could not read and stepped over (kept two days)."""
    if not unreadable:
        return None
    ids = ", ".join(str(update_id) for update_id, _ in unreadable[:5])
    more = f" and {len(unreadable) - 5} more" if len(unreadable) > 5 else ""
    one = len(unreadable) == 1
    count, were = ("1 update", "was") if one else (f"{len(unreadable)} updates", "were")
    return (
        f"{count} from Telegram could not be read and {were} stepped over (ids {ids}{more}; "
        f"first: {unreadable[0][1]}): is the Bot API server newer than this livredor? "
        "Update livredor; the updates stay in the inbox for two days"
    )


def _print(findings: list[Finding]) -> None:
    for f in findings:
        mark = "ok  " if f.ok else "FAIL"
        print(f"{mark}  {f.subject}: {f.found}")
        if f.note:
            print(f"      note: {f.note}")
        if f.fix:
            print(f"      to fix: {f.fix[0].upper()}{f.fix[1:]}")


def check_sessions(settings: Settings) -> Finding:
    """The sessions file (LIVREDOR_SESSIONS) must load: `livredor run` refuses it otherwise."""
    try:
        sessions = Sessions.load(settings.sessions)
    except SessionsError as exc:
        return Finding(
            "sessions", str(exc), "correct the file (see *Sessions* in docs/organisers.md)."
        )
    slugs = ", ".join(s.slug for s in sessions.items) or "none"
    return Finding("sessions", f"{len(sessions)} ({slugs})")


async def run_check(settings: Settings) -> int:
    """Check the token, the group, the channel, the menus, the updates setting, the sessions
    file and the database;
    print one line each; return 0 when everything is ready, 1 otherwise."""
    findings = await check_telegram(settings)
    findings += _webhook_findings(settings)
    if settings.sessions is not None:
        findings.append(check_sessions(settings))
    findings.append(await check_database(settings.database))
    _print(findings)
    problems = sum(not f.ok for f in findings)
    print()
    if problems:
        plural = "problem" if problems == 1 else "problems"
        print(
            f"{problems} {plural}: fix {'it' if problems == 1 else 'them'}, then run "
            "`livredor check` again."
        )
        return 1
    print("Everything is ready: start the bot with `livredor run`.")
    return 0
