"""The bot's HTTP client (bot/services/telegram_http.py) against real servers on loopback:
the strict fake Telegram (bot/sandbox/server.py), or a small aiohttp server that shows what
arrived and answers what a test needs."""

from __future__ import annotations

import asyncio
import gc
import io
import json
import random
import shutil
import socket
import ssl
import subprocess
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from PIL import Image
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.sandbox import FakeServer, FakeTelegram, start_server
from bot.services.images import blank_image
from bot.services.limiter import retry_seconds
from bot.services.telegram_http import POOL_TIMEOUT, AiohttpRequest, tls_context
from tests.e2e.cli_process import free_port
from tests.sandbox.conftest import ALICE, CHANNEL

TOKEN = "123456:TEST-TOKEN"
ME = {"id": 123456, "is_bot": True, "first_name": "Livre d'or", "username": "livredor_test_bot"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    tg = FakeTelegram(token=TOKEN)
    tg.add_user(ALICE, "Alice", username="alice")
    tg.add_channel(CHANNEL, "Livre d'or", username="livredor_channel")
    yield tg
    await tg.aclose()
    assert tg.unknown_methods == []


@pytest.fixture
async def server(fake: FakeTelegram) -> AsyncIterator[FakeServer]:
    srv = await start_server(fake)
    yield srv
    await srv.close()


@dataclass
class Seen:
    """What one request to the small server carried."""

    method: str
    path: str
    host: str
    content_type: str
    body: bytes


@dataclass
class Little:
    """A small aiohttp server: it records each request and answers with ``answer``."""

    url: str
    seen: list[Seen] = field(default_factory=list)
    answer: Callable[[], web.Response] = lambda: web.json_response({"ok": True, "result": True})


@pytest.fixture
async def little() -> AsyncIterator[Little]:
    served = Little("")

    async def handle(request: web.Request) -> web.Response:
        if request.path.endswith("/getMe"):  # what ``Bot.initialize`` asks first
            return web.json_response({"ok": True, "result": ME})
        served.seen.append(
            Seen(
                request.method,
                request.path,
                request.host,
                request.content_type,
                await request.read(),
            )
        )
        return served.answer()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    served.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield served
    await runner.cleanup()


async def test_a_call_without_files_goes_as_one_json_body(little: Little) -> None:
    little.answer = lambda: web.json_response(
        {"ok": True, "result": {"message_id": 7, "date": 0, "chat": {"id": 1, "type": "private"}}}
    )
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Oui ✓", callback_data="q:1:yes")]])
    text = "<b>Merci</b> « Zoé » 🙂 &amp; co"
    async with Bot(TOKEN, base_url=f"{little.url}/bot", request=AiohttpRequest()) as bot:
        sent = await bot.send_message(1, text, parse_mode="HTML", reply_markup=markup)
    assert sent.message_id == 7
    call = little.seen[-1]
    assert (call.method, call.path) == ("POST", f"/bot{TOKEN}/sendMessage")
    assert call.content_type == "application/json"
    # Each value as Telegram reads a form's: a string, JSON where it is not one.
    assert json.loads(call.body) == {
        "chat_id": "1",
        "text": text,
        "parse_mode": "HTML",
        "reply_markup": json.dumps(markup.to_dict()),
    }


async def test_round_trips_with_the_strict_fake(fake: FakeTelegram, server: FakeServer) -> None:
    async with Bot(TOKEN, base_url=server.base_url, request=AiohttpRequest(2)) as bot:
        assert (await bot.get_me()).username == "livredor_test_bot"
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("OK ✓", callback_data="ok:1")]])
        sent = await bot.send_message(
            ALICE, "<i>Zoé</i> « ok »", parse_mode="HTML", reply_markup=markup
        )
        assert (sent.text, sent.reply_markup) == ("Zoé « ok »", markup)
        assert fake.calls("sendMessage")[0].params["reply_markup"] == markup.to_dict()


