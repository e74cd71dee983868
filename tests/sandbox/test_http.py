"""The fake over loopback HTTP, with PTB's real HTTPX transport on the other side."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, InvalidToken

from bot.sandbox import FakeServer, FakeTelegram, start_server
from tests.sandbox.conftest import ALICE, BOB, CHANNEL


@pytest.fixture
async def server(fake: FakeTelegram) -> AsyncIterator[FakeServer]:
    srv = await start_server(fake)
    yield srv
    await srv.close()


@pytest.fixture
async def http_bot(fake: FakeTelegram, server: FakeServer) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=server.base_url) as b:
        yield b


def test_base_url(server: FakeServer) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}/bot"
    assert server.port > 0


async def test_round_trips(fake: FakeTelegram, http_bot: Bot) -> None:
    me = await http_bot.get_me()
    assert me.username == "livredor_test_bot"
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("OK ✓", callback_data="ok:1")]])
    sent = await http_bot.send_message(
        ALICE, "<b>Merci</b> « Zoé » &amp; co", parse_mode="HTML", reply_markup=markup
    )
    assert sent.text == "Merci « Zoé » & co"
    assert sent.reply_markup == markup
    edited = await http_bot.edit_message_text(
        "Merci !", ALICE, sent.message_id, reply_markup=markup
    )
    assert isinstance(edited, type(sent)) and edited.text == "Merci !"
    query_id = fake.user_presses(ALICE, ALICE, sent.message_id, "ok:1")
    updates = await http_bot.get_updates(timeout=1)
    assert updates[0].callback_query is not None
    assert updates[0].callback_query.data == "ok:1"
    assert await http_bot.answer_callback_query(query_id, "Done")
    assert fake.callback_answers[query_id]["text"] == "Done"
    # The params arrived urlencoded, as strings, and were parsed like Telegram parses them.
    assert fake.calls("sendMessage")[0].params["reply_markup"] == markup.to_dict()


async def test_errors_over_http(fake: FakeTelegram, http_bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await http_bot.send_message(ALICE, "<b>x", parse_mode="HTML")
    fake.block_bot(BOB)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await http_bot.send_message(BOB, "x")


async def test_multipart_upload(fake: FakeTelegram, http_bot: Bot) -> None:
    data = "name;quote\nZoé;« Merci »\n".encode()
    sent = await http_bot.send_document(
        CHANNEL, data, filename="livre-d-or.csv", caption="<i>Export</i>", parse_mode="HTML"
    )
    assert sent.document is not None and sent.document.file_size == len(data)
    view = fake.last_message(CHANNEL)
    assert view["document"]["content"] == data
    assert view["document"]["filename"] == "livre-d-or.csv"
    assert view["text"] == "Export"


async def test_wrong_token(fake: FakeTelegram, server: FakeServer) -> None:
    with pytest.raises(InvalidToken):
        await Bot("42:NOPE", base_url=server.base_url).initialize()
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{server.base_url}42:NOPE/getMe") as response,
    ):
        assert response.status == 401
        assert await response.json() == {
            "ok": False,
            "error_code": 401,
            "description": "Unauthorized",
        }


async def test_unknown_method_over_http(fake: FakeTelegram, server: FakeServer) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{server.base_url}{fake.token}/sendDice") as r,
    ):
        assert r.status == 404
        assert (await r.json())["description"] == "Not Found"
    assert fake.unknown_methods == ["sendDice"]
    fake.unknown_methods.clear()


async def test_held_answer_and_a_client_that_gave_up(
    fake: FakeTelegram, server: FakeServer
) -> None:
    """The crash scenario: Telegram performed the send, the bot never heard back."""
    from telegram.error import TimedOut
    from telegram.request import HTTPXRequest

    fake.hold("sendMessage", chat_id=CHANNEL)
    impatient = HTTPXRequest(read_timeout=0.2)
    async with Bot(fake.token, base_url=server.base_url, request=impatient) as b:
        with pytest.raises(TimedOut):
            await b.send_message(CHANNEL, "Posted, but unconfirmed")
        await fake.wait_held(1)
        assert [m["text"] for m in fake.messages(CHANNEL)] == ["Posted, but unconfirmed"]
        fake.release()
        await fake.wait_for(lambda: not fake.held)
        # The server is still fine.
        assert (await b.send_message(CHANNEL, "next")).text == "next"
