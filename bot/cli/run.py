"""``livredor run``: long polling, or a webhook behind a reverse proxy; a clean stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from collections.abc import Callable
from urllib.parse import urlsplit

from telegram.error import InvalidToken, NetworkError

from bot.app import ALLOWED_UPDATES, build_application, start_workers, stop_workers
from bot.cli.check import check_group
from bot.cli.health import beat, heartbeat_path
from bot.cli.logs import redact_also
from bot.cli.wall import USERNAME_KEY, start_wall
from bot.services.container import Services
from bot.services.inbox import DurableUpdateQueue
from bot.services.wall import WallServer
from bot.services.webhook import MAX_CONNECTIONS, WebhookServer
from config.settings import Settings
from storage.database import Database, InstanceLock
from storage.testimonials import Repository

log = logging.getLogger(__name__)

#: How long a stop may take before in-flight work is abandoned (it is in the database).
STOP_TIMEOUT = 8.0


class StartRefused(Exception):
    """Starting would put people's words at risk (``livredor check``'s sentence says why)."""


def run_bot(settings: Settings) -> int:
    """Run until SIGTERM or Ctrl-C; return the exit code."""
    try:
        asyncio.run(serve(settings))
    except InvalidToken:
        # PTB's message quotes the token: say it in our words instead.
        log.error("Telegram refused LIVREDOR_BOT_TOKEN: check it with `livredor check`")
        return 1
    except StartRefused as exc:
        log.error("not starting: %s", exc)
        return 2
    except NetworkError as exc:
        # Before the first update (asking who the bot is, registering the webhook): a
        # supervisor (systemd, Docker) starts it again; a person reads one sentence.
        log.error(
            "cannot reach Telegram at %s (%s): check the network, or LIVREDOR_API_BASE_URL, "
            "then start again",
            settings.api_base_url,
            exc.message,
        )
        return 1
    return 0


async def serve(
    settings: Settings,
    stop: asyncio.Event | None = None,
    *,
    started: Callable[[Services], None] | None = None,
) -> None:
    """Serve updates until ``stop`` is set (or a signal arrives), then shut down in order:
    stop taking updates, finish those in hand, stop the workers, close the database.
    ``started`` is given the running bot's services (``livredor demo`` queues its book
    through them)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        # Not possible off the main thread or on Windows: Ctrl-C still works there.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    lock = InstanceLock(settings.database)
    lock.acquire()
    try:
        db = await Database.open(settings.database)
    except BaseException:
        lock.release()
        raise
    wall: WallServer | None = None
    try:
        repo = Repository(db)
        app = build_application(settings, repo)
        async with app:
            # Before the first update: a card posted anywhere but in the organisers' group
            # (the channel, a chat the bot is not in) would show drafts in public or lose them.
            group = await check_group(app.bot, settings, app.bot.bot)
            if not group.ok:
                raise StartRefused(group.sentence())
            await start_workers(app)
            # For `livredor wall` run on its own: the QR code's bot, without asking Telegram.
            await repo.set_state(USERNAME_KEY, app.bot.username)
            if settings.wall_port is not None:
                wall = await start_wall(settings, db, app.bot.username)
            updater = app.updater
            assert updater is not None
            webhook: WebhookServer | None = None
            if settings.webhook_url:
                secret = (
                    settings.webhook_secret.get_secret_value()
                    if settings.webhook_secret
                    else secrets.token_urlsafe(32)
                )
                # PTB logs setWebhook's parameters at DEBUG, the secret among them.
                redact_also(secret)
                queue = app.update_queue
                assert isinstance(queue, DurableUpdateQueue)
                # Our server, not PTB's: it keeps each body for the inbox (see its module).
                webhook = WebhookServer(app.bot, queue, urlsplit(settings.webhook_url).path, secret)
                # Listening before Telegram is told where to POST, as PTB does.
                await webhook.start(settings.webhook_listen, settings.webhook_port)
                try:
                    await app.bot.set_webhook(
                        settings.webhook_url,
                        allowed_updates=ALLOWED_UPDATES,
                        secret_token=secret,
                        max_connections=MAX_CONNECTIONS,
                    )
                except BaseException:
                    await webhook.stop()
                    raise
                log.info(
                    "receiving updates by webhook on %s:%d",
                    settings.webhook_listen,
                    settings.webhook_port,
                )
            else:
                await updater.start_polling(allowed_updates=ALLOWED_UPDATES, timeout=10)
                log.info("receiving updates by long polling")
            await app.start()
            if started is not None:
                started(app.bot_data.services)
            desk = app.bot_data.services.desk
            heart = asyncio.create_task(
                beat(
                    heartbeat_path(settings.database),
                    lambda: desk.unreachable,
                    desk.unreachable_changed,
                ),
                name="heart",
            )
            await stop.wait()
            heart.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heart
            log.info("stopping: finishing the updates in hand")
            try:
                async with asyncio.timeout(STOP_TIMEOUT):
                    if webhook is not None:
                        await webhook.stop()
                    else:
                        await updater.stop()
                    await app.stop()
            except TimeoutError:
                log.warning("updates still in hand after %.0f s: abandoned", STOP_TIMEOUT)
            await stop_workers(app)
    finally:
        if wall is not None:
            await wall.stop()
        await db.close()
        lock.release()
        log.info("stopped; database closed")
