"""``livredor setup``: the token, the organisers' group and the channel, found through
Telegram itself; the event; a ``.env`` written safely; then ``livredor check``.

Telegram tells a bot when it is added to a chat or its rights there change (a
``my_chat_member`` update), so the organiser adds the bot where it belongs and setup reads
the chat's id from the update: nobody has to find an id by hand.

Updates and the bot: setup long-polls with ``allowed_updates`` ``my_chat_member`` and
``message``, and confirms (the ``offset`` of getUpdates, which confirms every update below
it) only the updates at the head of the queue that it used: ``my_chat_member`` and a group's
service messages (members joined or left, the group became a supergroup). The first other
update (an attendee who already wrote to the bot, an organiser's message in the group) stops
the confirmation there: `livredor run` receives it, and everything after it, when it starts.
Setup's last call asks Telegram again for the update types `livredor run` uses
(``bot.app.ALLOWED_UPDATES``), so that none is dropped between setup and the first run.

The sentences are the command line's, in English, like ``livredor check``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import getpass
import os
import signal
import sys
import time
import typing
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from telegram import Bot, Update, User
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError

from bot.app import ALLOWED_UPDATES
from bot.cli import envfile
from bot.cli.check import Finding, check_channel, check_group, run_check
from bot.services.telegram_http import AiohttpRequest, command_request
from config.settings import ENV_PREFIX, Settings, SettingsError, is_token_shaped, load_settings

T = TypeVar("T")

EXIT_OK, EXIT_PROBLEM, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 130
#: What setup asks Telegram for: the bot added, promoted or removed, and the groups'
#: service messages (a group that became a supergroup has a new id).
SETUP_UPDATES = [Update.MY_CHAT_MEMBER, Update.MESSAGE]
POLL_SECONDS = 10
#: Only updates kept for the bot are waiting: Telegram answers at once, so setup pauses
#: between two asks rather than spinning.
KEPT_PAUSE = 0.5
NETWORK_PAUSE = 3.0
ENV_FILE = Path(str(Settings.model_config.get("env_file") or ".env"))
TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "env.example"
LANGUAGES: tuple[str, ...] = typing.get_args(Settings.model_fields["default_language"].annotation)

GROUP_KINDS = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})
GONE = frozenset({ChatMemberStatus.LEFT, ChatMemberStatus.BANNED})


class SetupStop(Exception):
    """Setup cannot go on; the message is the sentence to print (and the way forward)."""


# --- what Telegram tells the bot ------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """The bot was added to a chat, promoted, demoted or removed there."""

    chat_id: int
    title: str
    kind: str
    status: str
    by: str

    @property
    def gone(self) -> bool:
        return self.status in GONE


@dataclass(frozen=True)
class Migrated:
    """A group became a supergroup, which has a new id."""

    old_id: int
    new_id: int


@dataclass(frozen=True)
class PrivateChat:
    """Someone opened a private chat with the bot (not a group)."""

    name: str


Event = Seen | Migrated | PrivateChat


def _name(user: User | None) -> str:
    return user.full_name if user is not None else ""


def read_update(update: Update) -> tuple[Event | None, bool]:
    """What an update tells setup, and whether setup used it (and so may confirm it)."""
    if update.my_chat_member is not None:
        change = update.my_chat_member
        chat = change.chat
        if chat.type == ChatType.PRIVATE:
            # A private chat's my_chat_member is the user blocking or restarting the bot:
            # the bot's business, not setup's.
            return PrivateChat(_name(change.from_user)), False
        title = chat.title or str(chat.id)
        status = change.new_chat_member.status
        return Seen(chat.id, title, chat.type, status, _name(change.from_user)), True
    message = update.message
    if message is None:
        return None, False
    if message.chat.type == ChatType.PRIVATE:
        return PrivateChat(_name(message.from_user)), False
    if message.migrate_to_chat_id is not None:
        return Migrated(message.chat.id, message.migrate_to_chat_id), True
    service = (
        message.new_chat_members
        or message.left_chat_member is not None
        or message.migrate_from_chat_id is not None
        or message.group_chat_created
        or message.supergroup_chat_created
        or message.channel_chat_created
    )
    return None, bool(service)


class Listener:
    """Long polling for setup: confirms only the updates setup used (see the module)."""

    def __init__(self, bot: Bot, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.bot = bot
        self.sleep = sleep  # what the pause between two asks waits on (a test's clock)
        self.offset: int | None = None
        self.seen: set[int] = set()

    async def poll(self, timeout: int = POLL_SECONDS) -> list[Event]:
        """The events of the updates not seen before (waits up to ``timeout`` seconds)."""
        updates = await self.bot.get_updates(
            offset=self.offset, timeout=timeout, allowed_updates=SETUP_UPDATES
        )
        events: list[Event] = []
        confirming = True
        fresh = False
        for update in updates:
            event, used = read_update(update)
            if confirming and used:
                self.offset = update.update_id + 1
            else:
                confirming = False
            if update.update_id in self.seen:
                continue
            self.seen.add(update.update_id)
            fresh = True
            if event is not None:
                events.append(event)
        if updates and not fresh:
            await self.sleep(KEPT_PAUSE)
        return events

    async def close(self) -> None:
        """Confirm what setup used, and ask again for the update types the bot uses."""
        await self.bot.get_updates(
            offset=self.offset, limit=1, timeout=0, allowed_updates=ALLOWED_UPDATES
        )


# --- the two chats ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    """The organisers' group or the channel: what it is, how to add the bot, its check."""

    name: str
    kind_name: str
    kinds: frozenset[str]
    variable: str
    add: str
    how: str
    check: Callable[[Bot, Settings, User], Awaitable[Finding]]

    def settings(self, settings: Settings, chat_id: int) -> Settings:
        field_name = self.variable.removeprefix(ENV_PREFIX).lower()
        return settings.model_copy(update={field_name: chat_id})


