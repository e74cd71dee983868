"""From ``git clone`` to a working bot, on the fake Telegram: how long the machine takes.

The path an organiser follows, with the README's commands, each timed:

1. ``git clone`` (of this checkout: no network here);
2. the install: the first ``bash deploy/run.sh --help`` creates .venv and installs livredor;
3. ``bash deploy/run.sh setup`` in a pseudo-terminal (pexpect), the organiser's answers typed
   as soon as each question shows, the bot added to the group and the channel in the fake at
   once (a person's reading and tapping are not in the figure);
4. ``bash deploy/run.sh check``;
5. ``bash deploy/run.sh`` (the bot runs, long polling) until it answers a first /start;
6. one attendee's testimonial, submitted, approved in the group and posted in the channel.

Baseline, in the same run: a warm ``bash deploy/run.sh --help`` (Python, the venv, the CLI's
imports), the floor of every command of the path. ``--quick`` borrows this checkout's .venv
instead of installing (the suite runs it that way, to see that the path still works).

Usage: .venv/bin/python -m tests.bench.clone_to_bot [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from bot.sandbox import FakeTelegram, start_server
from tests.bench.common import machine_banner, print_table
from tests.e2e.cli_process import REPO, approve, submit
from tests.e2e.terminal import Terminal
from tests.support import CHANNEL_ID, GROUP_ID, ORGANISER_ID, TOKEN

ATTENDEE = 7001


def _world() -> FakeTelegram:
    """An organiser, a group and a channel, the bot in neither; an attendee."""
    fake = FakeTelegram(token=TOKEN)
    fake.add_user(ORGANISER_ID, "Olga", last_name="Organiser", username="olga")
    fake.add_user(ATTENDEE, "Ada")
    fake.add_group(GROUP_ID, "Organisers", admins=[ORGANISER_ID], with_bot=False)
    fake.add_channel(CHANNEL_ID, "Livre d'or", username="livredor", with_bot=False)
    return fake


async def _timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Run a command to its end (the loop keeps serving the fake); its seconds."""
    start = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{output.decode(errors='replace')}")
    return time.monotonic() - start


async def _setup(fake: FakeTelegram, clone: Path, env: dict[str, str]) -> None:
    """The organiser's answers, typed as the questions show; the bot added at once."""
    term = Terminal(["bash", "deploy/run.sh", "setup"], clone, env, timeout=60)
    try:
        await term.answer("Token: ", TOKEN)
        await term.expect("Waiting for Telegram")
        fake.add_bot(GROUP_ID, by=ORGANISER_ID, admin=True)
        await term.answer("your organisers' group? [Y/n]", "y")
        await term.expect("Waiting for Telegram")
        fake.add_bot(CHANNEL_ID, by=ORGANISER_ID, admin=True)
        await term.answer("your channel? [Y/n]", "y")
        await term.answer("The event's name", "ROUMICS 2012")
        await term.answer("[en]: ", "en")
        await term.expect("Everything is ready")
        code = await term.end()
    finally:
        term.kill()
    if code != 0:
        raise SystemExit(f"setup failed ({code}):\n{term.output}")


async def measure(quick: bool) -> list[tuple[str, float]]:
    steps: list[tuple[str, float]] = []
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONUNBUFFERED": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CONFIG_FILE", "PIP_FIND_LINKS"):
        if name in os.environ:
            env[name] = os.environ[name]
    with tempfile.TemporaryDirectory(prefix="livredor-clone-") as folder:
        clone = Path(folder) / "livredor"
        env["HOME"] = folder
        clone_time = await _timed(["git", "clone", "-q", str(REPO), str(clone)], REPO, env)
        steps.append(("git clone", clone_time))
        if quick:
            # This checkout's programs, in a .venv of the clone's own that deploy/run.sh takes
            # as installed: it must never install into (and repoint) this checkout's .venv.
            (clone / ".venv").mkdir()
            (clone / ".venv" / "bin").symlink_to(REPO / ".venv" / "bin")
            shutil.copy(clone / "pyproject.toml", clone / ".venv" / ".installed-")
            env["PYTHONPATH"] = str(clone)
        help_ = ["bash", "deploy/run.sh", "--help"]
        steps.append(("install (first deploy/run.sh)", await _timed(help_, clone, env)))
        floor = await _timed(help_, clone, env)

        fake = _world()
        server = await start_server(fake)
        env["LIVREDOR_API_BASE_URL"] = server.base_url
        bot: asyncio.subprocess.Process | None = None
        try:
            start = time.monotonic()
            await _setup(fake, clone, env)
            steps.append(("setup", time.monotonic() - start))
            check = ["bash", "deploy/run.sh", "check"]
            steps.append(("check", await _timed(check, clone, env)))
            start = time.monotonic()
            bot = await asyncio.create_subprocess_exec(
                "bash",
                "deploy/run.sh",
                cwd=clone,
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
            await fake.wait_for(
                lambda: [r for r in fake.calls("getUpdates") if r.monotonic > start],
                60,
                what="the bot's long poll",
            )
            steps.append(("run, until the bot polls", time.monotonic() - start))
            start = time.monotonic()
            await submit(fake, ATTENDEE, name="Ada LOVELACE", quote="A wonderful day.")
            await approve(fake, timeout=30)
            steps.append(("a testimonial, approved and posted", time.monotonic() - start))
        finally:
            if bot is not None:
                os.killpg(bot.pid, signal.SIGTERM)
                await asyncio.wait_for(bot.wait(), 15)
            await server.close()
            await fake.aclose()
    steps.append(("baseline: a warm `bash deploy/run.sh --help`", floor))
    return steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="borrow this checkout's .venv")
    args = parser.parse_args()
    print(machine_banner("from git clone to a working bot, on the fake Telegram"))
    steps = asyncio.run(measure(args.quick))
    floor = steps[-1][1]
    path = steps[:-1]
    total = sum(seconds for _, seconds in path)
    rows = [(name, seconds, seconds / floor) for name, seconds in steps]
    rows.insert(len(path), ("total, clone to the first post", total, total / floor))
    print_table("Seconds (machine time)", ["step", "s", "x baseline"], rows)
    print(
        f"\nClone to a working bot: {total:.0f} s of machine time"
        f"{' (install borrowed: --quick)' if args.quick else ''}; the organiser's own minutes "
        "in Telegram (BotFather, adding the bot twice) come on top."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
