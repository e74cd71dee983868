"""The rules of a testimonial's fields, in one place: the attendee conversation, organisers'
corrections and ``livredor import`` all clean and check a name, an organisation and a quote
here, so no path can store what another would refuse.

Cleaning (never refused, silently applied): NFC normalisation, ``\\r\\n``/``\\r`` read as line
ends, tabs as spaces, NUL and every other control character removed, a lone surrogate shown as
the replacement character, and zero-width characters
at the ends of a line. Checking (refused with a :class:`FieldError` naming the problem): an empty
name (zero-width characters only counts as empty), a name over ``NAME_MAX``, more than
``ORGANISATION_LINES_MAX`` organisation lines or one over ``ORGANISATION_LINE_MAX``, an empty
quote or one over the quote limit (``LIVREDOR_QUOTE_MAX_CHARS``, passed in). Every length
limit is counted as Telegram counts (UTF-16 units: an emoji is 2 or more), see
``storage/textlength.py``; what attendees are told they wrote is the count they see.
"""

from __future__ import annotations

import re
import unicodedata

from storage.models import Signature
from storage.textlength import perceived_length, telegram_length

NAME_MAX = 100
ORGANISATION_LINES_MAX = 3
ORGANISATION_LINE_MAX = 150
# The highest quote limit the settings accept; the real limit is the setting.
QUOTE_MAX_CEILING = 100_000
REASON_MAX = 500
# An organiser's message to an author ("Reply to the author"), relayed by the bot.
NOTE_MAX = 1000

# Invisible characters that make a blank-looking name or line (ZWSP, ZWNJ, ZWJ, WJ, BOM...).
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
# C0 and C1 controls but the line feed (tab and CR are turned into space and \n first).
# Bidirectional marks are kept: Arabic and Hebrew names need them, and a card shows them
# escaped inside its own line.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A surrogate alone in a Python string (JSON's "\ud83d" without its pair: a well-formed pair
# is one character by then): not UTF-8, so SQLite and Telegram refuse it. It shows as the
# replacement character, as an app shows text it cannot read.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class FieldError(ValueError):
    """A field that breaks a rule: ``problem`` names it (a text key's last part, e.g.
    ``name_too_long``), ``values`` fills that text (``length``, ``limit``, ``count``).

    Lengths and limits are in Telegram's unit (UTF-16); ``counts_differ`` says the text
    holds characters Telegram counts as several (emoji), so a reader's count would be lower
    and the message should say why."""

    def __init__(
        self, problem: str, values: dict[str, int] | None = None, *, counts_differ: bool = False
    ) -> None:
        self.problem = problem
        self.values = values or {}
        self.counts_differ = counts_differ
        super().__init__(_ENGLISH[problem].format(**self.values))


def check_length(problem: str, value: str, limit: int) -> None:
    """Raise ``problem`` if ``value`` is over ``limit`` as Telegram counts (UTF-16 units):
    every limit is in that unit, so what fits here fits in a Telegram message."""
    length = telegram_length(value)
    if length > limit:
        differ = length != perceived_length(value)
        raise FieldError(problem, {"length": length, "limit": limit}, counts_differ=differ)


# For the command line and logs; the bot says these in the reader's language (texts [fields]).
_ENGLISH = {
    "name_empty": "the name is empty",
    "name_too_long": "the name is {length} characters long, the limit is {limit}",
    "organisation_too_many_lines": "the organisation has {count} lines, the limit is {limit}",
    "organisation_line_too_long": (
        "an organisation line is {length} characters long, the limit is {limit}"
    ),
    "quote_empty": "the quote is empty",
    "quote_too_long": "the quote is {length} characters long, the limit is {limit}",
    "reason_empty": "the reason is empty",
    "reason_too_long": "the reason is {length} characters long, the limit is {limit}",
    "note_empty": "the message is empty",
    "note_too_long": "the message is {length} characters long, the limit is {limit}",
}


