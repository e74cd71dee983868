"""Logging for the command line: one readable line per event, and never the bot's token.

python-telegram-bot logs, at DEBUG, the Bot API URL (``.../bot<token>/getUpdates``) and the
raw updates; exceptions can quote the URL too. A filter on the root handler rewrites every
record that reaches it (from any logger, at any level, traceback included): the configured
token and anything shaped like a bot token become ``<token>``.
"""

from __future__ import annotations

import logging
import re
import sys

# What @BotFather hands out: the bot's numeric id, a colon, 35 URL-safe characters.
TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
REDACTED = "<token>"


class RedactTokens(logging.Filter):
    """Replace the token (and any token-shaped text) in a record before it is written."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return TOKEN_SHAPE.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the message and the traceback; always let the record through."""
        message = record.getMessage()
        cleaned = self._clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self._clean(text)
            record.exc_info = None
            record.msg = f"{record.msg}\n{record.exc_text}"
            record.exc_text = None
        if record.stack_info:
            record.stack_info = self._clean(record.stack_info)
        return True


def configure_logging(level: str, secrets: list[str] | None = None) -> None:
    """Log to stderr at ``level`` through a handler that never writes the token. The HTTP
    client's own lines stay at WARNING (they repeat every request URL)."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    redact = RedactTokens(secrets or [])
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
