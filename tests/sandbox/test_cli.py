"""``python -m bot.sandbox``: serves a fake with a group and a channel until ``:q``."""

from __future__ import annotations

import asyncio
import sys

import aiohttp

from bot.sandbox.__main__ import CHANNEL, GROUP


async def test_cli_serves_and_quits() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.sandbox",
        "--port",
        "0",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        first = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        base_url = first.rsplit(" ", 1)[-1].strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/bot")
        url = f"{base_url}123456:TEST-TOKEN"
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{url}/getChat", json={"chat_id": GROUP}) as response:
                assert (await response.json())["result"]["type"] == "supergroup"
            async with session.post(
                f"{url}/sendMessage", json={"chat_id": CHANNEL, "text": "Hello, followers"}
            ) as response:
                assert response.status == 200
        output = b""
        while b"Hello, followers" not in output:
            output += await asyncio.wait_for(process.stdout.readline(), 10)
        process.stdin.write(b":q\n")
        await process.stdin.drain()
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_the_bot_outside_is_added_by_hand() -> None:
    """``--bot-outside``: the bot is in no chat; ``:add group`` and ``:admin group`` send the
    my_chat_member updates `livredor setup` reads."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.sandbox",
        "--port",
        "0",
        "--bot-outside",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        first = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        url = first.rsplit(" ", 1)[-1].strip() + "123456:TEST-TOKEN"
        process.stdin.write(b":add group\n:admin group\n")
        await process.stdin.drain()
        changes: list[tuple[str, str]] = []
        async with aiohttp.ClientSession() as session:
            while len(changes) < 2:
                async with session.post(
                    f"{url}/getUpdates",
                    json={"timeout": 5, "allowed_updates": ["my_chat_member"]},
                ) as response:
                    updates = (await response.json())["result"]
                changes = [
                    (
                        u["my_chat_member"]["old_chat_member"]["status"],
                        u["my_chat_member"]["new_chat_member"]["status"],
                    )
                    for u in updates
                    if "my_chat_member" in u and u["my_chat_member"]["chat"]["id"] == GROUP
                ]
        assert changes == [("left", "member"), ("member", "administrator")]
        process.stdin.write(b":q\n")
        await process.stdin.drain()
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