GROUP = Role(
    "organisers' group",
    "group",
    GROUP_KINDS,
    f"{ENV_PREFIX}ORGANISERS_CHAT_ID",
    "Add @{bot} to your organisers' group and make it an administrator.",
    "(In Telegram: open the group, tap its name, Add members, search @{bot}; then Edit, "
    "Administrators, Add Administrator, @{bot}.)",
    check_group,
)
CHANNEL = Role(
    "channel",
    "channel",
    frozenset({ChatType.CHANNEL}),
    f"{ENV_PREFIX}CHANNEL_ID",
    "Add @{bot} to your channel as an administrator with the right to post.",
    "(In Telegram: open the channel, tap its name, Administrators, Add Admin, search @{bot}, "
    "keep 'Post messages' on.)",
    check_channel,
)


@dataclass
class Chosen:
    """A chat the organiser confirmed, once its rights are right."""

    chat_id: int
    title: str
    kind: str


# --- the terminal -----------------------------------------------------------------------------


def say(text: str = "") -> None:
    print(text, flush=True)


def ask(prompt: str) -> str:
    """One answer from the terminal."""
    try:
        return input(prompt).strip()
    except EOFError:
        raise SetupStop(NO_TERMINAL) from None


def yes(prompt: str) -> bool:
    """A yes/no question; Enter means yes."""
    while True:
        answer = ask(f"{prompt} [Y/n] ").lower()
        if answer in ("", "y", "yes", "o", "oui"):
            return True
        if answer in ("n", "no", "non"):
            return False
        say("Please answer y (yes) or n (no).")


