"""What every handler needs, built once by ``build_application`` and kept in ``bot_data``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import ContextTypes

from bot.services.floodguard import FloodGuard
from bot.services.sessions import Sessions
from bot.services.texts import Texts
from config.settings import Settings
from storage.testimonials import Repository

if TYPE_CHECKING:
    from bot.services.backlog import Backlog
    from bot.services.cards import CardDesk
    from bot.services.inbox import DurableUpdateQueue, InboxUpdateProcessor
    from bot.services.publishing import Publisher

SERVICES_KEY = "livredor"


@dataclass
class Services:
    """Settings, storage and the long-lived workers, typed (``bot_data`` is a dict); built
    whole by ``build_application``, in dependency order."""

    settings: Settings
    repo: Repository
    texts: Texts
    sessions: Sessions
    desk: CardDesk
    publisher: Publisher
    backlog: Backlog  # the group's summary and reminders at event scale
    update_queue: DurableUpdateQueue
    processor: InboxUpdateProcessor
    flood: FloodGuard = field(default_factory=FloodGuard)
    bot_username: str = ""  # learnt from Telegram at start (start_workers)
    reasking: asyncio.Task[int] | None = None  # re-asking open questions, once started


def services(context: ContextTypes.DEFAULT_TYPE | Any) -> Services:
    """Return the ``Services`` of the running application."""
    found: Services = context.bot_data[SERVICES_KEY]
    return found
