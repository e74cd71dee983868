"""Logging for the command line: one readable line per event, and never the bot's token.

python-telegram-bot logs, at DEBUG, the Bot API URL (``.../bot<token>/getUpdates``) and the
raw updates; exceptions can quote the URL too. A filter on the root handler rewrites every
record that reaches it (from any logger, at any level, traceback included): the configured
token, the webhook's secret, and anything shaped like a bot token become ``<token>``. The
filter never raises: a record whose arguments do not fit its message is written as its parts
(logging would otherwise print "--- Logging error ---" and the raw record to stderr, past the
filter).
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

    def add(self, secret: str) -> None:
        """Redact ``secret`` too from now on (one chosen at run time, like a webhook's)."""
        if secret and secret not in self.secrets:
            self.secrets.append(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the message and the traceback; always let the record through."""
        if record.levelno > logging.DEBUG and _quotes_updates(record):
            record.args = (WITHHELD,)
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the message (or a __str__ that raises)
            message = f"{_safe_str(record.msg)} {_safe_str(record.args)}"
            record.msg, record.args = message, None
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


#: The messages with which python-telegram-bot quotes whole updates (people's names and words)
#: at ERROR or CRITICAL, when it cannot read them: the data is withheld below DEBUG.
QUOTES_UPDATES = (
    "Error while parsing updates! Received data was",
    "Received data was *not* processed! Received data was:",
)
WITHHELD = "<withheld: updates hold people's names and words; see them at DEBUG>"


def _quotes_updates(record: logging.LogRecord) -> bool:
    return (
        isinstance(record.msg, str) and record.msg.startswith(QUOTES_UPDATES) and bool(record.args)
    )


def _safe_str(value: object) -> str:
    """``str(value)``, or its ``repr``, or its type's name: whatever does not raise."""
    for show in (str, repr):
        try:
            return show(value)
        except Exception:  # a hostile __str__ or __repr__
            continue
    return f"<{type(value).__name__}>"


def redact_also(secret: str) -> None:
    """Keep ``secret`` out of every log handler configured by ``configure_logging``."""
    for handler in logging.getLogger().handlers:
        for log_filter in handler.filters:
            if isinstance(log_filter, RedactTokens):
                log_filter.add(secret)


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