NO_TERMINAL = (
    "setup asks questions and there is no terminal to answer them in: run "
    "`livredor setup --non-interactive` instead (it prints the settings it finds)."
)
CONFLICT = (
    "Another program is receiving this bot's updates (a running `livredor run`, or a "
    "webhook): stop it, then run setup again."
)
REVOKED = "Telegram no longer accepts this token (revoked?): run setup again with the new one."
PRIVATE = (
    "  {name} opened a private chat with @{bot}: that is not a group. Add @{bot} to the "
    "group itself (open the group, tap its name, Add members)."
)
ALREADY = (
    "  Already there? Telegram only tells the bot about changes: remove @{bot} and add it again."
)


def _commands() -> tuple[str, str]:
    """How to start the bot from here, and the command's prefix: ``bash deploy/run.sh`` in a
    clone (what the README says), else the installed ``livredor``."""
    if Path("deploy/run.sh").is_file():
        return "bash deploy/run.sh", "bash deploy/run.sh"
    return "livredor run", "livredor"


# --- the interactive setup --------------------------------------------------------------------


@dataclass
class Dialogue:
    """One ``livredor setup`` in a terminal: each step asks, then calls Telegram."""

    settings: Settings
    runner: asyncio.Runner
    env_path: Path = ENV_FILE
    bot: Bot | None = None
    me: User | None = None
    token: str = ""
    typed_token: bool = False
    listener: Listener | None = None
    # Events to look at before asking Telegram again; events kept for the next step.
    waiting: list[Event] = field(default_factory=list)
    later: list[Event] = field(default_factory=list)
    group_id: int | None = None
    written: bool = False
    requests: list[AiohttpRequest] = field(default_factory=list)

    def telegram(self, call: Callable[[], Awaitable[T]]) -> T:
        """Call Telegram; a network hiccup is said once and waited out."""
        warned = False
        while True:
            try:
                return self.runner.run(_awaited(call))
            except Conflict:
                raise SetupStop(CONFLICT) from None
            except InvalidToken:
                raise SetupStop(REVOKED) from None
            except NetworkError:
                if not warned:
                    say(
                        f"  Lost the connection to Telegram ({self._host()}): trying again "
                        "(check this machine's internet access)."
                    )
                    warned = True
                time.sleep(NETWORK_PAUSE)

    def _host(self) -> str:
        return urlsplit(self.settings.api_base_url).netloc

    def _connect(self, token: str) -> Bot:
        request = command_request()
        polling = command_request(1)
        self.requests += [request, polling]
        return Bot(
            token,
            base_url=self.settings.api_base_url,
            request=request,
            get_updates_request=polling,
        )

    def close(self) -> None:
        """Give the bot its update types back; close the connections (errors ignored: this
        runs after a Ctrl-C too)."""
        if self.listener is not None:
            with contextlib.suppress(TelegramError, TimeoutError):
                self.runner.run(asyncio.wait_for(self.listener.close(), 5))
        for request in self.requests:
            self.runner.run(request.shutdown())

    # Step 1: the token.
    def ask_token(self) -> None:
        say("Step 1 of 5: the bot's token")
        from_environment = bool(os.environ.get(f"{ENV_PREFIX}BOT_TOKEN"))
        known = self.settings.bot_token.get_secret_value() if self.settings.bot_token else ""
        if from_environment:
            say(f"Using the token in {ENV_PREFIX}BOT_TOKEN.")
        while True:
            token = known if from_environment else self._typed_token(known)
            if token is None:
                continue
            bot = self._connect(token)
            me = self._who(bot)
            if me is not None:
                break
            if from_environment:
                raise SetupStop(
                    f"Telegram refused the token in {ENV_PREFIX}BOT_TOKEN: copy it again "
                    "from @BotFather (/mybots, your bot, API Token), then run setup again."
                )
            say(
                "Telegram refused this token: copy it again from @BotFather (/mybots, "
                "your bot, API Token) and paste it here."
            )
            known = ""
        self.bot, self.me, self.token = bot, me, token
        self.listener = Listener(bot)
        say(f"ok: the token works; this is @{me.username} ({me.full_name}).")

    def _typed_token(self, known: str) -> str | None:
        """The token typed (hidden), or the one already set on Enter; None if malformed."""
        keep = " (or press Enter to keep the one already set)" if known else ""
        say(f"Paste the token @BotFather gave you{keep}; it stays hidden as you type.")
        try:
            typed = getpass.getpass("Token: ").strip()
        except EOFError:
            raise SetupStop(NO_TERMINAL) from None
        if not (typed or known):
            return None
        if typed and not is_token_shaped(typed):
            say(
                "That is not a token: a token looks like 123456789:AAE-your-token "
                "(in BotFather's message, under 'Use this token to access the HTTP API')."
            )
            return None
        self.typed_token = bool(typed)
        return typed or known

    def _who(self, bot: Bot) -> User | None:
        """The bot, from getMe; None if Telegram refuses the token. Without a network, ask
        to try again."""
        while True:
            try:
                # Not ``bot.initialize()``: its InvalidToken message quotes the token.
                return self.runner.run(bot.get_me())
            except InvalidToken:
                return None
            except NetworkError:
                ask(
                    f"Could not reach Telegram ({self._host()}): check this machine's internet "
                    "access, then press Enter to try again (Ctrl-C stops)."
                )

    # Steps 2 and 3: the group, then the channel.
    def find(self, role: Role, step: int, current: int | str | None) -> Chosen:
        _, me = self._ready()
        say()
        say(f"Step {step} of 5: the {role.name}")
        if current is not None:
            kept = self._keep(role, current)
            if kept is not None:
                return kept
        say(role.add.format(bot=me.username))
        say(role.how.format(bot=me.username))
        say(ALREADY.format(bot=me.username))
        # Asked at once, so that Telegram sends my_chat_member from now on (`livredor run`
        # does not ask for it: after a run, Telegram creates none until someone asks).
        self.waiting += self._poll(0)
        say("Waiting for Telegram to tell the bot... (Ctrl-C stops; nothing is written yet)")
        while True:
            events, self.waiting = self.waiting, []
            if not events:
                events = self._poll()
            for event in events:
                chosen = self._consider(role, event)
                if chosen is not None:
                    return self._rights(role, chosen)

    def _ready(self) -> tuple[Bot, User]:
        assert self.bot is not None and self.me is not None
        return self.bot, self.me

    def _poll(self, timeout: int = POLL_SECONDS) -> list[Event]:
        listener = self.listener
        assert listener is not None
        return self.telegram(functools.partial(listener.poll, timeout))

    def _keep(self, role: Role, current: int | str) -> Chosen | None:
        """The chat already in the settings, if it is of the right kind and still wanted."""
        bot, _ = self._ready()
        try:
            chat = self.telegram(lambda: bot.get_chat(current))
        except TelegramError:
            return None
        title = chat.title or str(chat.id)
        if chat.type not in role.kinds:
            say(
                f'  {role.variable} is set to "{title}" ({chat.id}), which is a {chat.type}, '
                f"not a {role.kind_name}: setup finds the right one with you."
            )
            return None
        if not yes(f'Keep the {role.name} "{title}" ({chat.id}), already set?'):
            return None
        return self._rights(role, Chosen(chat.id, title, chat.type))

    def _consider(self, role: Role, event: Event) -> Chosen | None:
        """Say what Telegram told; for a chat of the right kind, ask if it is the one."""
        _, me = self._ready()
        if isinstance(event, PrivateChat):
            say(PRIVATE.format(name=event.name or "Someone", bot=me.username))
            return None
        if isinstance(event, Migrated):
            if event.old_id == self.group_id:
                # Telegram turned the organisers' group into a supergroup: a new id.
                self.group_id = event.new_id
                say(f"  The organisers' group became a supergroup; its id is now {event.new_id}.")
            return None
        if event.gone:
            say(f'  @{me.username} was removed from "{event.title}".')
            return None
        if event.kind not in role.kinds:
            if role is GROUP and event.kind == ChatType.CHANNEL:
                say(
                    f'  "{event.title}" is a channel, not a group: the organisers\' group is '
                    "where organisers talk together. Keep the channel for the next step, and "
                    f"add @{me.username} to the group."
                )
                self.later.append(event)
            elif role is CHANNEL and event.chat_id != self.group_id:
                say(
                    f'  "{event.title}" is a {event.kind}, not a channel: add @{me.username} '
                    "to the channel where the testimonials will be published."
                )
            return None
        if role is CHANNEL and event.chat_id == self.group_id:
            return None
        done = "made an administrator in" if event.status == "administrator" else "added to"
        by = f" by {event.by}" if event.by else ""
        say(f'  @{me.username} was {done} "{event.title}" ({event.kind}){by}.')
        if yes(f'  Is "{event.title}" your {role.name}?'):
            return Chosen(event.chat_id, event.title, event.kind)
        say("  Not that one: waiting for another.")
        return None

    def _rights(self, role: Role, chosen: Chosen) -> Chosen:
        """Check the bot's rights there as `livredor check` does; wait until they are right."""
        bot, me = self._ready()
        said = ""
        while True:
            settings = role.settings(self.settings, chosen.chat_id)
            finding = self.telegram(functools.partial(role.check, bot, settings, me))
            if finding.moved_to is not None:
                chosen.chat_id = finding.moved_to
                continue
            if finding.ok:
                say(f'ok: the {role.name} is "{chosen.title}" ({chosen.chat_id}): {finding.found}.')
                return chosen
            assert finding.fix is not None
            sentence = f"  Not yet: {finding.found}. {finding.fix[0].upper()}{finding.fix[1:]}"
            if sentence != said:
                say(sentence)
                say("  Waiting until it is done...")
                said = sentence
            for event in self._poll():
                if isinstance(event, Migrated) and event.old_id == chosen.chat_id:
                    chosen.chat_id = event.new_id
                elif isinstance(event, PrivateChat):
                    say(PRIVATE.format(name=event.name or "Someone", bot=me.username))
                elif isinstance(event, Seen) and event.chat_id != chosen.chat_id:
                    self.later.append(event)

    # Step 4: the event.
    def ask_event(self) -> tuple[str, str]:
        say()
        say("Step 4 of 5: the event")
        current = self.settings.event_name
        shown = f" [{current}]" if current else ""
        while True:
            name = ask(f"The event's name, as attendees and the livre d'or show it{shown}: ")
            name = name or current
            if name:
                break
            say("Please type the event's name (you can change it later in .env).")
        default = self.settings.default_language
        while True:
            language = ask(
                f"The language of the organisers' cards and the channel, "
                f"{' or '.join(LANGUAGES)} [{default}]: "
            ).lower()
            language = language or default
            if language in LANGUAGES:
                return name, language
            say(f"Please type {' or '.join(LANGUAGES)}.")

    # Step 5: the file.
    def write(self, values: dict[str, str]) -> bool:
        """Write ``.env`` (shown as a diff first when it exists); False if the organiser
        declines."""
        say()
        say(f"Step 5 of 5: the settings file {self.env_path}")
        path = self.env_path
        old = path.read_text(encoding="utf-8") if path.exists() else None
        template = TEMPLATE.read_text(encoding="utf-8") if TEMPLATE.is_file() else None
        new = envfile.merge(old, values, template)
        if old is not None:
            if new == old:
                say(f"{path} already holds these settings: nothing to change.")
                self._private(path)
                return True
            say(f"{path} exists; setup keeps every line of it and changes only these:")
            say(envfile.diff(old, new, str(path), self.token).rstrip("\n"))
            if not yes(f"Write these changes to {path}?"):
                self._by_hand(f"Nothing written. The settings, to put in {path} yourself:", values)
                return False
        try:
            envfile.write_private(path, new)
        except OSError as exc:
            self._by_hand(
                f"Could not write {path} ({exc.strerror}): put these settings in it yourself "
                "(the token is the one you pasted):",
                values,
            )
            return False
        self.written = True
        say(f"Wrote {path} (only you can read it: it holds the token).")
        return True

    def _by_hand(self, sentence: str, values: dict[str, str]) -> None:
        say(sentence)
        for name, value in values.items():
            say(envfile.masked(f"{name}={envfile.quote(value)}", self.token))

    def _private(self, path: Path) -> None:
        if path.stat().st_mode & 0o777 != envfile.PRIVATE_MODE:
            path.chmod(envfile.PRIVATE_MODE)
            say(f"Made {path} readable by you only (it holds the token).")

    def finish(self) -> int:
        """``livredor check`` on what was written, then how to start."""
        _, me = self._ready()
        say()
        say("Checking everything, as `livredor check` does:")
        try:
            settings = load_settings()
        except SettingsError as exc:
            for line in exc.lines:
                say(line)
            return EXIT_CONFIG
        code = self.runner.run(run_check(settings))
        start, prefix = _commands()
        say()
        say(f"Start the bot:     {start}")
        say(f"Print the poster:  {prefix} poster -o poster.pdf")
        say(f"Then try it:       open https://t.me/{me.username} and send /start")
        return code


