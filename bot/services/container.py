"""What every handler needs, built once by ``build_application`` and kept in ``bot_data``,
typed through PTB's ``ContextTypes``: a handler reads ``context.bot_data.services``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.services.backlog import Backlog
from bot.services.bulk_worker import BulkDesk
from bot.services.cards import CardDesk
from bot.services.clock import Clock
from bot.services.floodguard import FloodGuard
from bot.services.group import OrganisersGroup
from bot.services.inbox import DurableUpdateQueue, InboxUpdateProcessor
from bot.services.publishing import Publisher
from bot.services.sessions import Sessions
from bot.services.texts import Texts
from config.settings import Settings
from storage.testimonials import Repository


@dataclass
class Services:
    """Settings, storage and the long-lived workers; built whole by ``build_application``,
    in dependency order."""

    settings: Settings
    repo: Repository
    texts: Texts
    sessions: Sessions
    group: OrganisersGroup  # the one writer into the organisers' group
    desk: CardDesk
    publisher: Publisher
    backlog: Backlog  # the group's summary and reminders at event scale
    bulk: BulkDesk  # /review's "Approve all": the lists waiting for their undo window
    update_queue: DurableUpdateQueue
    processor: InboxUpdateProcessor
    flood: FloodGuard = field(default_factory=FloodGuard)
    clock: Clock = field(default_factory=Clock)  # what the flood guard waits on
    bot_username: str = ""  # learnt from Telegram at start (start_workers)
    reasking: asyncio.Task[int] | None = None  # re-asking open questions, once started


class BotData:
    """The application's ``bot_data``. PTB makes it (with no arguments) when the application
    is built; ``build_application`` then puts the services in, before any update is handled."""

    __slots__ = ("services",)

    services: Services


#: The ``context`` every handler receives: PTB's, with ``bot_data`` typed.
Context = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]
#: Given to ``ApplicationBuilder.context_types``.
CONTEXT_TYPES = ContextTypes(bot_data=BotData)
#: The application ``build_application`` returns (what matters here: its ``bot_data``).
App = Application[Any, Any, Any, Any, BotData, Any]
