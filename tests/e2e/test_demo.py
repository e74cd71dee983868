"""``livredor demo``: the whole flow with no token, no internet and no settings, in seconds,
leaving nothing behind."""

from __future__ import annotations

import os
import re
import socket
import time
from pathlib import Path

from tests.e2e.cli_process import CliProcess

# As in every CLI environment of the tests (``cli_env``), so that the demo is forked from the
# same server as the others (one per set of interpreter-start variables): nothing livredor
# reads.
UNBUFFERED = {"PYTHONUNBUFFERED": "1"}


def _nothing_listens(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) != 0


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_demo_runs_with_a_clean_environment(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    # What a fresh machine has right after `pip install`: no LIVREDOR_*, no .env, no token.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "TMPDIR": str(temp)}
    env.update(UNBUFFERED)
    demo = CliProcess(work, "demo")
    started = time.monotonic()
    try:
        await demo.start("demo", env=env)
        code = await demo.wait(30.0)
    finally:
        await demo.kill()
    elapsed = time.monotonic() - started
    out = demo.stdout
    assert code == 0, demo.stderr
    assert elapsed < 20.0
    assert "Traceback" not in demo.stderr

    # The conversation, the card with its buttons and the decision, the post, the book.
    assert "👤 Ada: /start" in out
    assert "👤 Ada taps [Send]" in out
    assert "Thank you! Your testimonial is with the organisers." in out
    assert "📝 Testimonial #1 from Ada Lovelace" in out
    assert "[✅ Approve] [❌ Reject]" in out
    assert "👤 Olga taps [✅ Approve]" in out
    assert "✅ Approved by Olga Organiser" in out
    channel = out.split("The post in the channel @livredor_demo", 1)[1]
    assert channel.lstrip("━ \n").startswith("📣 Ada Lovelace\n   Analytical Engine Society")
    assert "published: https://t.me/livredor_demo/1" in out
    book = out.split("━━━ 5.", 1)[1]
    assert "# Livre d’or" in book and "## Demo Day" in book
    assert "**Ada Lovelace**" in book
    assert "see you next year" in book

    # Nothing left: no process of its group, nothing on its port, no temporary files.
    assert _group_gone(demo.pid)
    port = re.search(r"fake Telegram on 127\.0\.0\.1:(\d+)", out)
    assert port is not None
    assert _nothing_listens(int(port.group(1)))
    assert _listing(temp) == []
    assert _listing(work) == ["demo.stderr", "demo.stdout"]


async def test_demo_quiet_prints_only_the_book(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), **UNBUFFERED}
    demo = CliProcess(tmp_path, "demo")
    try:
        await demo.start("demo", "--quiet", env=env)
        assert await demo.wait(30.0) == 0, demo.stderr
    finally:
        await demo.kill()
    assert demo.stdout.startswith("# Livre d’or\n\n## Demo Day\n\n**Ada Lovelace**")
    assert "👤" not in demo.stdout