def clean(text: str) -> str:
    """Return ``text`` normalised (NFC, ``\\n`` line ends, no control or bidi characters)."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _LONE_SURROGATE.sub("\ufffd", text)
    return _CONTROL.sub("", text.replace("\t", " "))


def _strip(line: str) -> str:
    """Strip spaces and invisible characters at both ends of a line."""
    return line.strip().strip(INVISIBLE).strip()


def name(text: str) -> str:
    """Return the cleaned one-line name, or raise :class:`FieldError`."""
    value = " ".join(_strip(clean(text)).split())
    if not _strip(value):
        raise FieldError("name_empty")
    check_length("name_too_long", value, NAME_MAX)
    return value


def organisation_lines(text: str) -> list[str]:
    """Return the cleaned, non-empty organisation lines (maybe none), or raise."""
    lines = [" ".join(_strip(line).split()) for line in clean(text).split("\n")]
    lines = [line for line in lines if line]
    if len(lines) > ORGANISATION_LINES_MAX:
        raise FieldError(
            "organisation_too_many_lines", {"count": len(lines), "limit": ORGANISATION_LINES_MAX}
        )
    if lines:
        longest = max(lines, key=telegram_length)
        check_length("organisation_line_too_long", longest, ORGANISATION_LINE_MAX)
    return lines


def organisation(text: str) -> str:
    """Return the cleaned organisation as stored (lines joined by ``\\n``), or raise."""
    return "\n".join(organisation_lines(text))


def quote_part(text: str) -> str:
    """Return one cleaned message of a quote (maybe empty): lines kept, ends stripped."""
    lines = [line.rstrip() for line in clean(text).split("\n")]
    return _strip("\n".join(lines))


def quote(text: str, limit: int) -> str:
    """Return the cleaned quote, or raise if it is empty or over ``limit`` characters."""
    value = quote_part(text)
    if not value:
        raise FieldError("quote_empty")
    limit = min(limit, QUOTE_MAX_CEILING)
    check_length("quote_too_long", value, limit)
    return value


def reason(text: str) -> str:
    """Return a cleaned rejection reason, or raise if empty or over ``REASON_MAX``."""
    value = quote_part(text)
    if not value:
        raise FieldError("reason_empty")
    check_length("reason_too_long", value, REASON_MAX)
    return value


def note(text: str) -> str:
    """Return a cleaned message from the organisers to an author, or raise if empty or over
    ``NOTE_MAX``."""
    value = quote_part(text)
    if not value:
        raise FieldError("note_empty")
    check_length("note_too_long", value, NOTE_MAX)
    return value


# -- the signature: how a name is shown in public ------------------------------------------

# Between the people of a name signed together ("Sabine BLANC - Hélène GIRARD"): kept as
# typed. A comma separates people only when each side has two words or more: "DUPONT, Jean"
# is one person, family name first.
_PEOPLE = re.compile(r"(\s+[-–—&/+]\s+|\s+(?:et|and)\s+)", re.IGNORECASE)
_COMMA = re.compile(r"(\s*,\s*)")
# Particles before a family name: the initial is the family name's ("Ludwig van B.").
_PARTICLES = frozenset(
    {"d", "da", "das", "de", "del", "della", "den", "der", "des", "di", "do", "dos", "du"}
    | {"la", "le", "les", "ten", "ter", "van", "vom", "von", "zu"}
)
# An elided particle stuck to the family name: "d'Arc", "l’Hermite".
_ELIDED = re.compile(r"^[dl]['’](?=\w)", re.IGNORECASE)


def initial_form(name: str) -> str:
    """Return a name as first name and initial: "François MOREAU" gives "François M.".

    Each person of a name signed together gets their own ("Sabine B. - Hélène G."), the
    separators kept as typed; a one-word name stays whole ("Florence"). The family name is
    the words in capitals when some are and some are not ("DUPONT Jean" gives "Jean D.",
    "Hugues DE DOMINGO" gives "Hugues D."), else every word after the first ("Jeanne d'Arc"
    gives "Jeanne A.", "Ludwig van Beethoven" gives "Ludwig B."); its initial is its first
    letter, past particles, as a capital. Nothing of the family name but that letter shows.
    """
    pieces = _PEOPLE.split(name)
    if len(pieces) == 1:
        commas = _COMMA.split(name)
        if all(len(piece.split()) > 1 for piece in commas[::2]):
            pieces = commas
    group = len(pieces) > 1
    return "".join(piece if i % 2 else _one_initial(piece, group) for i, piece in enumerate(pieces))


def _capitals(word: str) -> bool:
    """Whether a word is written in capitals (two letters at least: "A." is an initial)."""
    return word.isupper() and sum(ch.isalpha() for ch in word) > 1


def _one_initial(person: str, group: bool) -> str:
    words = person.split()
    if len(words) == 1 and group and _capitals(words[0]):
        # "Marie DUPONT - MARTIN": a lone word in capitals is a family name, not a person.
        return next((f"{ch.upper()}." for ch in words[0] if ch.isalpha()), person)
    if len(words) < 2:
        return person
    capitals = [w for w in words if _capitals(w)]
    if capitals and len(capitals) < len(words):
        given, family = [w for w in words if not _capitals(w)], capitals
    else:
        given, family = words[:1], words[1:]
    letters = [
        next((ch for ch in _ELIDED.sub("", word) if ch.isalpha()), "")
        for word in family
        if word.strip(".").lower() not in _PARTICLES
    ]
    letter = next((ch for ch in letters if ch), "") or next(
        (ch for word in family for ch in word if ch.isalpha()), ""
    )
    if not letter:
        return " ".join(given)  # no letter in the family name (digits, signs): none shown
    return f"{' '.join(given)} {letter.upper()}."


def signed(name: str, organisation: str, signature: Signature, anonymous: str) -> tuple[str, str]:
    """Return the name and the organisation a testimonial shows in public: the one rule
    for the channel, the preview, the wall and the book. ``anonymous``: "a participant" in
    the testimonial's language (the caller's texts)."""
    if signature is Signature.INITIAL:
        return initial_form(name), organisation
    if signature is Signature.ANONYMOUS:
        return anonymous, ""
    if signature is Signature.ANONYMOUS_ORG:
        return anonymous, organisation
    return name, organisation
