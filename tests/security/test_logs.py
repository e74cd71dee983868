"""Logs (issue 11, item 10): the token never reaches the log, even at DEBUG; at INFO the
attendees' words and names stay out."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import pytest

from bot.cli.logs import RedactTokens
from tests.e2e.cli_process import TOKEN, CliProcess, approve, cli_env, fake_telegram, submit

ATTENDEE = 1001
QUOTE = "Marqueur-5e1d une journée formidable"


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
