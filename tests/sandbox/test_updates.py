"""getUpdates as Telegram serves it: offset confirms, long polling, at-least-once."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot
from telegram.error import Conflict

from bot.sandbox import FakeTelegram
from tests.sandbox.conftest import ALICE, BOB, call, error_of
from tests.support import fast_forward


async def get_updates(fake: FakeTelegram, **params: object) -> list[dict[str, object]]:
    status, body = await call(fake, "getUpdates", **params)
    assert status == 200, body
    result: list[dict[str, object]] = body["result"]
    return result


async def test_updates_are_redelivered_until_confirmed(fake: FakeTelegram) -> None:
    fake.user_sends(ALICE, "one")
    fake.user_sends(BOB, "two")
    first = await get_updates(fake)
    again = await get_updates(fake)
    assert [u["update_id"] for u in first] == [u["update_id"] for u in again] == [1, 2]
    # offset = last id + 1 confirms both.
    assert await get_updates(fake, offset=3) == []
    assert fake.pending_updates == []


async def test_offset_confirms_only_lower_ids(fake: FakeTelegram) -> None:
    for text in ("a", "b", "c"):
        fake.user_sends(ALICE, text)
    updates = await get_updates(fake, offset=2)
    assert [u["message"]["text"] for u in updates] == ["b", "c"]  # type: ignore[index]
    assert [u["update_id"] for u in fake.pending_updates] == [2, 3]


def test_long_poll_returns_as_soon_as_an_update_arrives() -> None:
    async def main() -> tuple[list[dict[str, object]], float]:
        fake = FakeTelegram()
        fake.add_user(ALICE, "Alice")

        async def later() -> None:
            await asyncio.sleep(2)  # on the loop's fake clock
            fake.user_sends(ALICE, "hello")

        loop = asyncio.get_running_loop()
        started = loop.time()
        task = asyncio.create_task(later())
        updates = await get_updates(fake, timeout=50)
        await task
        return updates, loop.time() - started

    updates, waited = fast_forward(main)
    assert [u["message"]["text"] for u in updates] == ["hello"]  # type: ignore[index]
    assert waited == pytest.approx(2, abs=0.5)  # not the 50 s of its timeout


def test_long_poll_times_out_empty() -> None:
    async def main() -> tuple[list[dict[str, object]], float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        updates = await get_updates(FakeTelegram(), timeout=50)
        return updates, loop.time() - started

    updates, waited = fast_forward(main)
    assert updates == []
    assert waited == pytest.approx(50, abs=0.5)


async def test_a_second_poller_ends_the_first_with_409(fake: FakeTelegram) -> None:
    first = asyncio.create_task(call(fake, "getUpdates", timeout=5))
    await asyncio.sleep(0)  # one turn of the loop: the first poll is now waiting
    assert fake.requests[-1].method == "getUpdates" and fake.requests[-1].status is None
    second = asyncio.create_task(call(fake, "getUpdates", timeout=0))
    status, body = await first
    assert (status, body["description"]) == (
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot "
        "instance is running",
    )
    assert (await second)[0] == 200


async def test_allowed_updates_is_remembered_and_filters(fake: FakeTelegram) -> None:
    assert fake.allowed_updates is None
    await get_updates(fake, allowed_updates=["message"])
    assert fake.allowed_updates == ["message"]
    sent = await call(
        fake,
        "sendMessage",
        chat_id=ALICE,
        text="t",
        reply_markup={"inline_keyboard": [[{"text": "b", "callback_data": "d"}]]},
    )
    fake.user_presses(ALICE, ALICE, sent[1]["result"]["message_id"], "d")  # not asked for
    fake.user_sends(ALICE, "kept")
    # Not given: the previous setting stays.
    updates = await get_updates(fake)
    assert [next(k for k in u if k != "update_id") for u in updates] == ["message"]
    assert fake.allowed_updates == ["message"]


async def test_default_allowed_updates_exclude_chat_member(fake: FakeTelegram) -> None:
    fake.block_bot(ALICE)  # my_chat_member is in the default set
    updates = await get_updates(fake)
    assert "my_chat_member" in updates[0]
    member = updates[0]["my_chat_member"]
    assert member["new_chat_member"]["status"] == "kicked"  # type: ignore[index]


async def test_get_updates_while_a_webhook_is_set(fake: FakeTelegram, bot: Bot) -> None:
    assert await bot.set_webhook("http://127.0.0.1:9/hook")
    assert await error_of(fake, "getUpdates") == (
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
        "delete the webhook first",
    )
    with pytest.raises(Conflict):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_ptb_bot_gets_updates(fake: FakeTelegram, bot: Bot) -> None:
    fake.user_sends(ALICE, "/start abc")
    updates = await bot.get_updates(timeout=1)
    message = updates[0].message
    assert message is not None and message.text == "/start abc"
    assert message.entities[0].type == "bot_command"
    assert message.from_user is not None and message.from_user.username == "alice"
    await bot.get_updates(offset=updates[-1].update_id + 1)
    assert fake.pending_updates == []
