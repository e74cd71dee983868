"""The API tests drive the fake with: users, chats, reading, waiting, holding."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.sandbox import FakeTelegram
from tests.sandbox.conftest import ALICE, BOB, CHANNEL, GROUP, call


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d.title(), callback_data=d) for d in data]])


def only_update(fake: FakeTelegram) -> Update:
    assert len(fake.pending_updates) == 1, fake.pending_updates
    update = Update.de_json(fake.pending_updates[0], None)
    assert update is not None
    return update


def test_commands_get_a_bot_command_entity(fake: FakeTelegram) -> None:
    message = fake.user_sends(ALICE, "/start ref-42")
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert fake.user_sends(ALICE, "no command")["text"] == "no command"
    assert "entities" not in fake.user_sends(ALICE, "plain")


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("sticker", "sticker"),
        ("photo", "photo"),
        ("voice", "voice"),
        ("location", "location"),
        ("contact", "contact"),
        ("document", "document"),
        ("video", "video"),
        ("animation", "animation"),
        ("audio", "audio"),
        ("video_note", "video_note"),
        ("poll", "poll"),
        ("dice", "dice"),
    ],
)
def test_message_kinds_parse_in_ptb(fake: FakeTelegram, kind: str, field: str) -> None:
    fake.user_sends(ALICE, "a caption" if kind in ("photo", "document") else None, kind=kind)
    message = only_update(fake).message
    assert message is not None
    assert getattr(message, field)
    assert message.text is None
    if kind in ("photo", "document"):
        assert message.caption == "a caption"


async def test_reply_to_carries_the_full_message(fake: FakeTelegram, bot: Bot) -> None:
    question = await bot.send_message(ALICE, "Your name?")
    fake.user_sends(ALICE, "Alice", reply_to=question.message_id)
    message = only_update(fake).message
    assert message is not None and message.reply_to_message is not None
    assert message.reply_to_message.text == "Your name?"
    assert message.reply_to_message.from_user is not None
    assert message.reply_to_message.from_user.id == fake.bot_id


def test_user_edits(fake: FakeTelegram) -> None:
    sent = fake.user_sends(ALICE, "Alise")
    fake.confirm_updates(100)
    fake.user_edits(ALICE, sent["message_id"], "Alice")
    update = only_update(fake)
    assert update.edited_message is not None
    assert update.edited_message.text == "Alice"
    assert update.edited_message.edit_date is not None
    with pytest.raises(ValueError, match="not sent by user"):
        fake.user_edits(BOB, sent["message_id"], "x", chat_id=ALICE)


async def test_user_presses_a_real_button(fake: FakeTelegram, bot: Bot) -> None:
    card = await bot.send_message(GROUP, "Card", reply_markup=keyboard("approve", "reject"))
    assert fake.buttons(GROUP, card.message_id) == [("Approve", "approve"), ("Reject", "reject")]
    assert fake.buttons(GROUP) == fake.buttons(GROUP, card.message_id)
    query_id = fake.user_presses(ALICE, GROUP, card.message_id, "approve")
    update = only_update(fake)
    query = update.callback_query
    assert query is not None
    assert query.id == query_id and query.data == "approve" and query.from_user.id == ALICE
    assert isinstance(query.message, Message) and query.message.text == "Card"
    assert query.chat_instance


async def test_pressing_a_button_that_is_not_there(fake: FakeTelegram, bot: Bot) -> None:
    card = await bot.send_message(GROUP, "Card", reply_markup=keyboard("approve"))
    with pytest.raises(LookupError, match="no button with callback_data 'publish'"):
        fake.user_presses(ALICE, GROUP, card.message_id, "publish")
    with pytest.raises(LookupError):
        fake.user_presses(ALICE, GROUP, 999, "approve")
    # Forged: delivered anyway, even for a message that is gone.
    fake.user_presses(BOB, GROUP, card.message_id, "publish", forge=True)
    fake.user_presses(BOB, GROUP, 999, "approve", forge=True)
    assert len(fake.pending_updates) == 2


async def test_messages_view(fake: FakeTelegram, bot: Bot) -> None:
    first = await bot.send_message(
        ALICE, "<b>One</b>", parse_mode="HTML", reply_markup=keyboard("a")
    )
    await bot.send_message(ALICE, "Two")
    fake.user_sends(ALICE, "from Alice")
    await bot.edit_message_text("One, edited", ALICE, first.message_id)
    views = fake.messages(ALICE)
    assert [v["text"] for v in views] == ["One, edited", "Two"]
    assert views[0]["edit_count"] == 1 and views[0]["reply_markup"] is None
    assert views[0]["json"]["edit_date"]
    assert [v["text"] for v in fake.messages(ALICE, include_users=True)] == [
        "One, edited",
        "Two",
        "from Alice",
    ]
    await bot.delete_message(ALICE, first.message_id)
    assert [v["text"] for v in fake.messages(ALICE)] == ["Two"]
    assert fake.message(ALICE, first.message_id)["deleted"] is True
    assert fake.last_message(ALICE)["text"] == "Two"
    with pytest.raises(LookupError):
        fake.last_message(BOB)


async def test_privacy_mode_in_groups(fake: FakeTelegram, bot: Bot) -> None:
    fake.set_bot_rights(GROUP, admin=False)
    fake.confirm_updates(100)
    fake.user_sends(BOB, "chatting among ourselves", chat_id=GROUP)
    assert fake.pending_updates == []
    fake.user_sends(BOB, "/pending", chat_id=GROUP)
    fake.user_sends(BOB, "/pending@other_bot", chat_id=GROUP)
    fake.user_sends(BOB, "hey @livredor_test_bot", chat_id=GROUP)
    question = await bot.send_message(GROUP, "Why reject?")
    fake.user_sends(ALICE, "Off topic", chat_id=GROUP, reply_to=question.message_id)
    texts = [u["message"]["text"] for u in fake.pending_updates]
    assert texts == ["/pending", "hey @livredor_test_bot", "Off topic"]
    # All messages are in the chat, delivered or not.
    assert len(fake.messages(GROUP, include_users=True)) == 6


async def test_members_and_admins(fake: FakeTelegram, bot: Bot) -> None:
    assert (await bot.get_chat_member(GROUP, ALICE)).status == "administrator"
    assert (await bot.get_chat_member(GROUP, BOB)).status == "member"
    admins = await bot.get_chat_administrators(GROUP)
    assert {a.user.id for a in admins} == {ALICE, fake.bot_id}
    fake.set_member(GROUP, ALICE, "left")
    assert (await bot.get_chat_member(GROUP, ALICE)).status == "left"
    fake.set_member(GROUP, BOB, "creator")
    assert (await bot.get_chat_member(GROUP, BOB)).status == "creator"
    status, body = await call(fake, "getChatMember", chat_id=GROUP, user_id=5555)
    assert (status, body["description"]) == (400, "Bad Request: user not found")


async def test_rights_changes_send_my_chat_member(fake: FakeTelegram) -> None:
    fake.set_bot_rights(CHANNEL, can_post_messages=False)
    update = only_update(fake)
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.can_post_messages is False  # type: ignore[attr-defined]


async def test_wait_for_messages(fake: FakeTelegram, bot: Bot) -> None:
    waiting = asyncio.create_task(fake.wait_for_messages(ALICE, 2, timeout=2))
    await asyncio.sleep(0)  # one turn of the loop: it is waiting
    await bot.send_message(ALICE, "one")
    assert not waiting.done()
    await bot.send_message(ALICE, "two")
    assert [m["text"] for m in await waiting] == ["one", "two"]


async def test_wait_for_times_out_with_a_report(fake: FakeTelegram, bot: Bot) -> None:
    await call(fake, "sendMessage", chat_id=ALICE, text="<b>", parse_mode="HTML")
    with pytest.raises(TimeoutError) as caught:
        await fake.wait_for_messages(ALICE, 1, timeout=0.1)
    report = str(caught.value)
    assert "1 bot message(s) in chat 1001" in report
    assert "sendMessage -> 400 Bad Request: can't parse entities" in report


async def test_hold_and_release(fake: FakeTelegram, bot: Bot) -> None:
    fake.hold("sendMessage", chat_id=CHANNEL)
    task = asyncio.create_task(bot.send_message(CHANNEL, "Testimonial"))
    [held] = await fake.wait_held()
    # Telegram has posted it, the bot has not heard back.
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["Testimonial"]
    assert held.status == 200 and not task.done()
    # Other chats are not held.
    await bot.send_message(ALICE, "not held")
    fake.release()
    message = await task
    assert message.text == "Testimonial"
    assert fake.held == []


async def test_held_answer_times_out_in_ptb(fake: FakeTelegram) -> None:
    from telegram.error import TimedOut

    from bot.sandbox import FakeRequest

    fake.hold("sendMessage")
    async with Bot(fake.token, request=FakeRequest(fake, read_timeout=0.2)) as b:
        with pytest.raises(TimedOut):
            await b.send_message(ALICE, "lost answer")
    assert [m["text"] for m in fake.messages(ALICE)] == ["lost answer"]


async def test_commands(fake: FakeTelegram, bot: Bot) -> None:
    from telegram import BotCommand, BotCommandScopeChat

    assert await bot.set_my_commands([BotCommand("start", "Begin"), BotCommand("help", "Help")])
    assert await bot.set_my_commands(
        [BotCommand("pending", "Waiting")], scope=BotCommandScopeChat(GROUP)
    )
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert [c["command"] for c in fake.my_commands({"type": "chat", "chat_id": GROUP})] == [
        "pending"
    ]
    # Deleting a chat's list leaves the others.
    assert await bot.delete_my_commands(scope=BotCommandScopeChat(GROUP))
    assert fake.my_commands({"type": "chat", "chat_id": GROUP}) == []
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    status, body = await call(
        fake, "setMyCommands", commands=[{"command": "Bad-Name", "description": "x"}]
    )
    assert (status, body["description"]) == (400, "Bad Request: BOT_COMMAND_INVALID")


async def test_wait_for_treats_lookup_errors_as_not_yet(fake: FakeTelegram, bot: Bot) -> None:
    # No message to BOB yet: last_message raises LookupError, which means "not yet".
    waiting = asyncio.create_task(fake.wait_for(lambda: fake.last_message(BOB)["text"], 2))
    await asyncio.sleep(0)
    assert not waiting.done()
    await bot.send_message(BOB, "first")
    assert await waiting == "first"
    with pytest.raises(TimeoutError, match="last raised KeyError"):
        await fake.wait_for(lambda: fake.messages(4242), 0.05)
