"""The organisers' text overrides, checked as Telegram will take them, before the first update.

An override that Telegram would refuse breaks the bot where it is used, for everyone: an
unclosed ``<b>`` in ``ask_name`` answers every ``/start`` with an error, an empty button label
makes the card impossible to send, a toast over 200 characters makes every press fail. So at
start (and in ``livredor check``) each override is checked once, and a bad one stops the start
with one sentence that names its key.

What is checked, for each overridden key:

* it is text (a TOML string), and not empty: Telegram refuses empty messages and labels;
* filled with sample values, it is HTML that Telegram's parser accepts (the fake Telegram's
  parser, which follows tdlib's and is stricter about a bare ``&``);
* a toast (the short answer to a button press) fits Telegram's 200 characters;
* a caption (under a photo: ``CAPTION_KEYS``) fits Telegram's 1,024 characters;
* a message fits 4,096 characters with each placeholder at the longest value the bot gives it
  (``LONGEST``). Texts that carry an attendee's words (``UNBOUNDED``) are split by the bot
  into several messages as needed, so only their own wording is counted.
"""

from __future__ import annotations

import string

from telegram.constants import CallbackQueryLimit, MessageLimit

from bot.sandbox.html_check import TelegramHTMLError, parse_telegram_html
from storage import fields
from storage.textlength import telegram_length

TOAST_MAX = CallbackQueryLimit.ANSWER_CALLBACK_QUERY_TEXT_LENGTH
MESSAGE_MAX = MessageLimit.MAX_TEXT_LENGTH
CAPTION_MAX = MessageLimit.CAPTION_LENGTH

#: The texts shown as a photo's caption: the one above a card or sent by /review, and the
#: lines that replace a photo or file the bot can no longer delete (bot/services/messages.py:
#: blank).
CAPTION_KEYS = frozenset(
    {
        "card.photo",
        "card.erased",
        "card.outdated",
        "card.photo_gone",
        "channel.withdrawn",
        "moderation.export_erased",
        "review.withdrawn",
    }
)

#: The texts shown as a toast (``answerCallbackQuery``); tests/test_texts.py checks that every
#: literal key the code passes to ``answer_query`` is here.
TOAST_KEYS = frozenset(
    {
        "card.photo_not_removable",
        "card.photo_removed",
        "intake.already_done",
        "intake.already_erased",
        "intake.already_sent",
        "intake.already_sent_status",
        "intake.out_of_date",
        "intake.stale_button",
        "moderation.approved_answer",
        "moderation.approved_own_words",
        "moderation.rejected_answer",
        "moderation.marked_published",
        "moderation.not_found",
        "moderation.not_pending",
        "moderation.stale_card",
        "moderation.only_organisers",
        "moderation.republished",
        "moderation.retrying",
        "moderation.posts_gone_answer",
        "moderation.posts_gone_already",
        "moderation.type_correction",
        "moderation.type_reason",
        "moderation.unknown_button",
        "moderation.unpublish_answer",
        "moderation.already_approved",
        "moderation.already_rejected",
        "moderation.already_other",
        "moderation.approval_counted",
        "moderation.approval_again",
        "author.edit_stale",
        "review.skipped",
        "review.withdrawn_answer",
        "review.bulk_already",
        "review.bulk_pressed",
        "review.undo_too_late",
        "review.undone",
        "moderation.type_note",
    }
)

#: The longest value (in characters) the bot puts in each placeholder; others get ``OTHER``.
LONGEST = {
    "name": fields.NAME_MAX,
    "who": 2 * 64 + 1,  # a Telegram profile name: first and last name, 64 each
    "author": 2 * 64 + 1 + 40,  # a profile name and its @username
    "reason": fields.REASON_MAX,
    "problem": 300,
    "title": 200,
    "event": 200,
    "event_part": 300,
    "link": 100,
    "links": 5
    * 60,  # the links of a post's parts still in the channel (bot/services/publishing.py)
    "ids": 10 * 20,  # a list's testimonials, "#12, #13, ..." (bot/services/bulk.py)
    "note": fields.NOTE_MAX,  # the organisers' message to an author
}
OTHER = 40
#: Placeholders that carry an attendee's words or a whole other text: unbounded here, the bot
#: splits what it sends around them.
UNBOUNDED = frozenset({"excerpt", "question", "draft", "choice", "current", "answer"})


def placeholders(template: str) -> set[str]:
    """Return the names of the ``{placeholders}`` in a template."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def override_problem(key: str, value: object) -> str | None:
    """Return why ``value`` cannot replace the text ``key``, in one sentence, or None."""
    if not isinstance(value, str):
        return f"must be text in quotes, not {type(value).__name__} {value!r}"
    if not value.strip():
        return "is empty: Telegram refuses an empty message or button label"
    try:
        names = placeholders(value)
        parse_telegram_html(value.format(**dict.fromkeys(names, "x")))
    except TelegramHTMLError as exc:
        return f"is HTML Telegram refuses ({exc}): escape < > & as &lt; &gt; &amp;"
    except (ValueError, IndexError, KeyError) as exc:  # a lone { or }
        return f"has braces that are not a placeholder ({exc}): write {{{{ and }}}} for them"
    if key in TOAST_KEYS:
        longest = _filled_length(value, names)
        if longest > TOAST_MAX:
            return f"is shown as a toast, at most {TOAST_MAX} characters: {longest} here"
        return None
    longest = _filled_length(value, names - UNBOUNDED)
    if key in CAPTION_KEYS and longest > CAPTION_MAX:
        return (
            f"is shown as a photo's caption, at most {CAPTION_MAX:,} characters: {longest:,} here"
        )
    if longest > MESSAGE_MAX:
        return f"can reach {longest} characters with its placeholders: Telegram's limit is 4,096"
    return None


def _filled_length(template: str, names: set[str]) -> int:
    """The text's length with each placeholder at its longest value (HTML tags not counted)."""
    filled = {name: "x" * LONGEST.get(name, OTHER) for name in names}
    filled |= {name: "" for name in placeholders(template) - names}
    try:
        return telegram_length(parse_telegram_html(template.format(**filled)))
    except TelegramHTMLError:
        return telegram_length(template.format(**filled))
