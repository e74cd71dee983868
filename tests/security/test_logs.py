"""Logs (issue 11, item 10): the token never reaches the log, even at DEBUG; at INFO the
attendees' words and names stay out."""

from __future__ import annotations

import io
import logging
import signal
from pathlib import Path

import aiohttp
import pytest

from bot.cli.logs import RedactTokens
from tests.e2e.cli_process import (
    TOKEN,
    CliProcess,
    approve,
    cli_env,
    fake_telegram,
    free_port,
    submit,
)

ATTENDEE = 1001
QUOTE = "Marqueur-5e1d une journée formidable"
WEBHOOK_SECRET = "w3bhook-secret_Kq7vX2pL9mR4tY8uB1nC5eZ0aD6fH3jS"


@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
async def test_the_real_process_never_logs_the_token(tmp_path: Path, level: str) -> None:
    bot = CliProcess(tmp_path, "run")
    async with fake_telegram() as (fake, server):
        fake.add_user(ATTENDEE, "Zoé", last_name="Attendee-Surname-x9", username="zoe_x9")
        try:
            env = cli_env(server, tmp_path / "livredor.db", log_level=level)
            await bot.start("run", env=env)
            await bot.wait_log("receiving updates by long polling")
            await submit(fake, ATTENDEE, quote=QUOTE)
            await approve(fake)
            await bot.wait_log("published")
            bot.signal(signal.SIGTERM)
            assert await bot.wait(10.0) == 0
        finally:
            await bot.kill()
    log = bot.stderr
    assert "stopped; database closed" in log
    assert TOKEN not in log and TOKEN.split(":", 1)[1] not in log
    if level == "INFO":
        for private in ("Marqueur-5e1d", "Attendee-Surname-x9", "zoe_x9"):
            assert private not in log, private


def test_the_filter_cleans_messages_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("livredor.test.redact")
    handler = logging.StreamHandler()
    redact = RedactTokens([TOKEN])
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    keep = Keep()
    keep.addFilter(redact)
    logger.addHandler(keep)
    try:
        logger.warning("calling %s", f"https://api.telegram.org/bot{TOKEN}/getMe")
        logger.warning("another bot 987654321:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789")
        try:
            raise RuntimeError(f"bad url /bot{TOKEN}/x")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(keep)
    text = "\n".join(records)
    assert TOKEN not in text and "ABCdefGHI" not in text
    assert text.count("<token>") == 3 and "RuntimeError" in text
    del handler


def test_the_filter_never_raises_on_an_odd_record(capsys: pytest.CaptureFixture[str]) -> None:
    """A record whose arguments do not fit (a library's bug, or ours) is still written, still
    redacted, and logging prints no "--- Logging error ---" to stderr past the filter."""

    class Hostile:
        def __str__(self) -> str:
            raise ValueError("no")

        def __repr__(self) -> str:
            raise ValueError("no")

    logger = logging.getLogger("livredor.test.odd")
    logger.propagate = False
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactTokens([TOKEN]))
    logger.addHandler(handler)
    try:
        logger.warning("two %s %s", f"/bot{TOKEN}/x")  # one argument short: TypeError
        logger.warning("%d items", "many")  # the wrong type
        logger.warning(Hostile())  # a message that cannot be shown
        logger.warning("after: %s", "still logging")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "Logging error" not in capsys.readouterr().err
    assert TOKEN not in written and "<token>" in written
    assert "%d items ('many',)" in written and "<Hostile>" in written
    assert written.endswith("after: still logging\n")


@pytest.mark.parametrize("configured", [True, False], ids=["set-secret", "generated-secret"])
async def test_the_webhook_secret_never_reaches_the_debug_log(
    tmp_path: Path, configured: bool
) -> None:
    port = free_port()
    settings = {"webhook_url": f"http://127.0.0.1:{port}/hook", "webhook_port": str(port)}
    if configured:
        settings["webhook_secret"] = WEBHOOK_SECRET
    bot = CliProcess(tmp_path, "run")
    async with fake_telegram() as (fake, server):
        env = cli_env(
            server,
            tmp_path / "livredor.db",
            log_level="DEBUG",
            webhook_listen="127.0.0.1",
            **settings,
        )
        try:
            await bot.start("run", env=env)
            await bot.wait_log("receiving updates by webhook")
            [call] = fake.calls("setWebhook")
            secret = str(call.params["secret_token"])
            bot.signal(signal.SIGTERM)
            assert await bot.wait(10.0) == 0
        finally:
            await bot.kill()
    assert (secret == WEBHOOK_SECRET) is configured
    log = bot.stderr
    assert "setWebhook" in log  # PTB did log the call's parameters at DEBUG
    assert secret not in log and TOKEN not in log


async def test_the_wall_key_never_reaches_the_debug_log(tmp_path: Path) -> None:
    """Issue 22, item 5: no secret at any level: the wall's key either, though every
    screen asks for the page with it in the address."""
    key = "wall-key_Zq81xKp2"
    port = free_port()
    bot = CliProcess(tmp_path, "run")
    async with fake_telegram() as (_fake, server):
        env = cli_env(
            server,
            tmp_path / "livredor.db",
            log_level="DEBUG",
            wall_port=str(port),
            wall_listen="127.0.0.1",
            wall_key=key,
        )
        try:
            await bot.start("run", env=env)
            await bot.wait_log("receiving updates by long polling")
            async with aiohttp.ClientSession() as session:
                for path in (f"/?key={key}", f"/wall.json?key={key}", "/?key=wrong"):
                    async with session.get(f"http://127.0.0.1:{port}{path}") as response:
                        await response.read()
            bot.signal(signal.SIGTERM)
            assert await bot.wait(10.0) == 0
        finally:
            await bot.kill()
    assert key not in bot.stderr and TOKEN not in bot.stderr