def _ignore_ctrl_c() -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


async def _awaited(call: Callable[[], Awaitable[T]]) -> T:
    return await call()


def interactive(settings: Settings) -> int:
    """The whole dialogue; the exit code."""
    if not sys.stdin.isatty():
        print(NO_TERMINAL, file=sys.stderr)
        return EXIT_CONFIG
    cli = _commands()[1]
    with asyncio.Runner() as runner:
        # Between two calls the main thread waits in input(): a Ctrl-C the kernel handed to
        # one of the loop's worker threads (name resolution) would not wake it, so those
        # threads do not take SIGINT.
        runner.get_loop().set_default_executor(ThreadPoolExecutor(initializer=_ignore_ctrl_c))
        dialogue = Dialogue(settings, runner)
        try:
            say(
                "livredor setup: the bot's token, your organisers' group and your channel, "
                "then the settings file."
            )
            say(
                "Have Telegram open beside this window. Ctrl-C stops at any moment; nothing "
                "is written before step 5."
            )
            say()
            dialogue.ask_token()
            group = dialogue.find(GROUP, 2, settings.organisers_chat_id)
            dialogue.group_id = group.chat_id
            dialogue.waiting = dialogue.later
            dialogue.later = []
            channel = dialogue.find(CHANNEL, 3, settings.channel_id)
            event, language = dialogue.ask_event()
            values = {
                GROUP.variable: str(dialogue.group_id),
                CHANNEL.variable: str(channel.chat_id),
                f"{ENV_PREFIX}EVENT_NAME": event,
                f"{ENV_PREFIX}DEFAULT_LANGUAGE": language,
            }
            if dialogue.typed_token:
                values = {f"{ENV_PREFIX}BOT_TOKEN": dialogue.token, **values}
            if not dialogue.write(values):
                return EXIT_PROBLEM
            dialogue.close()
            dialogue.listener = None
            return dialogue.finish()
        except KeyboardInterrupt:
            say()
            if dialogue.written:
                say(
                    f"Stopped (Ctrl-C) after .env was written: run `{cli} check` to see "
                    "where things stand."
                )
            else:
                say(
                    "Stopped (Ctrl-C): nothing was written, .env is as it was. Run "
                    f"`{cli} setup` again to start over."
                )
            return EXIT_INTERRUPTED
        except SetupStop as exc:
            say(str(exc))
            return EXIT_PROBLEM
        finally:
            dialogue.close()


