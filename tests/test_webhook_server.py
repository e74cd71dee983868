"""livredor's webhook server: Telegram's contract (403, 400, 500, 200), each body stored as sent."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from telegram import Bot, Update

from bot.services.inbox import DurableUpdateQueue
from bot.services.webhook import SECRET_HEADER, WebhookServer
from storage.inbox import Inbox
from tests.e2e.cli_process import free_port
from tests.support import open_new_database

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
    db = await open_new_database(tmp_path / "x.db")
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
    assert queue.commit_first  # Telegram waits for the 200: the commit goes first
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


async def raw_post(url: str, head: bytes, body: bytes) -> int:
    """POST with header lines and a body sent byte for byte (no client re-encodes them);
    return the HTTP status."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(
            b"POST " + parts.path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n"
            + head
            + b"Content-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        await writer.drain()
        status_line = await reader.readline()
    finally:
        writer.close()
    return int(status_line.split()[1])


def with_update_id(update_id: object) -> str:
    return json.dumps({**UPDATE, "update_id": update_id})


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"message": {}}',
        b"[1, 2]",
        with_update_id("7").encode(),  # a string is not an update id
        with_update_id(2**70).encode(),  # more than SQLite's INTEGER holds
        with_update_id(-1).encode(),
        with_update_id(True).encode(),
        json.dumps(UPDATE).encode()[:-3] + b"\xff\xfe}}",  # not UTF-8
    ],
    ids=["not-json", "no-id", "a-list", "id-string", "id-2**70", "id-negative", "id-bool", "utf8"],
)
async def test_a_body_that_is_not_an_update_is_a_400(
    served: tuple[str, DurableUpdateQueue], body: bytes
) -> None:
    # A 500 would make Telegram send it again forever; a 400 is Telegram's "not an update".
    url, queue = served
    secret = f"{SECRET_HEADER}: {SECRET}\r\n".encode()
    assert await raw_post(url, secret, body) == 400
    assert await queue.inbox.db.fetchall("SELECT * FROM inbox") == []
    assert queue.empty()


async def test_a_secret_header_that_is_not_utf8_is_a_403(
    served: tuple[str, DurableUpdateQueue],
) -> None:
    url, queue = served
    for garbled in (b"\xff\xfe" + SECRET.encode(), SECRET.encode()[:-1] + b"\xe9"):
        head = SECRET_HEADER.encode() + b": " + garbled + b"\r\n"
        assert await raw_post(url, head, json.dumps(UPDATE).encode()) == 403
    assert queue.empty()
    # The same raw request with the right secret is taken (the helper is not what refuses).
    head = f"{SECRET_HEADER}: {SECRET}\r\n".encode()
    assert await raw_post(url, head, json.dumps(UPDATE).encode()) == 200


async def test_an_update_the_inbox_cannot_commit_is_a_500(
    served: tuple[str, DurableUpdateQueue], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, queue = served

    async def broken(updates: Mapping[int, str], *, first: bool = False) -> set[int]:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(queue.inbox, "add_many", broken)
    assert await post(url, json.dumps(UPDATE), {**JSON_TYPE, SECRET_HEADER: SECRET}) == 500
    assert queue.empty()  # Telegram sends it again


async def test_a_kept_update_that_cannot_be_read_is_stepped_over_at_replay(tmp_path: Path) -> None:
    """A row an older livredor kept (or a damaged one) does not stop the start: it is
    marked unreadable and the others are replayed."""
    db = await open_new_database(tmp_path / "x.db")
    try:
        inbox = Inbox(db)
        unreadable = {"update_id": 8, "message": {"message_id": 1, "from": {"id": 5}}}
        await inbox.add(7, json.dumps(UPDATE))
        await inbox.add(8, json.dumps(unreadable))
        queue = DurableUpdateQueue(inbox)
        assert await queue.replay(Bot("123:abc")) == [7]
        assert [u.update_id for u in [queue.get_nowait()] if isinstance(u, Update)] == [7]
        [(update_id, why)] = await inbox.unreadable()
        assert (update_id == 8 and "KeyError" in why) or "TypeError" in why
        assert await inbox.count_unfinished() == 1  # 7, until it is handled
    finally:
        await db.close()
