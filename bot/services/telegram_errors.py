"""Telegram's refusals, named: the one place that reads the text of Telegram's errors.

The Bot API says what went wrong in English prose (``400 Bad Request: message is not
modified: ...``), and PTB only splits it by HTTP status (``BadRequest``, ``Forbidden``).
``classify`` turns the prose into a ``Refusal``; the rest of the bot catches the PTB class it
expects and decides on the name, never on the words.
"""

from __future__ import annotations

from enum import Enum

from telegram.error import BadRequest, Forbidden, TelegramError

__all__ = ["Refusal", "classify"]


class Refusal(Enum):
    """What Telegram refused, as far as the bot acts on it."""

    #: An edit to the text and buttons the message already has: nothing to do.
    NOT_MODIFIED = "not modified"
    #: The message to edit or delete is gone (deleted by someone, or never there).
    MESSAGE_GONE = "message gone"
    #: The message may not be deleted: older than 48 hours, or the bot lacks the right.
    CANT_DELETE = "can't delete"
    #: A text edit of a message that has none (a photo or a file: its caption is not text).
    NO_TEXT = "no text"
    #: The chat is unknown to Telegram (a wrong id, or the bot never saw it).
    CHAT_GONE = "chat gone"
    #: The person blocked the bot in their private chat.
    BLOCKED = "blocked"
    #: The bot is not (or no longer) a member of the group or channel.
    NOT_MEMBER = "not a member"
    #: The bot is in the chat but lacks an administrator right it needs.
    NO_RIGHTS = "no rights"
    #: A button press answered too late, or twice (one delivered again after a crash).
    QUERY_EXPIRED = "query expired"
    #: ``parse_mode=HTML`` text Telegram could not parse.
    CANT_PARSE = "can't parse"
    #: Anything else: the caller's generic handling (log it, retry, report it).
    OTHER = "other"


#: (case, the PTB class it comes as, words of Telegram's description): the first match wins.
#: Each phrase is what the Bot API says (bot/sandbox answers the same) after PTB drops the
#: "Bad Request: " prefix; compared in lower case.
_RULES: tuple[tuple[Refusal, type[TelegramError], tuple[str, ...]], ...] = (
    (Refusal.NOT_MODIFIED, BadRequest, ("message is not modified",)),
    (
        Refusal.MESSAGE_GONE,
        BadRequest,
        ("message to edit not found", "message to delete not found"),
    ),
    (Refusal.CANT_DELETE, BadRequest, ("message can't be deleted",)),
    (Refusal.NO_TEXT, BadRequest, ("there is no text in the message to edit",)),
    (Refusal.CHAT_GONE, BadRequest, ("chat not found",)),
    (Refusal.QUERY_EXPIRED, BadRequest, ("query is too old", "query id is invalid")),
    (Refusal.CANT_PARSE, BadRequest, ("can't parse entities",)),
    (Refusal.BLOCKED, Forbidden, ("bot was blocked by the user",)),
    (Refusal.NOT_MEMBER, Forbidden, ("not a member", "kicked")),
    # 400 or 403 depending on the method: the words decide.
    (Refusal.NO_RIGHTS, TelegramError, ("need administrator rights", "not enough rights")),
)


def classify(exc: TelegramError) -> Refusal:
    """Name what Telegram refused (``Refusal.OTHER`` for what the bot has no case for)."""
    text = exc.message.lower()
    for refusal, kind, phrases in _RULES:
        if isinstance(exc, kind) and any(phrase in text for phrase in phrases):
            return refusal
    return Refusal.OTHER