# --- without a terminal -----------------------------------------------------------------------


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def non_interactive(settings: Settings, wait: float) -> int:
    """Find the group and the channel from Telegram's updates (and the settings already
    set); print them as LIVREDOR_...= lines on stdout; explain on stderr."""
    if settings.bot_token is None:
        _err(f"{ENV_PREFIX}BOT_TOKEN is not set: set it to the token @BotFather gave you.")
        return EXIT_CONFIG
    request = command_request()
    polling = command_request(1)
    bot = Bot(
        settings.token,
        base_url=settings.api_base_url,
        request=request,
        get_updates_request=polling,
    )
    listener = Listener(bot)
    try:
        return await _find_quietly(bot, listener, settings, wait)
    except Conflict:
        _err(CONFLICT)
        return EXIT_PROBLEM
    finally:
        with contextlib.suppress(TelegramError, TimeoutError):
            await asyncio.wait_for(listener.close(), 5)
        await request.shutdown()
        await polling.shutdown()


async def _find_quietly(bot: Bot, listener: Listener, settings: Settings, wait: float) -> int:
    try:
        me = await bot.get_me()
    except InvalidToken:
        _err(
            f"Telegram refused {ENV_PREFIX}BOT_TOKEN: copy the token again from @BotFather "
            "(/mybots, your bot, API Token)."
        )
        return EXIT_PROBLEM
    except NetworkError:
        host = urlsplit(settings.api_base_url).netloc
        _err(f"Could not reach Telegram ({host}): check this machine's internet access.")
        return EXIT_PROBLEM
    found: dict[str, tuple[Role, Seen]] = {}

    async def consider(role: Role, chat_id: int, title: str, kind: str) -> None:
        finding = await role.check(bot, role.settings(settings, chat_id), me)
        if finding.moved_to is not None:
            chat_id = finding.moved_to
            finding = await role.check(bot, role.settings(settings, chat_id), me)
        if finding.ok:
            found[role.variable] = (role, Seen(chat_id, title, kind, "administrator", ""))
        elif finding.fix:
            _err(f'"{title}": {finding.found}. {finding.fix[0].upper()}{finding.fix[1:]}')

    for role, current in ((GROUP, settings.organisers_chat_id), (CHANNEL, settings.channel_id)):
        if current is not None:
            try:
                chat = await bot.get_chat(current)
            except TelegramError:
                continue
            if chat.type in role.kinds:
                await consider(role, chat.id, chat.title or str(chat.id), chat.type)
    if len(found) < 2:
        _err(
            f"Waiting up to {wait:g} s for @{me.username} to be made an administrator of the "
            "organisers' group, and of the channel with the right to post."
        )
    deadline = time.monotonic() + wait
    while len(found) < 2 and (left := deadline - time.monotonic()) > 0:
        try:
            events = await listener.poll(timeout=max(0, min(POLL_SECONDS, int(left))))
        except NetworkError:
            await asyncio.sleep(min(NETWORK_PAUSE, max(left, 0)))
            continue
        # In order: a later change to the same kind of chat wins.
        for event in events:
            if not isinstance(event, Seen) or event.gone:
                continue
            for role in (GROUP, CHANNEL):
                if event.kind in role.kinds:
                    await consider(role, event.chat_id, event.title, event.kind)
    for role, seen in found.values():
        print(f'# The {role.name}: "{seen.title}" ({seen.kind})')
        print(f"{role.variable}={seen.chat_id}", flush=True)
    missing = [r.name for r in (GROUP, CHANNEL) if r.variable not in found]
    if missing:
        _err(
            f"Not found: the {' and the '.join(missing)}. Add @{me.username} there as an "
            "administrator, then run `livredor setup --non-interactive` again."
        )
        return EXIT_PROBLEM
    return EXIT_OK


def run_setup(settings: Settings, *, non_interactive_mode: bool, wait: float) -> int:
    """``livredor setup``: the dialogue in a terminal, or the settings found, printed."""
    if non_interactive_mode:
        try:
            return asyncio.run(non_interactive(settings, wait))
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
    return interactive(settings)


__all__ = ["SETUP_UPDATES", "Listener", "read_update", "run_setup"]
