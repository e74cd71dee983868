"""Every refusal the fake shares with Telegram: error code, description, and PTB's exception."""

from __future__ import annotations

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter

from bot.sandbox import FakeRequest, FakeTelegram
from bot.sandbox.limits import FloodControl
from tests.sandbox.conftest import ALICE, BOB, CHANNEL, GROUP, call, error_of

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup of "
    "the message are exactly the same as a current content and reply markup of the message"
)


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d) for d in data]])


# --- text and caption length ------------------------------------------------------------------


async def test_text_of_4096_utf16_units_passes_4097_is_refused(fake: FakeTelegram) -> None:
    status, body = await call(fake, "sendMessage", chat_id=ALICE, text="é" * 4096)
    assert status == 200 and body["result"]["text"] == "é" * 4096
    assert await error_of(fake, "sendMessage", chat_id=ALICE, text="é" * 4097) == (
        400,
        "Bad Request: message is too long",
    )


async def test_a_lone_surrogate_is_refused_as_telegram_refuses_invalid_utf8(
    fake: FakeTelegram,
) -> None:
    # JSON can carry "\ud800" alone; Telegram reads UTF-8 and refuses it (before any tag).
    for parse_mode in (None, "HTML"):
        assert await error_of(
            fake, "sendMessage", chat_id=ALICE, text="a\ud800 <b>x</b>", parse_mode=parse_mode
        ) == (400, "Bad Request: text must be encoded in UTF-8")


async def test_length_is_counted_in_utf16_after_entity_parsing(
    fake: FakeTelegram, bot: Bot
) -> None:
    # 2,048 emoji are 4,096 UTF-16 units: the limit exactly, tags do not count.
    await bot.send_message(ALICE, "<b>" + "😀" * 2048 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(ALICE, "😀" * 2048 + "!")
    assert await error_of(fake, "sendMessage", chat_id=ALICE, text="😀" * 2049) == (
        400,
        "Bad Request: message is too long",
    )


async def test_empty_text(fake: FakeTelegram, bot: Bot) -> None:
    assert await error_of(fake, "sendMessage", chat_id=ALICE, text="") == (
        400,
        "Bad Request: message text is empty",
    )
    # Only whitespace, or only tags, is empty too once Telegram has parsed and trimmed it.
    for text in (" \n ", "<b></b>"):
        status, description = await error_of(
            fake, "sendMessage", chat_id=ALICE, text=text, parse_mode="HTML"
        )
        assert (status, description) == (400, "Bad Request: message text is empty")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(ALICE, "   ")


async def test_caption_over_1024_is_refused(fake: FakeTelegram, bot: Bot) -> None:
    await bot.send_document(ALICE, b"x", filename="a.txt", caption="c" * 1024)
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_document(
            ALICE, b"x", filename="a.txt", caption="<i>" + "c" * 1025 + "</i>", parse_mode="HTML"
        )
    last = fake.calls("sendDocument")[-1]
    assert last.status == 400
    assert last.response == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message caption is too long",
    }


# --- HTML -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("Tom & Jerry", 'Unsupported HTML entity "& " at byte offset 4 (escape "&" as "&amp;")'),
    ],
)
async def test_html_telegram_refuses(fake: FakeTelegram, bot: Bot, text: str, detail: str) -> None:
    assert await error_of(fake, "sendMessage", chat_id=ALICE, text=text, parse_mode="HTML") == (
        400,
        f"Bad Request: can't parse entities: {detail}",
    )
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(ALICE, text, parse_mode="HTML")


async def test_html_is_parsed_into_text_and_entities(fake: FakeTelegram, bot: Bot) -> None:
    message = await bot.send_message(ALICE, "<b>Hi</b> &amp; bye", parse_mode="HTML")
    assert message.text == "Hi & bye"
    assert message.entities[0].type == "bold"
    view = fake.last_message(ALICE)
    assert view["text"] == "Hi & bye"
    assert view["html"] == "<b>Hi</b> &amp; bye"
    assert view["parse_mode"] == "HTML"


