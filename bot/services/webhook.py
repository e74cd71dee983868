"""The webhook server: each update Telegram POSTs is committed to the inbox before the 200.

PTB's own server (``Updater.start_webhook``, on tornado) parses the body and hands over only
PTB's ``Update``, so the inbox had to rebuild the update's JSON with ``to_dict`` (about
0.1 ms an update, a third of what the webhook cost beyond long polling). PTB documents the
other way: serve the webhook yourself and put each ``Update`` in the application's update
queue (its "custom webhook bot" examples). This server does that, on aiohttp (a dependency
already, with its HTTP parser in C), and hands the queue the body as Telegram sent it.

Same contract as PTB's server: only POSTs to the path, ``Content-Type: application/json``
and the secret header (403 otherwise, whatever bytes the header holds), 400 for a body that
is not an update (not UTF-8, not JSON, no integer ``update_id`` that SQLite can keep), 200 for
an update PTB cannot read (kept aside as unreadable: a 4xx would hold every later update), 500
only if the inbox cannot commit it (``DurableUpdateQueue.put`` raises ``NetworkError``:
Telegram retries a 500, so nothing malformed may ever earn one), 200 once it is committed.
"""

from __future__ import annotations

import hmac
import json
import logging
from http import HTTPStatus

from aiohttp import web
from telegram import Bot, Update
from telegram.error import NetworkError

from bot.services.inbox import DurableUpdateQueue

log = logging.getLogger(__name__)

#: The header Telegram sends with the ``secret_token`` given to ``setWebhook``.
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: Telegram's own default for ``setWebhook`` (PTB's too): POSTs in flight at once.
MAX_CONNECTIONS = 40
#: The inbox keys updates by ``update_id`` in an SQLite INTEGER (signed 64 bits).
MAX_UPDATE_ID = 2**63 - 1


def update_id_of(payload: object) -> int | None:
    """Return the body's ``update_id`` if it is one the inbox can keep, else None."""
    if not isinstance(payload, dict):
        return None
    update_id = payload.get("update_id")
    # bool is an int to Python; "7" is not an update id to Telegram.
    if type(update_id) is not int or not 0 <= update_id <= MAX_UPDATE_ID:
        return None
    return update_id


class WebhookServer:
    """An aiohttp server taking Telegram's POSTs on one path into the durable queue."""

    def __init__(self, bot: Bot, queue: DurableUpdateQueue, path: str, secret: str) -> None:
        self.bot = bot
        self.queue = queue
        # Telegram sends a connection's next update once this one's 200 is back: its commit
        # goes ahead of the statements queued for the database.
        queue.commit_first = True
        self.secret = secret.encode()
        app = web.Application()
        app.router.add_post("/" + path.lstrip("/"), self._post)
        # No access log: one line per update would cost more than the update's commit.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)

    async def start(self, listen: str, port: int) -> None:
        """Listen on ``listen:port``."""
        await self._runner.setup()
        await web.TCPSite(self._runner, listen, port).start()

    async def stop(self) -> None:
        """Stop listening; POSTs in progress finish first (their updates get committed)."""
        await self._runner.cleanup()

    async def _post(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return web.Response(status=HTTPStatus.FORBIDDEN)
        # aiohttp keeps a header's non-UTF-8 bytes as surrogates: give them back as bytes,
        # so a garbled header is a wrong secret (403), not an encoding error (500).
        token = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(token, self.secret):
            return web.Response(status=HTTPStatus.FORBIDDEN)
        raw = await request.read()
        try:
            body = raw.decode("utf-8")
            payload = json.loads(body)
        except ValueError:  # not UTF-8, or not JSON
            body, payload = "", None
        update_id = update_id_of(payload)
        if update_id is None:
            log.warning("webhook: a POST that is not an update (%d bytes) refused", len(raw))
            return web.Response(status=HTTPStatus.BAD_REQUEST)
        try:
            try:
                update = Update.de_json(payload, self.bot)
            except Exception as exc:  # a shape PTB cannot read: kept aside, the rest go on
                why = f"{type(exc).__name__}: {exc}"
                await self.queue.put_unreadable(update_id, body, why)
                return web.Response(status=HTTPStatus.OK)
            await self.queue.put_raw(update, body)
        except NetworkError:  # not committed (logged by the queue): Telegram sends it again
            return web.Response(status=HTTPStatus.INTERNAL_SERVER_ERROR)
        return web.Response(status=HTTPStatus.OK)
