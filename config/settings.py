"""Settings from the environment (prefix ``LIVREDOR_``) and an optional ``.env`` file.

``load_settings()`` is called once, by the CLI; everything else receives the object.
Errors are reported as one plain line per variable, never echoing the value (a malformed
token must not end up in a terminal scroll-back or a CI log).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from telegram.constants import WebhookLimit

ENV_PREFIX = "LIVREDOR_"

# What each setting expects, in words: used instead of pydantic's messages, which can
# quote the rejected input.
EXPECTED: dict[str, str] = {
    "bot_token": "the token @BotFather gave you, like 123456789:AAE-your-token",
    "bot_token_file": "a path to a file holding the token (a Docker secret)",
    "organisers_chat_id": "the organisers' group id, a negative integer like -1001234567890",
    "channel_id": "the channel, a negative integer like -1001234567890 or @channelname",
    "database": "a path to the SQLite file",
    "api_base_url": "an http(s) URL ending in /bot, like https://api.telegram.org/bot",
    "event_name": "any text",
    "event_hashtag": "a hashtag of letters, digits or _ (with or without #)",
    "default_language": "en or fr",
    "admin_ids": "comma-separated Telegram user ids, like 111,222",
    "texts": "the path of an existing TOML file",
    "sessions": "the path of an existing TOML file of [[session]] tables (see docs/organisers.md)",
    "quote_max_chars": "a whole number from 100 to 100000",
    "max_pending": "a whole number from 1 to 100",
    "approvals": "a whole number from 1 to 10 (how many organisers approve each testimonial)",
    "edits_need_author": "true or false",
    "group_messages_per_minute": "a whole number from 1 to 1000",
    "group_rate_period_seconds": "a number of seconds from 0.1 to 3600",
    "messages_per_second": "a whole number from 1 to 1000",
    "review_backlog": "a whole number from 0 (always a card) to 10000",
    "review_remind_minutes": "a whole number of minutes from 0 (no reminder) to 1440",
    "review_undo_seconds": "a whole number of seconds from 1 to 600",
    "global_rate_period_seconds": "a number of seconds from 0.01 to 60",
    "private_messages_per_second": "a whole number from 1 to 1000",
    "private_rate_period_seconds": "a number of seconds from 0.01 to 60",
    "webhook_url": "the public https URL Telegram should call",
    "webhook_listen": "an address to listen on, like 127.0.0.1 (or 0.0.0.0 in a container)",
    "webhook_port": "a port number from 1 to 65535",
    "webhook_secret": "at least 32 characters among A-Z a-z 0-9 _ -",
    "wall_port": "a port number from 1 to 65535 (empty: no wall in `livredor run`)",
    "wall_listen": "an address to listen on, like 0.0.0.0 or 127.0.0.1",
    "wall_key": "8 to 256 characters among A-Z a-z 0-9 _ -",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
}

_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
# At least 32 (ours, for a generated or chosen secret), at most Telegram's 256.
_SECRET_RE = re.compile(rf"^[A-Za-z0-9_-]{{32,{WebhookLimit.MAX_SECRET_TOKEN_LENGTH}}}$")
_WALL_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,256}$")


def is_token_shaped(text: str) -> bool:
    """Does ``text`` look like a token from @BotFather (digits, a colon, then letters)?"""
    return bool(_TOKEN_RE.match(text.strip()))


class SettingsError(Exception):
    """The configuration is unusable; ``lines`` holds one plain sentence per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class Settings(BaseSettings):
    """Every ``LIVREDOR_`` setting, with its default."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,
        # `LIVREDOR_BOT_TOKEN=` (as env.example ships it) means "not set", not "set to ''".
        env_ignore_empty=True,
    )

    # Telegram: required to run, not to export or back up.
    bot_token: SecretStr | None = None
    # A file holding the token instead (a Docker secret); under systemd, LoadCredential's
    # $CREDENTIALS_DIRECTORY/bot_token is read when neither is set.
    bot_token_file: Path | None = None
    organisers_chat_id: int | None = Field(default=None, lt=0)
    channel_id: int | str | None = None
    api_base_url: str = "https://api.telegram.org/bot"

    # The event and the conversation.
    database: Path = Path("livredor.db")
    event_name: str = ""
    event_hashtag: str | None = None
    default_language: Literal["en", "fr"] = "en"
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    texts: Path | None = None
    sessions: Path | None = None
    quote_max_chars: int = Field(default=6000, ge=100, le=100_000)
    max_pending: int = Field(default=3, ge=1, le=100)
    # How many different organisers must approve a testimonial before it is published; one
    # rejection by any organiser ends it.
    approvals: int = Field(default=1, ge=1, le=10)
    # An organiser's correction waits for the author's approval (their consent covers the
    # words they wrote); false: it applies at once, as it did before.
    edits_need_author: bool = True

    # Telegram's flood limits, as the bot keeps to them.
    group_messages_per_minute: int = Field(default=20, ge=1, le=1000)
    group_rate_period_seconds: float = Field(default=60.0, ge=0.1, le=3600)
    messages_per_second: int = Field(default=30, ge=1, le=1000)
    # The period of messages_per_second (shortened only against a test server, with the
    # others, so that every limit keeps its proportion).
    global_rate_period_seconds: float = Field(default=1.0, ge=0.01, le=60)
    # Telegram asks for about one message a second into one private chat and tolerates short
    # bursts (a conversation step sends two or three); the default leaves those bursts alone.
    private_messages_per_second: int = Field(default=30, ge=1, le=1000)
    private_rate_period_seconds: float = Field(default=1.0, ge=0.01, le=60)

    # Event scale: past this many testimonials waiting, new ones get no card in the group
    # (one summary instead; organisers use /review in private); 0 = always a card. A reminder
    # in the group when the oldest has waited this long (0 = never).
    review_backlog: int = Field(default=10, ge=0, le=10_000)
    review_remind_minutes: int = Field(default=10, ge=0, le=1440)
    # /review's "Approve all": how long Undo is offered; nothing is decided (nor posted)
    # before that window closes.
    review_undo_seconds: int = Field(default=10, ge=1, le=600)

    # Webhook mode (polling when webhook_url is empty).
    webhook_url: str | None = None
    # Plain HTTP: only the reverse proxy on this machine may reach it (a container sets
    # 0.0.0.0, see deploy/compose.yaml).
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None

    # The live wall (the venue's screen): served by `livredor wall`, and by `livredor run`
    # too when wall_port is set. Its content is the channel's, so it listens on every
    # address by default; wall_key keeps it to those given the link (/?key=...).
    wall_port: int | None = Field(default=None, ge=1, le=65535)
    wall_listen: str = "0.0.0.0"
    wall_key: SecretStr | None = None

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not is_token_shaped(value.get_secret_value()):
            raise ValueError("malformed token")
        return SecretStr(value.get_secret_value().strip()) if value is not None else None

    @field_validator("channel_id", mode="before")
    @classmethod
    def _channel(cls, value: Any) -> int | str | None:
        if value is None or value == "":
            return None
        text = str(value).strip()
        if re.fullmatch(r"-\d+", text):
            return int(text)
        if re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,}", text):
            return text
        raise ValueError("malformed channel")

    @property
    def api_file_url(self) -> str:
        """Where the Bot API serves the files ``getFile`` names: ``.../bot`` becomes
        ``.../file/bot`` (Telegram's layout, and a self-hosted server's)."""
        base = self.api_base_url
        head, sep, tail = base.rpartition("/bot")
        return f"{head}/file/bot{tail}" if sep else f"{base.rstrip('/')}/file/bot"

    @field_validator("api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
            raise ValueError("malformed url")
        return value

    @field_validator("event_hashtag", mode="before")
    @classmethod
    def _hashtag(cls, value: Any) -> str | None:
        if value is None or str(value).strip() == "":
            return None
        text = str(value).strip().lstrip("#")
        if not re.fullmatch(r"\w+", text):
            raise ValueError("malformed hashtag")
        return text

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: Any) -> frozenset[int]:
        if value is None or value == "":
            return frozenset()
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            return frozenset(int(p) for p in parts)
        return frozenset(int(v) for v in value)

    @field_validator("texts", "sessions")
    @classmethod
    def _texts_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("no such file")
        return value

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: Any) -> str | None:
        if value is None or str(value).strip() == "":
            return None
        text = str(value).strip()
        if not re.match(r"^https?://[^\s/]+(/\S*)?$", text):
            raise ValueError("malformed url")
        return text

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _SECRET_RE.match(value.get_secret_value()):
            raise ValueError("malformed secret")
        return value

    @field_validator("wall_key")
    @classmethod
    def _wall_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _WALL_KEY_RE.match(value.get_secret_value()):
            raise ValueError("malformed key")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    def missing_for_telegram(self) -> list[str]:
        """Return one sentence per setting that running the bot needs and lacks."""
        problems = []
        for name, present in (
            ("bot_token", self.bot_token is not None),
            ("organisers_chat_id", self.organisers_chat_id is not None),
            ("channel_id", self.channel_id is not None),
        ):
            if not present:
                variable = f"{ENV_PREFIX}{name.upper()}"
                problems.append(f"{variable} is not set: expected {EXPECTED[name]}.")
        return problems

    @property
    def token(self) -> str:
        """Return the bot token; only call after ``missing_for_telegram()`` came back empty."""
        assert self.bot_token is not None
        return self.bot_token.get_secret_value()


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, or raise ``SettingsError`` with one plain line per problem."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        lines: list[str] = []
        for error in exc.errors(include_input=False, include_url=False):
            field = str(error["loc"][0]) if error["loc"] else "?"
            variable = f"{ENV_PREFIX}{field.upper()}"
            what = "is required" if error["type"] == "missing" else "is not valid"
            expected = EXPECTED.get(field, "see docs/operations.md")
            line = f"{variable} {what}: expected {expected}."
            if line not in lines:
                lines.append(line)
        raise SettingsError(lines) from None
    if settings.bot_token is None:
        settings.bot_token = _token_from_file(settings.bot_token_file)
    return settings


def _unreadable(variable: str, path: Path) -> str:
    """The sentence for a token file this process may not read: who owns it, who reads it
    (a Docker secret keeps the host's owner and mode inside the container)."""
    reader = os.getuid()
    try:
        owner = path.stat().st_uid
    except OSError:
        return f"{variable} cannot be read ({path}: permission denied for uid {reader})."
    return (
        f"{variable} cannot be read ({path}: owned by uid {owner}, read by uid {reader}): "
        f"give it to the user livredor runs as, e.g. `chown {reader} {path}`, mode 0400."
    )


def _token_from_file(path: Path | None) -> SecretStr | None:
    """Read the token from ``LIVREDOR_BOT_TOKEN_FILE`` or systemd's credential; the file's
    content never appears in an error."""
    variable = f"{ENV_PREFIX}BOT_TOKEN_FILE"
    if path is None:
        credentials = os.environ.get("CREDENTIALS_DIRECTORY")
        if not credentials or not (Path(credentials) / "bot_token").is_file():
            return None
        path = Path(credentials) / "bot_token"
        variable = "$CREDENTIALS_DIRECTORY/bot_token"
    try:
        text = path.read_text(encoding="utf-8").strip()
    except PermissionError:
        raise SettingsError([_unreadable(variable, path)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise SettingsError([f"{variable} cannot be read ({path}: {reason})."]) from None
    if not _TOKEN_RE.match(text):
        raise SettingsError([f"{variable} is not valid: expected {EXPECTED['bot_token']}."])
    return SecretStr(text)
