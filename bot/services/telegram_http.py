"""The bot's HTTP client to the Bot API: PTB's ``BaseRequest`` on one aiohttp session.

Why not PTB's default (``HTTPXRequest``): every Bot API call went through httpx, httpcore,
h11 and anyio, ~60 % of the bot's main thread in the webhook benchmark; a ``sendMessage``
costs less than half the CPU through aiohttp (already a dependency: the webhook server, the
wall), whose HTTP parser is in C (tests/bench/README.md has the figures). ``BaseRequest`` is
PTB's documented way to bring another client (``ApplicationBuilder.request()`` /
``get_updates_request()``): it only sends a request and returns (status, body);
``BaseRequest.post`` turns statuses into PTB's errors (400 ``BadRequest``, 429
``RetryAfter``...) exactly as it does for httpx.

What the bot gets, as from ``HTTPXRequest``:

* a pool of ``connection_pool_size`` keep-alive HTTP/1.1 connections; a call that finds them
  all busy waits up to the pool timeout, then raises ``TimedOut`` without having been sent;
* the four timeouts PTB passes per call (``BaseRequest.DEFAULT_NONE``: this client's own; a
  file upload's write timeout is ``media_write_timeout``): pool and connect as httpx has
  them; read from the moment the request is sent, reset by each chunk that arrives. aiohttp
  has no timeout per write, so the write timeout bounds the call as a whole instead (connect
  + write + read): a stalled upload ends, a slow one must fit in that time;
* ``TimedOut`` for a timeout, ``NetworkError`` for a connection that fails;
* Telegram's certificate checked as httpx checks it: against ``SSL_CERT_FILE`` or
  ``SSL_CERT_DIR`` if set, else certifi's roots; a proxy from ``HTTPS_PROXY``/``HTTP_PROXY``/
  ``ALL_PROXY`` (``NO_PROXY`` honoured), read once when the client opens.

And what differs, on purpose: parameters go as one JSON body when there is no file
(Telegram takes ``application/json``; no per-character urlencoding), multipart with files;
answers are asked uncompressed (``Accept-Encoding: identity``: small answers over one
keep-alive connection, nothing to inflate); no cookies are kept (Telegram sets none).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import ssl
import urllib.request
from collections.abc import AsyncIterator
from typing import Final
from urllib.parse import urlsplit

import aiohttp
import certifi
from telegram import Bot
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["KEEPALIVE", "POOL_TIMEOUT", "AiohttpRequest", "tls_context"]

#: Headers of a call with a JSON body (the session's own go with every call).
_JSON: Final = {"Content-Type": "application/json"}
#: Seconds an idle connection is kept open.
KEEPALIVE: Final = 5.0
#: What a call that found every connection busy says (PTB's words for the same case).
POOL_TIMEOUT: Final = (
    "Pool timeout: all connections in the connection pool are occupied. The request was "
    "*not* sent to Telegram."
)


class AiohttpRequest(BaseRequest):
    """PTB's transport to the Bot API on aiohttp: one session, a pool of connections.

    Give it to PTB with ``ApplicationBuilder().request(AiohttpRequest(8))`` (the bot's calls)
    and ``.get_updates_request(AiohttpRequest())`` (one connection for ``getUpdates``). The
    session opens in ``initialize`` (PTB calls it; the first call opens it otherwise) and
    closes in ``shutdown``; both may be called again.
    """

    def __init__(
        self,
        connection_pool_size: int = 1,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self.connection_pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        # The pool's connections, counted here so that waiting for one has its own timeout
        # (aiohttp's "connect" timeout covers the wait and the connection together).
        self._slots = asyncio.Semaphore(connection_pool_size)
        self._proxies: dict[str, str] = {}

    @property
    def read_timeout(self) -> float | None:
        """The read timeout of a call that does not give one (``BaseRequest.read_timeout``)."""
        return self._read_timeout

    @property
    def closed(self) -> bool:
        """Whether the session is closed (or was never opened)."""
        return self._session is None or self._session.closed

    async def initialize(self) -> None:
        """Open the session (and its pool) unless it is open."""
        if not self.closed:
            return
        connector = aiohttp.TCPConnector(
            limit=self.connection_pool_size,
            limit_per_host=0,
            # An idle connection is closed after 5 s, as httpx does: before a server's own
            # idle timeout can close it under a request on its way.
            keepalive_timeout=KEEPALIVE,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self.USER_AGENT, "Accept-Encoding": "identity"},
            cookie_jar=aiohttp.DummyCookieJar(),
            # Each call gives its own timeouts; none for the session as a whole.
            timeout=aiohttp.ClientTimeout(total=None),
        )
        self._slots = asyncio.Semaphore(self.connection_pool_size)
        self._proxies = env_proxies()

    async def shutdown(self) -> None:
        """Close the session and its connections (nothing to do if closed)."""
        if self.closed:
            return
        assert self._session is not None
        await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; return the HTTP status and the body (PTB reads the rest)."""
        if self._session is None:
            await self.initialize()
        session = self._session
        assert session is not None
        if session.closed:
            raise RuntimeError("This AiohttpRequest is shut down")
        files = request_data is not None and request_data.contains_files
        timeout = _client_timeout(
            _given(connect_timeout, self._connect_timeout),
            _given(write_timeout, self._media_write_timeout if files else self._write_timeout),
            _given(read_timeout, self._read_timeout),
        )
        data: aiohttp.FormData | bytes | None = None
        headers = None
        if request_data is not None:
            if files:
                data = _multipart(request_data)
            else:
                data, headers = request_data.json_payload, _JSON
        proxy = _proxy_for(url, self._proxies) if self._proxies else None
        # The roots are loaded at the first https call (none over loopback HTTP).
        tls = tls_context() if url.startswith("https:") else True
        slots = self._slots
        wait = _given(pool_timeout, self._pool_timeout)
        if slots.locked() and wait is not None:
            try:
                async with asyncio.timeout(wait):
                    await slots.acquire()
            except TimeoutError:
                raise TimedOut(POOL_TIMEOUT) from None
        else:
            await slots.acquire()
        try:
            async with session.request(
                method, url, data=data, headers=headers, timeout=timeout, proxy=proxy, ssl=tls
            ) as response:
                return response.status, await response.read()
        # The URL holds the token and aiohttp names it in some errors (a connect timeout):
        # the message says what went wrong without it, and nothing is chained (a traceback
        # in a log would print the cause's message whole).
        except TimeoutError as exc:  # aiohttp's own timeouts are TimeoutErrors too
            raise TimedOut(f"Timed out ({_without_path(exc, url)})") from None
        except aiohttp.ClientError as exc:
            raise NetworkError(_without_path(exc, url)) from None
        finally:
            slots.release()


@contextlib.asynccontextmanager
async def command_bot(token: str, base_url: str) -> AsyncIterator[Bot]:
    """A ``Bot`` for a command's few calls (``check``, ``poster``) on ``command_request``'s
    client, closed on the way out. Not initialised: ``Bot.initialize``'s InvalidToken
    message quotes the token."""
    request = command_request()
    try:
        yield Bot(token, base_url=base_url, request=request, get_updates_request=request)
    finally:
        await request.shutdown()


def command_request(connection_pool_size: int = 8) -> AiohttpRequest:
    """The client of a command a person waits on (``check``, ``setup``, ``poster``): longer
    connect and read timeouts than the running bot's, for a slow network at the venue."""
    return AiohttpRequest(connection_pool_size, connect_timeout=10.0, read_timeout=15.0)


def _without_path(exc: BaseException, url: str) -> str:
    """``aiohttp.<error>: <what it says>``, the URL's path (the token) left out."""
    said = str(exc).replace(urlsplit(url).path, "/<path>")
    return f"aiohttp.{type(exc).__name__}: {said}" if said else f"aiohttp.{type(exc).__name__}"


def _given(value: object, default: float | None) -> float | None:
    """A timeout PTB passed, or this client's own (``BaseRequest.DEFAULT_NONE``)."""
    if value is None or isinstance(value, int | float):
        return value
    return default


@functools.lru_cache(maxsize=64)
def _client_timeout(
    connect: float | None, write: float | None, read: float | None
) -> aiohttp.ClientTimeout:
    """aiohttp's timeouts for PTB's (the pool's wait is counted apart)."""
    total = None
    if connect is not None and write is not None and read is not None:
        total = connect + write + read
    return aiohttp.ClientTimeout(total=total, connect=connect, sock_connect=connect, sock_read=read)


def _multipart(request_data: RequestData) -> aiohttp.FormData:
    """The parameters as form fields and the files as parts (PTB's ``attach://`` names)."""
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The roots Telegram's certificate is checked against, as httpx chooses them (loaded
    once a process: it takes ~20 ms)."""
    if cafile := os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=cafile)
    if capath := os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=capath)
    return ssl.create_default_context(cafile=certifi.where())


def env_proxies() -> dict[str, str]:
    """The proxies the environment names, by URL scheme (``no`` holds ``NO_PROXY``)."""
    return urllib.request.getproxies_environment()


@functools.lru_cache(maxsize=16)
def _proxy_cached(scheme: str, host: str, proxies: tuple[tuple[str, str], ...]) -> str | None:
    if urllib.request.proxy_bypass(host):  # NO_PROXY names it
        return None
    table = dict(proxies)
    return table.get(scheme) or table.get("all")


def _proxy_for(url: str, proxies: dict[str, str]) -> str | None:
    """The proxy for ``url``, or None (``NO_PROXY`` names its host, or none for its scheme)."""
    parts = urlsplit(url)
    return _proxy_cached(parts.scheme, parts.hostname or "", tuple(sorted(proxies.items())))
