"""``classify`` names Telegram's refusals: the fake's, provoked through real PTB calls, and the
real Bot API's, as it words them, through PTB's own error handling."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable

import pytest
from telegram import Bot
from telegram.error import TelegramError
from telegram.request import BaseRequest, RequestData

from bot.sandbox import FakeRequest, FakeTelegram
from bot.sandbox.media import default_photo
from bot.services.telegram_errors import Refusal, classify

ALICE = 1001
CHANNEL = -1001000000002
UNKNOWN_CHAT = 4242


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    tg = FakeTelegram()
    tg.add_user(ALICE, "Alice")
    tg.add_channel(CHANNEL, "Livre d'or")
    yield tg
    await tg.aclose()


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(
        fake.token, request=FakeRequest(fake), get_updates_request=FakeRequest(fake)
    ) as b:
        yield b


async def refusal_of(call: Awaitable[object]) -> Refusal:
    with pytest.raises(TelegramError) as caught:
        await call
    return classify(caught.value)


# --- the fake, as the tests and `livredor demo` meet it ---------------------------------------


async def test_edit_to_the_same_content(bot: Bot) -> None:
    sent = await bot.send_message(ALICE, "hello")
    edit = bot.edit_message_text("hello", chat_id=ALICE, message_id=sent.message_id)
    assert await refusal_of(edit) is Refusal.NOT_MODIFIED
    same_buttons = bot.edit_message_reply_markup(chat_id=ALICE, message_id=sent.message_id)
    assert await refusal_of(same_buttons) is Refusal.NOT_MODIFIED


async def test_message_gone(bot: Bot) -> None:
    assert await refusal_of(bot.edit_message_text("x", ALICE, 999)) is Refusal.MESSAGE_GONE
    assert await refusal_of(bot.delete_message(ALICE, 999)) is Refusal.MESSAGE_GONE


async def test_too_old_to_delete(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(CHANNEL, "a post")
    fake.age_message(CHANNEL, sent.message_id, hours=49)
    assert await refusal_of(bot.delete_message(CHANNEL, sent.message_id)) is Refusal.CANT_DELETE


async def test_no_text_to_edit(bot: Bot) -> None:
    sent = await bot.send_photo(CHANNEL, default_photo(), caption="a post")
    edit = bot.edit_message_text("x", chat_id=CHANNEL, message_id=sent.message_id)
    assert await refusal_of(edit) is Refusal.NO_TEXT


async def test_chat_gone(bot: Bot) -> None:
    assert await refusal_of(bot.send_message(UNKNOWN_CHAT, "hi")) is Refusal.CHAT_GONE


async def test_blocked(fake: FakeTelegram, bot: Bot) -> None:
    fake.block_bot(ALICE)
    assert await refusal_of(bot.send_message(ALICE, "hi")) is Refusal.BLOCKED


async def test_channel_rights(fake: FakeTelegram, bot: Bot) -> None:
    fake.set_bot_rights(CHANNEL, member=True, admin=False)
    assert await refusal_of(bot.send_message(CHANNEL, "hi")) is Refusal.NO_RIGHTS
    fake.set_bot_rights(CHANNEL, member=False)
    assert await refusal_of(bot.send_message(CHANNEL, "hi")) is Refusal.NOT_MEMBER


async def test_query_expired(bot: Bot) -> None:
    assert await refusal_of(bot.answer_callback_query("no-such-query")) is Refusal.QUERY_EXPIRED


async def test_cant_parse_and_other(bot: Bot) -> None:
    assert await refusal_of(bot.send_message(ALICE, "a < b", parse_mode="HTML")) is (
        Refusal.CANT_PARSE
    )
    assert await refusal_of(bot.send_message(ALICE, "")) is Refusal.OTHER


# --- the real Bot API's wording, through PTB's own handling of an error answer -----------------

REAL = [
    (
        400,
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message",
        Refusal.NOT_MODIFIED,
    ),
    (400, "Bad Request: message to edit not found", Refusal.MESSAGE_GONE),
    (400, "Bad Request: message to delete not found", Refusal.MESSAGE_GONE),
    (400, "Bad Request: message can't be deleted", Refusal.CANT_DELETE),
    (400, "Bad Request: message can't be deleted for everyone", Refusal.CANT_DELETE),
    (400, "Bad Request: there is no text in the message to edit", Refusal.NO_TEXT),
    (400, "Bad Request: chat not found", Refusal.CHAT_GONE),
    (403, "Forbidden: bot was blocked by the user", Refusal.BLOCKED),
    (403, "Forbidden: bot is not a member of the channel chat", Refusal.NOT_MEMBER),
    (403, "Forbidden: bot was kicked from the supergroup chat", Refusal.NOT_MEMBER),
    (403, "Forbidden: bot was kicked from the channel chat", Refusal.NOT_MEMBER),
    (400, "Bad Request: need administrator rights in the channel chat", Refusal.NO_RIGHTS),
    (400, "Bad Request: not enough rights to send text messages to the chat", Refusal.NO_RIGHTS),
    (
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
        Refusal.QUERY_EXPIRED,
    ),
    (
        400,
        'Bad Request: can\'t parse entities: Unsupported start tag "foo" at byte offset 0',
        Refusal.CANT_PARSE,
    ),
    # Words close to a case's that must not be taken for it.
    (400, "Bad Request: user not found", Refusal.OTHER),
    (400, "Bad Request: message to be replied not found", Refusal.OTHER),
    (400, "Bad Request: message can't be edited", Refusal.OTHER),
    (400, "Bad Request: message text is empty", Refusal.OTHER),
    (403, "Forbidden: user is deactivated", Refusal.OTHER),
    (400, "Bad Request: bot was blocked by the user", Refusal.OTHER),  # 403 only
]


class Answer(BaseRequest):
    """A transport that answers every call with one Bot API error."""

    def __init__(self, status: int, description: str) -> None:
        self.status = status
        self.body = json.dumps({"ok": False, "error_code": status, "description": description})

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = None,
        write_timeout: object = None,
        connect_timeout: object = None,
        pool_timeout: object = None,
    ) -> tuple[int, bytes]:
        return self.status, self.body.encode()


@pytest.mark.parametrize(("status", "description", "expected"), REAL)
async def test_real_bot_api_wording(status: int, description: str, expected: Refusal) -> None:
    request = Answer(status, description)
    bot = Bot("123:ABC", request=request, get_updates_request=request)
    assert await refusal_of(bot.send_message(ALICE, "hi")) is expected


def test_every_case_is_covered() -> None:
    """Each name the bot acts on has a real Bot API sentence above."""
    named: set[Refusal] = {expected for _, _, expected in REAL}
    assert named == set(Refusal)
