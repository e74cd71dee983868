"""A strict fake Telegram Bot API: a test double, for the tests and ``livredor demo``.

It is not a Telegram server and reaches none. It implements the Bot API methods livredor
(and PTB under it) calls, answers them with Telegram's JSON, and refuses what Telegram
refuses, with Telegram's error code and description: HTML it cannot parse, texts over 4,096
UTF-16 units (captions over 1,024), bad ``callback_data``, edits that change nothing,
messages to users who blocked the bot, posts without channel rights, flood (429 with
``retry_after``), unknown or twice-answered callback queries, a wrong token, getUpdates
while a webhook is set. Photos: a user's photo carries its PhotoSize list, ``getFile`` names
its path and the file server (``/file/bot<token>/<path>``, in process and over HTTP) serves
its bytes; ``sendPhoto`` takes an upload or a file_id, its caption within 1,024, and
``editMessageMedia`` replaces a message's photo.
Unknown methods answer 404 and are listed in ``unknown_methods``.

Two ways to plug a bot in:

* in process: ``ApplicationBuilder().token(fake.token).request(FakeRequest(fake))
  .get_updates_request(FakeRequest(fake))``;
* over HTTP: ``server = await start_server(fake)``, then the bot with
  ``base_url=server.base_url`` (``LIVREDOR_API_BASE_URL``).

Tests then play the users and read what the bot did::

    fake = FakeTelegram(group_window=1.0)          # 20 messages a second, not a minute
    fake.add_user(1001, "Alice")                   # + her private chat, id 1001
    fake.add_group(-1001000000001, "Organisers", admins=[1001])
    fake.add_channel(-1001000000002, "Livre d'or", username="livredor")
    fake.user_sends(1001, "/start")                # queues a message update
    [welcome] = await fake.wait_for_messages(1001, 1)
    fake.buttons(1001)                             # [(text, callback_data), ...]
    query_id = fake.user_presses(1001, 1001, welcome["message_id"], "consent:yes")
    await fake.wait_for(lambda: query_id in fake.callback_answers)
    assert fake.unknown_methods == []

More: ``user_edits``, ``block_bot``, ``set_bot_rights``, ``set_member``,
``age_message``, ``hold``/``release``/``wait_held``, ``requests``/``calls``,
``pending_updates``, ``allowed_updates``, ``webhook_deliveries``. ``python -m bot.sandbox``
serves a fake by hand.
"""

from bot.sandbox.fake import FakeTelegram
from bot.sandbox.html_check import TelegramHTMLError, parse_entities, parse_telegram_html
from bot.sandbox.objects import (
    ALL_UPDATE_TYPES,
    DEFAULT_UPDATE_TYPES,
    ApiError,
    BotRights,
    RecordedRequest,
    UploadedFile,
    WebhookDelivery,
)
from bot.sandbox.request import FakeRequest
from bot.sandbox.server import FakeServer, start_server

__all__ = [
    "ALL_UPDATE_TYPES",
    "DEFAULT_UPDATE_TYPES",
    "ApiError",
    "BotRights",
    "FakeRequest",
    "FakeServer",
    "FakeTelegram",
    "RecordedRequest",
    "TelegramHTMLError",
    "UploadedFile",
    "WebhookDelivery",
    "parse_entities",
    "parse_telegram_html",
    "start_server",
]
