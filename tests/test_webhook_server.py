"""livredor's webhook server: Telegram's contract (403, 400, 500, 200), each body stored as sent."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from telegram import Bot, Update

from bot.services.inbox import DurableUpdateQueue
from bot.services.webhook import SECRET_HEADER, WebhookServer
from storage.database import Database
from storage.inbox import Inbox
from tests.e2e.cli_process import free_port

SECRET = "s3cret-token_for-the-webhook-0123456789"
UPDATE = {
    "update_id": 7,
    "message": {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": 5, "type": "private", "first_name": "Ada"},
        "from": {"id": 5, "is_bot": False, "first_name": "Ada"},
        "text": "« ☺ »  <b>",
    },
}
JSON_TYPE = {"Content-Type": "application/json"}


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, DurableUpdateQueue]]:
    db = await Database.open(tmp_path / "x.db")
    queue = DurableUpdateQueue(Inbox(db))
    server = WebhookServer(Bot("123:abc"), queue, "/hook", SECRET)
    port = free_port()
    await server.start("127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{port}/hook", queue
    finally:
        await server.stop()
        await db.close()


async def post(url: str, body: str, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body.encode(), headers=headers) as response,
    ):
        return response.status


async def test_an_update_is_committed_as_sent_before_the_200(
    served: tuple[str, DurableUpdateQueue],
) -> None:
    url, queue = served
    # Spaces and non-ASCII as Telegram may send them: the body is stored byte for byte.
    body = json.dumps(UPDATE, indent=1)
    assert await post(url, body, {**JSON_TYPE, SECRET_HEADER: SECRET}) == 200
    rows = await queue.inbox.db.fetchall("SELECT update_id, payload FROM inbox")
    assert [(r[0], r[1]) for r in rows] == [(7, body)]
    queued = queue.get_nowait()
    assert isinstance(queued, Update) and queued.message is not None
    assert queued.message.text == "« ☺ »  <b>"
    # Telegram delivering it again: 200, not queued twice.
    assert await post(url, body, {**JSON_TYPE, SECRET_HEADER: SECRET}) == 200
    assert queue.empty()


@pytest.mark.parametrize(
    "headers",
    [
        JSON_TYPE,
        {**JSON_TYPE, SECRET_HEADER: ""},
        {**JSON_TYPE, SECRET_HEADER: "wrong-" + SECRET},
        {"Content-Type": "text/plain", SECRET_HEADER: SECRET},
    ],
)
async def test_without_the_secret_or_json_it_is_refused(
    served: tuple[str, DurableUpdateQueue], headers: dict[str, str]
) -> None:
    url, queue = served
    assert await post(url, json.dumps(UPDATE), headers) == 403
    assert await queue.inbox.db.fetchall("SELECT * FROM inbox") == []
    assert queue.empty()


async def test_a_body_that_is_not_an_update_is_a_400(
    served: tuple[str, DurableUpdateQueue],
) -> None:
    url, queue = served
    for body in ("{not json", '{"message": {}}'):
        assert await post(url, body, {**JSON_TYPE, SECRET_HEADER: SECRET}) == 400
    assert queue.empty()


async def test_an_update_the_inbox_cannot_commit_is_a_500(
    served: tuple[str, DurableUpdateQueue], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, queue = served

    async def broken(update_id: int, payload: str) -> bool:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(queue.inbox, "add", broken)
    assert await post(url, json.dumps(UPDATE), {**JSON_TYPE, SECRET_HEADER: SECRET}) == 500
    assert queue.empty()  # Telegram sends it again
