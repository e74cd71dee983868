"""``FakeRequest``: PTB's transport, wired straight to a :class:`FakeTelegram` (no sockets)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

from bot.sandbox.fake import FakeTelegram
from bot.sandbox.objects import UploadedFile

__all__ = ["FakeRequest"]

_T = TypeVar("_T")
_FILE_PATH = re.compile(r"/file/bot(?P<token>[^/]+)/(?P<path>.+)$")
_NOT_FOUND = b'{"ok":false,"error_code":404,"description":"Not Found"}'


class FakeRequest(BaseRequest):
    """A PTB ``BaseRequest`` that answers from a fake::

        ApplicationBuilder().token(fake.token)
            .request(FakeRequest(fake)).get_updates_request(FakeRequest(fake))

    Parameters are taken exactly as PTB's HTTPX transport would put them on the wire (each
    value a string, JSON-encoded when not a string), so the fake parses what Telegram would.
    A call that takes longer than the read timeout raises ``TimedOut``, like HTTPX does; the
    timeout is waited with ``sleep`` when one is given (the sleep of the bot's clock, in a
    test on a fake one), else on the event loop's timers.
    """

    def __init__(
        self,
        fake: FakeTelegram,
        *,
        read_timeout: float | None = 5.0,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.fake = fake
        self._read_timeout = read_timeout
        self.sleep = sleep

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Route ``.../bot<token>/<method>`` to the fake; return (HTTP status, JSON bytes)."""
        path = urlsplit(url).path
        found = _FILE_PATH.search(path)
        if found is not None:
            # A file download (/file/bot<token>/<file_path>), what getFile named.
            content = self.fake.download(unquote(found["token"]), unquote(found["path"]))
            if content is None:
                return 404, _NOT_FOUND
            return 200, content
        segments = path.split("/")
        if len(segments) < 3 or not segments[-2].startswith("bot"):
            return 404, _NOT_FOUND
        token = unquote(segments[-2].removeprefix("bot"))
        api_method = segments[-1]
        params: dict[str, object] = dict(request_data.json_parameters) if request_data else {}
        files = _files(request_data) if request_data else {}
        timeout = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        answer = self.fake.handle(token, api_method, params, files)
        if self.sleep is not None and timeout is not None:
            status, payload = await _within(answer, timeout, self.sleep)
            return status, json.dumps(payload).encode()
        try:
            # asyncio.timeout, not wait_for: in Python 3.11 wait_for can swallow a
            # cancellation that arrives as the call completes (the bot's workers then
            # never stop).
            async with asyncio.timeout(timeout):
                status, payload = await answer
        except TimeoutError as exc:
            raise TimedOut from exc
        return status, json.dumps(payload).encode()


async def _within(
    answer: Awaitable[_T], timeout: float, sleep: Callable[[float], Awaitable[None]]
) -> _T:
    """Await ``answer``; raise ``TimedOut`` if ``sleep(timeout)`` is over first."""
    call = asyncio.ensure_future(answer)
    timer = asyncio.ensure_future(sleep(timeout))
    try:
        await asyncio.wait((call, timer), return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        if not call.done():
            call.cancel()
    if not call.done() or call.cancelled():
        raise TimedOut
    return call.result()


def _files(request_data: RequestData) -> dict[str, UploadedFile]:
    """The multipart parts PTB would upload: {part name: file}."""
    out: dict[str, UploadedFile] = {}
    for name, value in request_data.multipart_data.items():
        filename, content, mime_type = value
        data = content if isinstance(content, bytes) else content.read()
        out[name] = UploadedFile(filename or name, data, mime_type)
    return out
