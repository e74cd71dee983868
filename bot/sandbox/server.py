"""The fake Telegram over loopback HTTP (aiohttp), for a real bot process.

Start the bot with ``LIVREDOR_API_BASE_URL=<server.base_url>``: PTB then calls
``<base_url><token>/<method>`` exactly as it calls api.telegram.org.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.sandbox.fake import FakeTelegram
from bot.sandbox.limits import DOCUMENT_MAX_BYTES
from bot.sandbox.objects import UploadedFile

__all__ = ["FakeServer", "start_server"]

log = logging.getLogger("bot.sandbox")
_FAKE_KEY = web.AppKey("fake", FakeTelegram)


@dataclass
class FakeServer:
    """A running server: ``base_url`` is what the bot's base URL setting takes."""

    fake: FakeTelegram
    host: str
    port: int
    runner: web.AppRunner

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Where the files getFile names are (PTB's ``base_file_url``)."""
        return f"http://{self.host}:{self.port}/file/bot"

    async def close(self) -> None:
        """Stop serving (the fake itself stays usable; call ``fake.aclose()`` too)."""
        await self.runner.cleanup()


async def _handle(request: web.Request) -> web.Response:
    fake = request.app[_FAKE_KEY]
    params: dict[str, object] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(400, "Bad Request: can't parse JSON object")
        params.update(body)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        # What PTB's HTTPXRequest sends: urlencoded fields, or multipart when uploading.
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                files[name] = UploadedFile(
                    value.filename, value.file.read(), value.content_type or None
                )
            else:
                params[name] = value
    status, payload = await fake.handle(
        request.match_info["token"], request.match_info["method"], params, files
    )
    return web.json_response(payload, status=status, dumps=json.dumps)


async def _file(request: web.Request) -> web.Response:
    """Telegram's file server: what getFile gave a path to."""
    fake = request.app[_FAKE_KEY]
    content = fake.download(request.match_info["token"], request.match_info["path"])
    if content is None:
        return _error(404, "Not Found")
    return web.Response(body=content, content_type="application/octet-stream")


async def _not_found(request: web.Request) -> web.Response:
    return _error(404, "Not Found")


def _error(status: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )


@web.middleware
async def _too_large(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPRequestEntityTooLarge:
        return _error(413, "Request Entity Too Large")


async def start_server(fake: FakeTelegram, host: str = "127.0.0.1", port: int = 0) -> FakeServer:
    """Serve ``fake`` on ``host:port`` (port 0: any free port) until ``close()``."""
    app = web.Application(
        client_max_size=DOCUMENT_MAX_BYTES + 1024 * 1024, middlewares=[_too_large]
    )
    app[_FAKE_KEY] = fake
    app.router.add_route("*", "/bot{token}/{method}", _handle)
    app.router.add_route("GET", "/file/bot{token}/{path:.+}", _file)
    app.router.add_route("*", "/{tail:.*}", _not_found)
    # A long poll may be waiting when we close (every process test closes one): cancel it
    # after a tenth of a second, not aiohttp's default minute (nor a whole second per test).
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = int(runner.addresses[0][1])
    log.info("fake Telegram listening on http://%s:%s/bot", host, bound_port)
    return FakeServer(fake, host, bound_port, runner)
