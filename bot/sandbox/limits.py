"""Telegram's numeric limits and its flood control, as the fake enforces them."""

from __future__ import annotations

import math
from collections import deque

__all__ = [
    "CALLBACK_ANSWER_MAX",
    "CALLBACK_DATA_MAX_BYTES",
    "CAPTION_MAX",
    "COMMANDS_MAX",
    "DELETE_WINDOW_SECONDS",
    "DESCRIPTION_MAX",
    "DOCUMENT_MAX_BYTES",
    "INLINE_BUTTONS_MAX",
    "PHOTO_MAX_BYTES",
    "SHORT_DESCRIPTION_MAX",
    "TEXT_MAX",
    "UPDATES_LIMIT_MAX",
    "FloodControl",
]

TEXT_MAX = 4096  # UTF-16 code units of message text, after entity parsing
CAPTION_MAX = 1024  # same, for captions
CALLBACK_DATA_MAX_BYTES = 64  # UTF-8 bytes
CALLBACK_ANSWER_MAX = 200  # characters of answerCallbackQuery text
INLINE_BUTTONS_MAX = 100  # buttons in one inline keyboard
COMMANDS_MAX = 100  # setMyCommands
DESCRIPTION_MAX = 512  # setMyDescription (characters)
SHORT_DESCRIPTION_MAX = 120  # setMyShortDescription (characters)
UPDATES_LIMIT_MAX = 100  # getUpdates limit
DOCUMENT_MAX_BYTES = 50 * 1024 * 1024  # upload limit of the cloud Bot API
PHOTO_MAX_BYTES = 10 * 1024 * 1024  # sendPhoto's upload limit
DELETE_WINDOW_SECONDS = 48 * 3600  # deleteMessage: "sent less than 48 hours ago"


class _Window:
    """Timestamps of accepted operations inside a sliding window."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def retry_after(self, now: float, limit: int, seconds: float) -> int | None:
        """Seconds to wait before one more operation fits, or None if it fits now."""
        while self.times and self.times[0] <= now - seconds:
            self.times.popleft()
        if len(self.times) < limit:
            return None
        # Telegram answers whole seconds and never 0: "retry after 1" at the least.
        return max(1, math.ceil(self.times[0] + seconds - now))


class FloodControl:
    """Telegram's documented flood limits: about 20 messages a minute into one group or
    channel, about 30 sending requests a second overall, and (off unless set) about one a
    second into one private chat. Windows are settable so that tests need not wait a minute;
    ``scaled`` shortens every one of them by the same factor. Only accepted operations are
    recorded: a refused one is free.
    """

    def __init__(
        self,
        *,
        group_limit: int = 20,
        group_window: float = 60.0,
        global_limit: int = 30,
        global_window: float = 1.0,
        private_limit: int | None = None,
        private_window: float = 1.0,
    ) -> None:
        self.group_limit = group_limit
        self.group_window = group_window
        self.global_limit = global_limit
        self.global_window = global_window
        # None: private chats have only the global limit (what most tests want).
        self.private_limit = private_limit
        self.private_window = private_window
        self._global = _Window()
        self._groups: dict[int, _Window] = {}
        self._privates: dict[int, _Window] = {}

    @classmethod
    def scaled(cls, factor: float) -> FloodControl:
        """Telegram's limits with every window ``factor`` times shorter: 20 per 60/k s into
        a group or channel, 1 per 1/k s into a private chat, 30 per 1/k s in all. Time runs
        k times faster for every limit alike, so the one that binds stays the one that binds.
        """
        if factor <= 0:
            raise ValueError("the factor must be positive")
        return cls(
            group_limit=20,
            group_window=60.0 / factor,
            global_limit=30,
            global_window=1.0 / factor,
            private_limit=1,
            private_window=1.0 / factor,
        )

    def _group(self, chat_id: int) -> _Window:
        return self._groups.setdefault(chat_id, _Window())

    def _private(self, chat_id: int) -> _Window:
        return self._privates.setdefault(chat_id, _Window())

    def retry_after(
        self, now: float, group_chat_id: int | None, private_chat_id: int | None = None
    ) -> int | None:
        """How long the caller must wait (whole seconds), or None if the operation may go.

        ``group_chat_id`` is the target chat when it is a group, supergroup or channel;
        ``private_chat_id`` when it is a private chat.
        """
        # Limits are read on every call, so a test may change them on a live fake.
        waits = [self._global.retry_after(now, self.global_limit, self.global_window)]
        if group_chat_id is not None:
            group = self._group(group_chat_id)
            waits.append(group.retry_after(now, self.group_limit, self.group_window))
        if private_chat_id is not None and self.private_limit is not None:
            private = self._private(private_chat_id)
            waits.append(private.retry_after(now, self.private_limit, self.private_window))
        known = [w for w in waits if w is not None]
        return max(known) if known else None

    def record(
        self, now: float, group_chat_id: int | None, private_chat_id: int | None = None
    ) -> None:
        """Count one accepted operation."""
        self._global.times.append(now)
        if group_chat_id is not None:
            self._group(group_chat_id).times.append(now)
        if private_chat_id is not None and self.private_limit is not None:
            self._private(private_chat_id).times.append(now)

    def reset(self) -> None:
        """Forget every counted operation (a test that wants a clean slate)."""
        self._global.times.clear()
        self._groups.clear()
        self._privates.clear()