def _noisy_jpeg() -> bytes:
    """A photo of ~200 kB: larger than a socket's buffer, so it is written in many parts."""
    rng = random.Random(20)
    image = Image.frombytes("RGB", (400, 300), rng.randbytes(400 * 300 * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


async def test_uploads_arrive_whole_and_downloads_come_back_whole(
    fake: FakeTelegram, server: FakeServer
) -> None:
    photo = _noisy_jpeg()
    document = random.Random(21).randbytes(1_500_000)
    async with Bot(
        TOKEN,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        request=AiohttpRequest(),
    ) as bot:
        sent = await bot.send_photo(
            CHANNEL, photo, caption="<b>Portrait</b> de Zoé", parse_mode="HTML"
        )
        assert sent.caption == "Portrait de Zoé"
        file = await bot.get_file(sent.photo[-1].file_id)
        assert bytes(await file.download_as_bytearray()) == photo
        # A photo replaced (InputMedia's attach:// part): what blanks a post too old to delete.
        await bot.edit_message_media(
            InputMediaPhoto(blank_image(), caption="Retiré"), CHANNEL, sent.message_id
        )
        assert fake.message(CHANNEL, sent.message_id)["photo"] == blank_image()
        sent = await bot.send_document(
            CHANNEL, document, filename="livre-d-or.zip", caption="Export"
        )
    assert fake.last_message(CHANNEL)["document"]["content"] == document
    assert fake.last_message(CHANNEL)["document"]["filename"] == "livre-d-or.zip"
    assert sent.caption == "Export"


async def test_a_held_answer_times_out_after_the_read_timeout(
    fake: FakeTelegram, server: FakeServer
) -> None:
    """The crash scenario: Telegram performed the send, the bot never heard back. A call's
    own read timeout wins over the client's; without one, the client's applies."""
    fake.hold("sendMessage", chat_id=CHANNEL)
    request = AiohttpRequest(2, read_timeout=0.2)
    async with Bot(TOKEN, base_url=server.base_url, request=request) as bot:
        # A longer read timeout of its own: this call waits until the answer comes.
        patient = asyncio.create_task(bot.send_message(CHANNEL, "Patient", read_timeout=60))
        await fake.wait_held(1)
        with pytest.raises(TimedOut):
            await bot.send_message(CHANNEL, "Posted, but unconfirmed")
        # Both were sent; the patient one has been waiting longer than 0.2 s.
        await fake.wait_held(2)
        fake.release()
        assert (await patient).text == "Patient"
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["Patient", "Posted, but unconfirmed"]


async def test_a_call_that_finds_the_pool_busy_times_out_unsent(
    fake: FakeTelegram, server: FakeServer
) -> None:
    fake.hold("sendMessage", chat_id=CHANNEL)
    async with Bot(TOKEN, base_url=server.base_url, request=AiohttpRequest(1)) as bot:
        first = asyncio.create_task(bot.send_message(CHANNEL, "first", read_timeout=60))
        await fake.wait_held(1)
        with pytest.raises(TimedOut, match="Pool timeout"):
            await bot.send_message(CHANNEL, "second", pool_timeout=0.1)
        fake.release()
        await first
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["first"]
    assert POOL_TIMEOUT.startswith("Pool timeout")


async def test_a_refused_connection_is_a_network_error_without_the_token() -> None:
    url = f"http://127.0.0.1:{free_port()}/bot"
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError) as caught:
            await Bot(TOKEN, base_url=url, request=request).get_me()
    assert not isinstance(caught.value, TimedOut)
    assert "Cannot connect" in caught.value.message
    assert TOKEN not in caught.value.message


async def test_a_connection_that_never_opens_times_out_without_the_token() -> None:
    """aiohttp names the whole URL (which holds the token) in its connect timeout: neither
    the error PTB raises nor anything chained to it may carry it (a traceback in a log)."""
    # A listening socket that never accepts, its backlog full: the next SYN goes unanswered.
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        url = f"http://127.0.0.1:{port}/bot"
        async with AiohttpRequest(connect_timeout=0.2) as request:
            with pytest.raises(TimedOut) as caught:
                await Bot(TOKEN, base_url=url, request=request).get_me()
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
    chain: list[BaseException] = []
    error: BaseException | None = caught.value
    while error is not None:
        chain.append(error)
        # What a traceback prints: the cause, or the context unless suppressed.
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    assert chain and all(TOKEN not in str(e) for e in chain), [str(e) for e in chain]


async def test_telegram_refusals_become_ptb_errors(little: Little) -> None:
    """Status and body only: ``BaseRequest.post`` makes the errors (429 with retry_after,
    400 with Telegram's description), as for PTB's own client."""
    async with Bot(TOKEN, base_url=f"{little.url}/bot", request=AiohttpRequest()) as bot:
        little.answer = lambda: web.json_response(
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3},
            },
            status=429,
        )
        with pytest.raises(RetryAfter) as waited:
            await bot.send_message(1, "x")
        assert retry_seconds(waited.value) == 3
        little.answer = lambda: web.json_response(
            {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
            status=400,
        )
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(1, "x")


async def test_proxies_from_the_environment(
    little: Little, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``HTTP_PROXY`` carries the calls (the little server plays the proxy); ``NO_PROXY``
    names hosts reached directly."""
    monkeypatch.setenv("HTTP_PROXY", little.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with AiohttpRequest() as request:
        bot = Bot(TOKEN, base_url="http://telegram.invalid/bot", request=request)
        assert await bot.delete_webhook()
    assert little.seen[-1].host == "telegram.invalid"
    assert little.seen[-1].path == f"/bot{TOKEN}/deleteWebhook"
    monkeypatch.setenv("NO_PROXY", "telegram.invalid")
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError):  # asked directly: no such host
            await Bot(
                TOKEN, base_url="http://telegram.invalid/bot", request=request
            ).delete_webhook()
    assert len(little.seen) == 1


async def test_shutdown_closes_the_session_and_initialize_opens_it_again(little: Little) -> None:
    request = AiohttpRequest()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with Bot(TOKEN, base_url=f"{little.url}/bot", request=request) as bot:
            assert not request.closed
            assert await bot.delete_webhook()
        assert request.closed
        await request.shutdown()  # again: nothing to do
        await request.initialize()
        await request.initialize()  # again: the same session
        assert await Bot(TOKEN, base_url=f"{little.url}/bot", request=request).delete_webhook()
        await request.shutdown()
        with pytest.raises(NetworkError, match="shut down"):  # PTB wraps the RuntimeError
            await Bot(TOKEN, base_url=f"{little.url}/bot", request=request).delete_webhook()
        del request, bot
        gc.collect()
    assert [str(w.message) for w in caught if "Unclosed" in str(w.message)] == []
    assert len(little.seen) == 2


@pytest.fixture
def roots_read_again() -> Iterator[None]:
    """``tls_context`` reads the environment once a process: again for this test, and after."""
    tls_context.cache_clear()
    yield
    tls_context.cache_clear()


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no known root signed, and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a certificate with")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.usefixtures("roots_read_again")
async def test_the_certificate_is_checked(
    self_signed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over https, a certificate no known root signed is refused (a ``NetworkError``, the
    call never made); ``SSL_CERT_FILE`` adds a root, as with httpx."""
    cert, key = self_signed
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.path)
        if request.path.endswith("/getMe"):
            return web.json_response({"ok": True, "result": ME})
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=served).start()
    url = f"https://127.0.0.1:{runner.addresses[0][1]}/bot"
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    try:
        async with AiohttpRequest() as request:
            with pytest.raises(NetworkError, match="certificate verify failed") as caught:
                await Bot(TOKEN, base_url=url, request=request).delete_webhook()
            assert not isinstance(caught.value, TimedOut)
        assert seen == []
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        tls_context.cache_clear()
        async with AiohttpRequest() as request:
            assert await Bot(TOKEN, base_url=url, request=request).delete_webhook()
        assert seen == [f"/bot{TOKEN}/deleteWebhook"]
    finally:
        await runner.cleanup()