async def test_edit_is_checked_like_a_send(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(ALICE, "ok")
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.edit_message_text("<i>oops", ALICE, sent.message_id, parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.edit_message_text("x" * 4097, ALICE, sent.message_id)


# --- reply markup -----------------------------------------------------------------------------


async def test_callback_data_over_64_bytes(fake: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(ALICE, "ok", reply_markup=keyboard("x" * 64))
    # 33 "é" are 66 bytes in UTF-8 but only 33 characters.
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(ALICE, "no", reply_markup=keyboard("é" * 33))
    markup = {"inline_keyboard": [[{"text": "b", "callback_data": "y" * 65}]]}
    assert await error_of(fake, "sendMessage", chat_id=ALICE, text="t", reply_markup=markup) == (
        400,
        "Bad Request: BUTTON_DATA_INVALID",
    )


# --- edits and deletions ----------------------------------------------------------------------


async def test_edit_to_the_same_content_is_not_modified(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(
        ALICE, "<b>Card</b>", parse_mode="HTML", reply_markup=keyboard("a")
    )
    with pytest.raises(BadRequest, match="Message is not modified"):
        # Same text and entities, even written differently, and the same keyboard.
        await bot.edit_message_text(
            "<strong>Card</strong>",
            ALICE,
            sent.message_id,
            parse_mode="HTML",
            reply_markup=keyboard("a"),
        )
    assert fake.calls("editMessageText")[-1].response == {
        "ok": False,
        "error_code": 400,
        "description": NOT_MODIFIED,
    }
    # The plain text alone differs by its entities: that is a change.
    await bot.edit_message_text("Card", ALICE, sent.message_id, reply_markup=keyboard("a"))


async def test_edit_without_markup_drops_the_keyboard(fake: FakeTelegram, bot: Bot) -> None:
    """Telegram's behaviour, and a classic bug: the buttons vanish on a text edit."""
    sent = await bot.send_message(ALICE, "Card", reply_markup=keyboard("a"))
    await bot.edit_message_text("Card v2", ALICE, sent.message_id)
    assert fake.buttons(ALICE, sent.message_id) == []
    # Now text and (absent) keyboard are the same: not modified.
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("Card v2", ALICE, sent.message_id)


async def test_edit_reply_markup_not_modified(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(ALICE, "Card", reply_markup=keyboard("a"))
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(ALICE, sent.message_id, reply_markup=keyboard("a"))
    await bot.edit_message_reply_markup(ALICE, sent.message_id, reply_markup=None)
    assert fake.buttons(ALICE, sent.message_id) == []
    assert await error_of(
        fake, "editMessageReplyMarkup", chat_id=ALICE, message_id=sent.message_id
    ) == (400, NOT_MODIFIED)


async def test_edit_or_delete_a_missing_message(fake: FakeTelegram, bot: Bot) -> None:
    assert await error_of(fake, "editMessageText", chat_id=ALICE, message_id=99, text="x") == (
        400,
        "Bad Request: message to edit not found",
    )
    assert await error_of(fake, "deleteMessage", chat_id=ALICE, message_id=99) == (
        400,
        "Bad Request: message to delete not found",
    )
    sent = await bot.send_message(ALICE, "x")
    assert await bot.delete_message(ALICE, sent.message_id) is True
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(ALICE, sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("y", ALICE, sent.message_id)


async def test_delete_after_48_hours(fake: FakeTelegram, bot: Bot) -> None:
    old = await bot.send_message(ALICE, "old")
    recent = await bot.send_message(ALICE, "recent")
    fake.age_message(ALICE, old.message_id, hours=49)
    fake.age_message(ALICE, recent.message_id, hours=47)
    with pytest.raises(BadRequest, match="Message can't be deleted for everyone"):
        await bot.delete_message(ALICE, old.message_id)
    assert fake.calls("deleteMessage")[-1].response["description"] == (  # type: ignore[index]
        "Bad Request: message can't be deleted for everyone"
    )
    assert await bot.delete_message(ALICE, recent.message_id)
    assert [m["text"] for m in fake.messages(ALICE)] == ["old"]


# --- blocked users and rights -----------------------------------------------------------------


async def test_blocked_user(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(BOB, "hi")
    fake.block_bot(BOB)
    assert await error_of(fake, "sendMessage", chat_id=BOB, text="still there?") == (
        403,
        "Forbidden: bot was blocked by the user",
    )
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(BOB, "hello?")
    with pytest.raises(Forbidden):
        await bot.edit_message_text("edited", BOB, sent.message_id)
    with pytest.raises(Forbidden):
        await bot.send_document(BOB, b"x", filename="x.txt")
    member = await bot.get_chat_member(BOB, fake.bot_id)
    assert member.status == "kicked"
    fake.unblock_bot(BOB)
    await bot.send_message(BOB, "welcome back")


async def test_channel_rights(fake: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(CHANNEL, "posted")
    member = await bot.get_chat_member(CHANNEL, fake.bot_id)
    assert member.status == "administrator"
    assert member.can_post_messages is True  # type: ignore[attr-defined]

    fake.set_bot_rights(CHANNEL, can_post_messages=False)
    member = await bot.get_chat_member(CHANNEL, fake.bot_id)
    assert member.can_post_messages is False  # type: ignore[attr-defined]
    with pytest.raises(BadRequest, match="Need administrator rights in the channel chat"):
        await bot.send_message(CHANNEL, "no")

    fake.set_bot_rights(CHANNEL, admin=False)
    assert (await bot.get_chat_member(CHANNEL, fake.bot_id)).status == "member"
    assert await error_of(fake, "sendMessage", chat_id=CHANNEL, text="no") == (
        400,
        "Bad Request: need administrator rights in the channel chat",
    )

    fake.set_bot_rights(CHANNEL, member=False)
    assert (await bot.get_chat_member(CHANNEL, fake.bot_id)).status == "left"
    assert await error_of(fake, "sendMessage", chat_id=CHANNEL, text="no") == (
        403,
        "Forbidden: bot is not a member of the channel chat",
    )
    with pytest.raises(Forbidden, match="bot is not a member of the channel chat"):
        await bot.send_document(CHANNEL, b"x", filename="x.txt")

    fake.set_bot_rights(CHANNEL, admin=True, can_post_messages=True)
    await bot.send_message("@livredor_channel", "back, by username")
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["posted", "back, by username"]


# --- flood ------------------------------------------------------------------------------------


async def test_group_flood_limit() -> None:
    now = [1_000_000.0]
    fake = FakeTelegram(group_limit=3, group_window=0.5, clock=lambda: now[0])
    fake.add_group(GROUP, "Organisers")
    async with Bot(fake.token, request=FakeRequest(fake)) as b:
        for i in range(3):
            await b.send_message(GROUP, f"m{i}")
        with pytest.raises(RetryAfter):
            await b.send_message(GROUP, "one too many")
        refused = fake.calls("sendMessage")[-1]
        assert refused.status == 429
        assert refused.response == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        }
        # Edits count too, and refused requests do not.
        first = fake.messages(GROUP)[0]["message_id"]
        with pytest.raises(RetryAfter):
            await b.edit_message_text("edited", GROUP, first)
        assert len(fake.messages(GROUP)) == 3
        now[0] += 0.5  # the window frees
        await b.send_message(GROUP, "after the window")


async def test_group_flood_retry_after_is_whole_seconds() -> None:
    now = [1_000_000.0]
    fake = FakeTelegram(group_limit=20, group_window=60.0, clock=lambda: now[0])
    fake.add_channel(CHANNEL, "Livre d'or")
    for _ in range(20):
        assert (await call(fake, "sendMessage", chat_id=CHANNEL, text="post"))[0] == 200
        now[0] += 0.5
    # The oldest post was 10 s ago: 50 s to wait.
    status, body = await call(fake, "sendMessage", chat_id=CHANNEL, text="post")
    assert (status, body["parameters"]) == (429, {"retry_after": 50})
    assert body["description"] == "Too Many Requests: retry after 50"
    now[0] += 50
    assert (await call(fake, "sendMessage", chat_id=CHANNEL, text="post"))[0] == 200


async def test_private_chats_have_only_the_global_limit() -> None:
    fake = FakeTelegram(global_limit=5, global_window=0.5, group_limit=2)
    fake.add_user(ALICE, "Alice")
    for _ in range(5):
        assert (await call(fake, "sendMessage", chat_id=ALICE, text="x"))[0] == 200
    status, body = await call(fake, "sendMessage", chat_id=ALICE, text="x")
    assert status == 429 and body["parameters"]["retry_after"] == 1
    # Reading is not limited.
    assert (await call(fake, "getChat", chat_id=ALICE))[0] == 200


async def test_private_chat_flood_limit_when_set() -> None:
    now = [1_000_000.0]
    fake = FakeTelegram(private_limit=1, private_window=1.0, clock=lambda: now[0])
    fake.add_user(ALICE, "Alice")
    fake.add_user(BOB, "Bob")
    status, sent = await call(fake, "sendMessage", chat_id=ALICE, text="one")
    assert status == 200
    # A second message into the same private chat within the second: 429, whole seconds.
    status, body = await call(fake, "sendMessage", chat_id=ALICE, text="two")
    assert (status, body["parameters"]) == (429, {"retry_after": 1})
    # Edits count too; another private chat has its own window.
    message_id = sent["result"]["message_id"]
    status, _ = await call(
        fake, "editMessageText", chat_id=ALICE, message_id=message_id, text="edited"
    )
    assert status == 429
    assert (await call(fake, "sendMessage", chat_id=BOB, text="one"))[0] == 200
    now[0] += 1.0
    assert (await call(fake, "sendMessage", chat_id=ALICE, text="two"))[0] == 200
    assert [m["text"] for m in fake.messages(ALICE)] == ["one", "two"]


async def test_scaled_flood_control_shortens_every_window_alike() -> None:
    now = [1_000_000.0]
    # A factor of 4 keeps every window a binary fraction: the clock below adds up exactly.
    fake = FakeTelegram(flood=FloodControl.scaled(4), clock=lambda: now[0])
    flood = fake.flood
    assert (flood.group_limit, flood.group_window) == (20, 15.0)
    assert (flood.global_limit, flood.global_window) == (30, 0.25)
    assert (flood.private_limit, flood.private_window) == (1, 0.25)
    fake.add_user(ALICE, "Alice")
    fake.add_channel(CHANNEL, "Livre d'or")
    for _ in range(20):
        assert (await call(fake, "sendMessage", chat_id=CHANNEL, text="post"))[0] == 200
        now[0] += 0.5
    # 20 posts in 10 s of a 15-second window: the 21st waits 5 s.
    status, body = await call(fake, "sendMessage", chat_id=CHANNEL, text="post")
    assert (status, body["parameters"]) == (429, {"retry_after": 5})
    assert (await call(fake, "sendMessage", chat_id=ALICE, text="a"))[0] == 200
    assert (await call(fake, "sendMessage", chat_id=ALICE, text="b"))[0] == 429
    now[0] += 0.25  # one scaled second later
    assert (await call(fake, "sendMessage", chat_id=ALICE, text="b"))[0] == 200
    now[0] += 5.0
    assert (await call(fake, "sendMessage", chat_id=CHANNEL, text="post"))[0] == 200
    with pytest.raises(ValueError, match="positive"):
        FloodControl.scaled(0)


# --- callback queries -------------------------------------------------------------------------


async def test_answer_callback_query(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(ALICE, "Card", reply_markup=keyboard("approve"))
    query_id = fake.user_presses(ALICE, ALICE, sent.message_id, "approve")
    assert await bot.answer_callback_query(query_id, "Approved ✓", show_alert=True)
    assert fake.callback_answers[query_id]["text"] == "Approved ✓"
    assert fake.callback_answers[query_id]["show_alert"] is True

    too_old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id)
    assert await error_of(fake, "answerCallbackQuery", callback_query_id="nope") == (
        400,
        too_old,
    )


# --- tokens and unknown methods ---------------------------------------------------------------


async def test_wrong_token(fake: FakeTelegram) -> None:
    status, body = await fake.handle("999:WRONG", "getMe", {})
    assert (status, body["description"]) == (401, "Unauthorized")
    with pytest.raises(InvalidToken, match="rejected by the server"):
        await Bot("999:WRONG", request=FakeRequest(fake)).initialize()
    other = Bot("999:WRONG", request=FakeRequest(fake))
    with pytest.raises(InvalidToken, match="Unauthorized"):
        await other.send_message(ALICE, "x")


async def test_unknown_method_fails_loudly(
    fake: FakeTelegram, bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(InvalidToken, match="Not Found"):
        await bot.send_video(ALICE, b"\x00\x00\x00 ftypmp4")
    assert fake.unknown_methods == ["sendVideo"]
    assert "unknown Bot API method 'sendVideo'" in caplog.text
    fake.unknown_methods.clear()  # the fixture asserts it is empty


# --- smaller rules ----------------------------------------------------------------------------


async def test_a_document_has_no_text_to_edit(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_document(ALICE, b"x", filename="x.txt", caption="v1")
    with pytest.raises(BadRequest, match="There is no text in the message to edit"):
        await bot.edit_message_text("t", ALICE, sent.message_id)


async def test_channel_deletion_rights(fake: FakeTelegram, bot: Bot) -> None:
    post = await bot.send_message(CHANNEL, "post")
    fake.set_bot_rights(CHANNEL, can_post_messages=False, can_delete_messages=False)
    with pytest.raises(BadRequest, match="Message can't be deleted"):
        await bot.delete_message(CHANNEL, post.message_id)
    fake.set_bot_rights(CHANNEL, can_delete_messages=True)
    assert await bot.delete_message(CHANNEL, post.message_id)


async def test_callback_answer_text_limit(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(ALICE, "Card", reply_markup=keyboard("a"))
    query_id = fake.user_presses(ALICE, ALICE, sent.message_id, "a")
    with pytest.raises(BadRequest, match="Message_too_long"):
        await bot.answer_callback_query(query_id, "x" * 201)
    # The refused answer did not use the query up.
    assert await bot.answer_callback_query(query_id, "x" * 200)


async def test_markdown_is_not_silently_accepted(fake: FakeTelegram) -> None:
    """The fake checks HTML only: a Markdown parse mode must not pass unchecked."""
    status, description = await error_of(
        fake, "sendMessage", chat_id=ALICE, text="*x*", parse_mode="MarkdownV2"
    )
    assert status == 400 and "only checks parse_mode HTML" in description
