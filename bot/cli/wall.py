"""``livredor wall``: the live wall on its own (the same server ``livredor run`` starts when
``LIVREDOR_WALL_PORT`` is set).

It only reads the database, beside a running bot (SQLite's WAL lets it). The QR code needs
the bot's username: ``livredor run`` writes it into the database at start; before that, the
wall asks Telegram for it when the token is set, and otherwise shows no QR code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from bot.cli.logs import redact_also
from bot.cli.poster import PosterError, bot_username
from bot.services.sessions import Sessions
from bot.services.texts import Texts
from bot.services.wall import WallServer, WallSite
from config.settings import Settings
from storage.database import Database
from storage.testimonials import Repository

log = logging.getLogger(__name__)

#: Where ``livredor run`` leaves the bot's username for the wall (``bot_state``).
USERNAME_KEY = "bot.username"
DEFAULT_PORT = 8080
EXIT_OK, EXIT_PROBLEM = 0, 1


def wall_site(settings: Settings, username: str | None) -> WallSite:
    """What the wall shows besides the testimonials, from the settings."""
    return WallSite(
        event_name=settings.event_name,
        default_language=settings.default_language,
        texts=Texts.load(settings.texts, settings.default_language),
        sessions=Sessions.load(settings.sessions),
        event_hashtag=settings.event_hashtag,
        bot_username=username,
        key=settings.wall_key.get_secret_value() if settings.wall_key else None,
    )


async def start_wall(settings: Settings, db: Database, username: str | None) -> WallServer:
    """Start the wall's server on ``LIVREDOR_WALL_LISTEN:LIVREDOR_WALL_PORT``."""
    if settings.wall_key is not None:
        # The key is in the screens' URLs: never in a log line that quotes one.
        redact_also(settings.wall_key.get_secret_value())
    wall = WallServer(db, wall_site(settings, username))
    port = settings.wall_port if settings.wall_port is not None else DEFAULT_PORT
    await wall.start(settings.wall_listen, port)
    log.info("the wall is on http://%s:%d/", settings.wall_listen, wall.port)
    return wall


async def _username(settings: Settings, repo: Repository) -> str | None:
    stored = await repo.get_state(USERNAME_KEY)
    if stored:
        return stored
    if settings.bot_token is None:
        log.warning("no QR code on the wall: start `livredor run` once, or set the token")
        return None
    try:
        return await bot_username(settings)
    except PosterError as exc:
        log.warning("no QR code on the wall: %s", exc)
        return None


async def serve_wall(settings: Settings, stop: asyncio.Event | None = None) -> int:
    """Serve the wall until ``stop`` is set (or SIGTERM / Ctrl-C)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    if not settings.database.is_file():
        print(
            f"{settings.database} does not exist: check LIVREDOR_DATABASE (the wall shows "
            "what `livredor run` published).",
            file=sys.stderr,
        )
        return EXIT_PROBLEM
    db = await Database.open(settings.database, migrate=False)
    try:
        username = await _username(settings, Repository(db))
        wall = await start_wall(settings, db, username)
        print(f"The wall is on http://{settings.wall_listen}:{wall.port}/", file=sys.stderr)
        try:
            await stop.wait()
        finally:
            await wall.stop()
    finally:
        await db.close()
    return EXIT_OK
