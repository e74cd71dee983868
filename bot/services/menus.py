"""The bot's "/" menus and its description, as Telegram shows them before and around a chat.

What the bot wants is computed from ``bot/texts/`` and the settings (``wanted``); ``sync``
reads what Telegram has (``getMyCommands``, ``getMyDescription``, ``getMyShortDescription``)
and sets only what differs, so a restart with nothing changed sets nothing. ``livredor check``
uses ``differences`` to say what is not set yet.

Each item is set three times: in English, in French (``language_code``), and without a
language for everyone else, in the bot's default language.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)
from telegram.constants import BotDescriptionLimit
from telegram.error import TelegramError

from bot.services.texts import LANGUAGES, Texts
from config.settings import Settings
from storage.testimonials import Repository

log = logging.getLogger(__name__)

#: The private chat's commands, in menu order.
PRIVATE_COMMANDS = ("start", "help", "mine", "language", "forget", "cancel")
#: The organisers' group's commands (they work only there).
ORGANISER_COMMANDS = ("review", "pending", "stats", "export", "ban", "unban")
#: An organiser's private chat: /review first, then everyone's (an organiser may write too).
ORGANISER_PRIVATE_COMMANDS = ("review", *PRIVATE_COMMANDS)
DESCRIPTION_MAX = BotDescriptionLimit.MAX_DESCRIPTION_LENGTH
SHORT_DESCRIPTION_MAX = BotDescriptionLimit.MAX_SHORT_DESCRIPTION_LENGTH


@dataclass(frozen=True)
class Menus:
    """Everything the bot registers for one language_code ("" = any other language)."""

    language_code: str
    private: tuple[tuple[str, str], ...]
    organisers: tuple[tuple[str, str], ...]
    description: str
    short_description: str


def _plain(texts: Texts, lang: str, key: str, limit: int, event: str) -> str:
    """A plain-text sentence (Telegram shows these as typed: no HTML escaping), with the
    event's name when there is one, cut to Telegram's limit."""
    if event:
        text = texts.raw(lang, f"{key}_event").format(event=event)
        if len(text) <= limit:
            return text
    text = texts.raw(lang, key)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wanted(texts: Texts, settings: Settings) -> list[Menus]:
    """Return what the bot registers, per language_code."""
    found = []
    for code in (*LANGUAGES, ""):
        lang = code or settings.default_language

        def commands(names: tuple[str, ...], lang: str = lang) -> tuple[tuple[str, str], ...]:
            return tuple((name, texts.raw(lang, f"menu.{name}")) for name in names)

        found.append(
            Menus(
                language_code=code,
                private=commands(PRIVATE_COMMANDS),
                organisers=commands(ORGANISER_COMMANDS),
                description=_plain(
                    texts, lang, "menu.description", DESCRIPTION_MAX, settings.event_name
                ),
                short_description=_plain(
                    texts,
                    lang,
                    "menu.short_description",
                    SHORT_DESCRIPTION_MAX,
                    settings.event_name,
                ),
            )
        )
    return found


Commands = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Change:
    """One thing Telegram has differently from what the bot wants."""

    what: str
    kind: str  # "commands", "description" or "short_description"
    language_code: str | None
    text: str = ""
    commands: Commands = ()
    scope: BotCommandScope | None = None

    async def apply(self, bot: Bot) -> None:
        """Set it on Telegram."""
        if self.kind == "commands":
            await bot.set_my_commands(
                [BotCommand(c, d) for c, d in self.commands],
                scope=self.scope,
                language_code=self.language_code,
            )
        elif self.kind == "description":
            await bot.set_my_description(self.text, language_code=self.language_code)
        else:
            await bot.set_my_short_description(self.text, language_code=self.language_code)


async def differences(bot: Bot, texts: Texts, settings: Settings) -> list[Change]:
    """Read what Telegram has; return what differs from what the bot wants."""
    assert settings.organisers_chat_id is not None
    changes: list[Change] = []
    for menus in wanted(texts, settings):
        code = menus.language_code or None
        label = menus.language_code or "other languages"
        scopes: list[tuple[str, BotCommandScope, Commands]] = [
            ("private chats", BotCommandScopeAllPrivateChats(), menus.private),
            (
                "organisers' group",
                BotCommandScopeChat(settings.organisers_chat_id),
                menus.organisers,
            ),
        ]
        for name, scope, commands in scopes:
            have = await bot.get_my_commands(scope=scope, language_code=code)
            if tuple((c.command, c.description) for c in have) != commands:
                what = f"commands of the {name} ({label})"
                changes.append(Change(what, "commands", code, commands=commands, scope=scope))
        description = (await bot.get_my_description(language_code=code)).description
        if description != menus.description:
            changes.append(Change(f"description ({label})", "description", code, menus.description))
        short = (await bot.get_my_short_description(language_code=code)).short_description
        if short != menus.short_description:
            changes.append(
                Change(
                    f"short description ({label})",
                    "short_description",
                    code,
                    menus.short_description,
                )
            )
    return changes


async def sync(bot: Bot, texts: Texts, settings: Settings) -> list[Change]:
    """Set on Telegram every menu and description that differs; return what was set.

    A failure is logged, not raised: the bot works without its menus.
    """
    try:
        changes = await differences(bot, texts, settings)
        for change in changes:
            await change.apply(bot)
    except TelegramError as exc:
        log.warning("could not register the bot's menus and description: %s", exc)
        return []
    if changes:
        log.info("registered with Telegram: %s", "; ".join(c.what for c in changes))
    return changes


# -- an organiser's private chat ------------------------------------------------------------------


def _chat_menu_key(user_id: int) -> str:
    return f"menu.chat.{user_id}"


async def give_organiser_menu(
    bot: Bot, repo: Repository, texts: Texts, user_id: int, lang: str
) -> bool:
    """Give an organiser's private chat its own "/" menu, with /review first (Telegram's
    per-chat scope), in their language. What was set is remembered (``bot_state``): it is
    set again only when it changes (their language, the texts). Return whether it was set."""
    commands = [(name, texts.raw(lang, f"menu.{name}")) for name in ORGANISER_PRIVATE_COMMANDS]
    remembered = json.dumps(commands, ensure_ascii=False)
    if await repo.get_state(_chat_menu_key(user_id)) == remembered:
        return False
    try:
        await bot.set_my_commands(
            [BotCommand(c, d) for c, d in commands], scope=BotCommandScopeChat(user_id)
        )
    except TelegramError as exc:
        log.warning("could not set the menu of organiser %d's chat: %s", user_id, exc)
        return False
    await repo.set_state(_chat_menu_key(user_id), remembered)
    return True


async def drop_organiser_menu(bot: Bot, repo: Repository, user_id: int) -> bool:
    """Give a former organiser's private chat the attendees' menu back (their own is
    deleted). Return whether they had one."""
    if await repo.get_state(_chat_menu_key(user_id)) is None:
        return False
    try:
        await bot.delete_my_commands(scope=BotCommandScopeChat(user_id))
    except TelegramError as exc:
        log.warning("could not reset the menu of %d's chat: %s", user_id, exc)
        return False
    await repo.set_state(_chat_menu_key(user_id), None)
    return True
