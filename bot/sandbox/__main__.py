"""``python -m bot.sandbox``: a fake Telegram on loopback HTTP, for running the bot by hand.

It has one user (Alice, an organiser), the organisers' supergroup and a channel. Lines typed
on stdin are sent as Alice; the bot's messages are printed as they arrive, with their buttons.
With ``--bot-outside`` the bot is in neither chat yet: Alice adds it (``:add group``...), to
try ``livredor setup`` by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading
from collections.abc import Sequence

from bot.sandbox.fake import FakeTelegram
from bot.sandbox.objects import buttons_of
from bot.sandbox.server import start_server

ALICE = 1001
GROUP = -1001000000001
CHANNEL = -1001000000002
CHANNEL_USERNAME = "livredor_demo"

HELP = """\
Type a line to send it as Alice in her private chat with the bot.
  :g <text>                          send it in the organisers' group instead
  :press <chat_id> <msg_id> <data>   press a button
  :add group | :add channel          Alice adds the bot (to the channel as an administrator)
  :admin group | :member group       Alice makes the bot an administrator of the group, or not
  :q                                 quit"""


def build_fake(token: str, *, bot_inside: bool = True) -> FakeTelegram:
    """The fake of the manual runs: Alice, her organisers' group, the channel (the bot an
    administrator of both, unless not ``bot_inside``)."""
    fake = FakeTelegram(token=token)
    fake.add_user(ALICE, "Alice", last_name="Martin", username="alice", language_code="fr")
    fake.add_group(GROUP, "Organisers", admins=[ALICE], with_bot=bot_inside)
    fake.add_channel(
        CHANNEL, "Livre d'or", username=CHANNEL_USERNAME, admins=[ALICE], with_bot=bot_inside
    )
    return fake


def _bot_command(fake: FakeTelegram, line: str) -> None:
    """:add group|channel, :admin group, :member group: Alice changes the bot's place."""
    command, _, where = line.partition(" ")
    chat_id = {"group": GROUP, "channel": CHANNEL}.get(where.strip())
    if chat_id is None:
        raise ValueError(f"{command} group or {command} channel")
    if command == ":add":
        fake.add_bot(chat_id, by=ALICE, admin=chat_id == CHANNEL)
    else:
        fake.set_bot_rights(chat_id, admin=command == ":admin", by=ALICE)


async def _print_bot_messages(fake: FakeTelegram) -> None:
    """Print every new, edited or deleted bot message."""
    seen: dict[tuple[int, int], tuple[int, bool]] = {}
    while True:
        for chat_id in (ALICE, GROUP, CHANNEL):
            for view in fake.messages(chat_id, include_deleted=True):
                key = (chat_id, int(view["message_id"]))
                state = (int(view["edit_count"]), bool(view["deleted"]))
                if seen.get(key) == state:
                    continue
                label = "new" if key not in seen else "deleted" if state[1] else "edited"
                seen[key] = state
                print(f"[{chat_id} #{key[1]} {label}] {view['text']}", flush=True)
                if view["document"]:
                    print(f"    (document {view['document']['filename']})")
                for text, data in buttons_of(view["reply_markup"]):
                    print(f"    [{text}] -> {data}")
        await fake.wait_change(3600)


def _stdin_lines(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
    """Feed stdin to the loop from a daemon thread (a blocked read must not stop Ctrl-C)."""
    for line in sys.stdin:
        loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
    loop.call_soon_threadsafe(queue.put_nowait, None)


async def _read_commands(fake: FakeTelegram) -> None:
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    threading.Thread(target=_stdin_lines, args=(loop, queue), daemon=True).start()
    while (line := await queue.get()) is not None:
        try:
            if line == ":q":
                return
            if line.startswith(":g "):
                fake.user_sends(ALICE, line[3:], chat_id=GROUP)
            elif line.split(" ", 1)[0] in (":add", ":admin", ":member"):
                _bot_command(fake, line)
            elif line.startswith(":press "):
                chat_id, message_id, data = line.split(maxsplit=3)[1:]
                fake.user_presses(ALICE, int(chat_id), int(message_id), data)
            elif line.strip():
                fake.user_sends(ALICE, line)
        except (ValueError, LookupError) as exc:
            print(f"!! {exc}", flush=True)
    await asyncio.Event().wait()  # stdin closed: keep serving until killed


async def serve(host: str, port: int, token: str, bot_inside: bool = True) -> None:
    fake = build_fake(token, bot_inside=bot_inside)
    server = await start_server(fake, host, port)
    print(f"Fake Telegram Bot API at {server.base_url}", flush=True)
    print(f"LIVREDOR_API_BASE_URL={server.base_url}")
    print(f"LIVREDOR_BOT_TOKEN={token}")
    print(f"LIVREDOR_ORGANISERS_CHAT_ID={GROUP}")
    print(f"LIVREDOR_CHANNEL_ID={CHANNEL}  (@{CHANNEL_USERNAME})")
    print(HELP, flush=True)
    printer = asyncio.create_task(_print_bot_messages(fake))
    try:
        await _read_commands(fake)
    finally:
        # Python 3.11's wait_for (under wait_change) can swallow a cancellation that
        # arrives as its wait ends (fixed in 3.12): cancel until the printer has stopped.
        while not printer.done():
            printer.cancel()
            await asyncio.wait([printer], timeout=0.1)
        await server.close()
        await fake.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", default="123456:TEST-TOKEN")
    parser.add_argument(
        "--bot-outside",
        action="store_true",
        help="the bot in no chat yet (to try `livredor setup`: :add group, :admin group...)",
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.token, not args.bot_outside))
    return 0


if __name__ == "__main__":
    sys.exit(main())
