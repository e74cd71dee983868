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
    """Settings, storage and the long-lived workers, typed (``bot_data`` is a dict)."""

    settings: Settings
    repo: Repository
    texts: Texts
    flood: FloodGuard = field(default_factory=FloodGuard)
    sessions: Sessions = field(default_factory=Sessions)
    desk: CardDesk | None = None
    publisher: Publisher | None = None
    backlog: Backlog | None = None  # the group's summary and reminders at event scale
    bot_username: str = ""
    update_queue: DurableUpdateQueue | None = None
    processor: InboxUpdateProcessor | None = None
    reasking: asyncio.Task[int] | None = None  # re-asking open questions after a restart


def services(context: ContextTypes.DEFAULT_TYPE | Any) -> Services:
    """Return the ``Services`` of the running application."""
    found: Services = context.bot_data[SERVICES_KEY]
    return found
