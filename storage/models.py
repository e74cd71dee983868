"""Typed objects the repository returns: testimonials, their status and the open step, the
state machine's legal moves, and what the repository's writes report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC (every time in these objects is)."""
    return datetime.now(UTC)


class Status(StrEnum):
    """Where a testimonial is in its life.

    draft -> pending -> approved -> publishing -> published -> withdrawn
                     \\-> rejected          \\-> approved (publishing failed, retry)
    """

    DRAFT = "draft"
    PENDING = "pending"
    APPROVED = "approved"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


#: Every legal move of the state machine; the repository refuses anything else.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.DRAFT: frozenset({Status.PENDING}),
    Status.PENDING: frozenset({Status.APPROVED, Status.REJECTED, Status.WITHDRAWN}),
    Status.APPROVED: frozenset({Status.PUBLISHING, Status.WITHDRAWN}),
    # Back to approved when the channel refused the post (bot not admin) or an organiser
    # chose "publish again" after a crash; to published when "mark as published".
    Status.PUBLISHING: frozenset({Status.PUBLISHED, Status.APPROVED, Status.WITHDRAWN}),
    Status.PUBLISHED: frozenset({Status.WITHDRAWN}),
    Status.REJECTED: frozenset(),
    Status.WITHDRAWN: frozenset(),
}


#: The organisers' card buttons that apply to a testimonial in each status, checked when a
#: press is handled (a forged or stale ``mod:unpublish_yes`` must not withdraw a pending
#: testimonial). "back" only redraws the card's buttons for its status.
CARD_ACTIONS: dict[Status, frozenset[str]] = {
    Status.DRAFT: frozenset({"back"}),
    Status.PENDING: frozenset(
        {"approve", "reject", "reason", "other", "edit", "field", "write", "back", "nophoto"}
    ),
    # Approved but not posted: the channel refused it (bot not admin); Retry queues it again.
    # Its photo can still be taken off (the button is on the photo above the card).
    Status.APPROVED: frozenset({"retry", "back", "nophoto"}),
    # The process died between sending and recording: publish again, or it is there.
    Status.PUBLISHING: frozenset({"republish", "markpub", "back"}),
    Status.PUBLISHED: frozenset({"unpublish", "unpublish_yes", "back"}),
    Status.REJECTED: frozenset({"back"}),
    # Withdrawn, its post still to delete: the channel refused the deletion; Retry resumes,
    # or an organiser says the posts are gone (deleted by hand, or the channel with them).
    Status.WITHDRAWN: frozenset({"retry", "removed", "back"}),
}


class IllegalTransition(Exception):
    """A status change the state machine does not allow."""

    def __init__(self, current: Status | None, target: Status) -> None:
        super().__init__(f"cannot go from {current} to {target}")
        self.current = current
        self.target = target


def check_transition(current: Status | None, target: Status) -> None:
    """Raise ``IllegalTransition`` unless ``current -> target`` is in the state machine."""
    if current is None or target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)


def join_quote(parts: Iterable[str]) -> str:
    """Return a draft's quote: its parts (one per message) as paragraphs."""
    return "\n\n".join(parts)


class Signature(StrEnum):
    """How a testimonial is signed in public (the channel, the wall, the book); organisers
    always see the name given (``storage.fields.signed`` is the rule)."""

    FULL = "full"  # the name as given: "François MOREAU", "Florence"
    INITIAL = "initial"  # first name and initial: "François M."
    ANONYMOUS = "anonymous"  # "a participant", no organisation
    ANONYMOUS_ORG = "anonymous_org"  # "a participant", with the organisation given


class Step(StrEnum):
    """The question that is open on a draft: the conversation state lives in this column."""

    SESSION = "session"  # optional, first: which talk or workshop (when the link named none)
    NAME = "name"
    ORGANISATION = "organisation"
    QUOTE = "quote"
    PORTRAIT = "portrait"  # optional, after the words: a photo, or Skip
    CONSENT = "consent"
    PREVIEW = "preview"
    EDIT_NAME = "edit_name"
    EDIT_ORGANISATION = "edit_organisation"
    EDIT_QUOTE = "edit_quote"
    SIGNATURE = "signature"  # at the preview: choosing how it is signed


@dataclass(frozen=True, slots=True)
class Approval:
    """One organiser's approval of a pending testimonial (LIVREDOR_APPROVALS above 1: it is
    published once enough organisers approved it)."""

    user_id: int
    name: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Proposal:
    """An organiser's edit of a pending testimonial, waiting for its author's answer
    (LIVREDOR_EDITS_NEED_AUTHOR): the fields changed and their new values. ``rev`` counts
    the edits, so that the author's buttons under an older before/after no longer act."""

    fields: dict[str, str]
    by: int
    by_name: str
    at: datetime
    rev: int


@dataclass(frozen=True, slots=True)
class Testimonial:
    """One testimonial row.

    ``organisation`` holds up to three lines joined by ``\\n`` (empty when skipped);
    ``quote`` holds paragraphs joined by ``\\n\\n`` (a single ``\\n`` is a line break inside a
    paragraph), without the surrounding « ». A draft's quote is its ``quote_parts`` joined.
    ``version`` counts the row's writes: the compare-and-set of a draft's steps.
    """

    id: int
    user_id: int | None  # None for imported entries
    status: Status
    step: Step | None  # only meaningful for drafts
    language: str
    name: str
    organisation: str
    quote: str
    created_at: datetime
    updated_at: datetime
    version: int = 0
    start_payload: str | None = None
    # A draft's: the deep link opened while it was open, until Continue or Start again.
    link_payload: str | None = None
    consent_at: datetime | None = None
    consent_text: str | None = None
    submitted_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: int | None = None
    decided_by_name: str | None = None
    reject_reason: str | None = None
    reject_reason_key: str | None = None  # a ready-made reason's key (texts ``reasons.<key>``)
    approved_seq: int | None = None  # publication order, set at approval
    published_at: datetime | None = None
    channel_message_ids: tuple[int, ...] = field(default_factory=tuple)
    card_message_ids: tuple[int, ...] = field(default_factory=tuple)
    card_done: bool = False  # every part of the card is out (False: missing or half-sent)
    source: str = "bot"  # "bot" or "import"
    import_key: str | None = None
    author_name: str | None = None  # Telegram profile name at submission, for the card
    author_username: str | None = None
    # Draft bookkeeping, cleared at submission: the quote as the messages that made it (so an
    # edited message can replace its own paragraph) and which field each message filled.
    quote_parts: tuple[str, ...] = field(default_factory=tuple)
    answer_messages: dict[str, str] = field(default_factory=dict)
    # Whether Telegram confirmed the message asking this version's question (False: the bot
    # wrote the step but cannot be sure the attendee saw what comes next), and the message
    # whose buttons are the live ones (older prompts' buttons are out of date).
    question_delivered: bool = False
    prompt_message_id: int | None = None
    # The organisers who approved it so far, in order (pending only; cleared by an edit).
    approvals: tuple[Approval, ...] = field(default_factory=tuple)
    # What the live prompt shows (``PromptKind``: what to do with it once a newer prompt
    # supersedes it), and text typed at the preview that waits for the attendee to say
    # whether it joins the testimonial.
    prompt_kind: str | None = None
    pending_addition: str | None = None
    signature: Signature = Signature.FULL  # how it is signed in public (the name: as given)
    # The portrait: its file's name beside the database (None: no photo), a second photo
    # the attendee has not yet chosen over it, the album answered at the portrait step, and
    # the organisers' group message that shows it above the card.
    portrait: str | None = None
    portrait_offer: str | None = None
    album_answered: str | None = None
    card_photo_message_id: int | None = None
    # An organiser's edit waiting for the author (the row keeps the words the author agreed
    # to until they approve it), and the author's message that shows it (None: not sent).
    proposal: Proposal | None = None
    proposal_message_id: int | None = None
    # The words' version (1 as sent; +1 at each change after that) and the version the
    # author agreed to (their consent, then their approval of an organiser's edit).
    words_version: int = 1
    agreed_words_version: int = 1
    # The update that opened the draft (a replay of it answers as the first time), and
    # whether Telegram accepted the "Sent, thank you" of a submission (False: the bot
    # committed Send but cannot be sure the attendee was told; confirmed after a restart).
    created_by_update: int | None = None
    submission_confirmed: bool = True

    @property
    def organisation_lines(self) -> list[str]:
        """Return the organisation lines, without empty ones."""
        return [line for line in self.organisation.split("\n") if line.strip()]


@dataclass(frozen=True, slots=True)
class User:
    """What the bot knows of one Telegram user."""

    user_id: int
    language: str | None  # chosen with /language; None = follow Telegram's language_code
    banned: bool
    blocked_bot: bool
    first_name: str
    last_name: str | None
    username: str | None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A queued channel action for the single publisher."""

    id: int
    testimonial_id: int
    action: str  # "publish" or "unpublish"
    created_at: datetime
    attempts: int


class SubmitResult(StrEnum):
    """What ``Repository.submit`` did."""

    SUBMITTED = "submitted"
    TOO_MANY_PENDING = "too_many_pending"
    NO_CONSENT = "no_consent"
    INCOMPLETE = "incomplete"
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of a moderation decision: ``won`` when the status moved (this press
    decided). With several approvals needed, an approval that is not yet the last is
    ``recorded`` (``again`` when this organiser had approved already: it counts once), with
    the approvals that count and how many are ``needed`` in all."""

    won: bool
    testimonial: Testimonial | None
    recorded: bool = False
    again: bool = False
    needed: int = 1


@dataclass(frozen=True, slots=True)
class ModeratorPrompt:
    """An organiser's open prompt: the bot is waiting for their reason or correction."""

    chat_id: int
    user_id: int
    testimonial_id: int
    action: str
    message_id: int = 0
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReviewMessage:
    """A message of an organiser's private chat that shows a testimonial (/review)."""

    chat_id: int
    message_id: int
    testimonial_id: int
    live: bool
    lang: str


@dataclass(frozen=True, slots=True)
class BulkItem:
    """One testimonial of a /review list, as it was shown (``digest``: of its words)."""

    position: int
    testimonial_id: int
    digest: str
    left_out: bool = False


@dataclass(frozen=True, slots=True)
class BulkList:
    """A list of short testimonials shown to an organiser in /review for "Approve all"
    (``state``: shown, waiting for its undo window, committing, done, undone or closed)."""

    id: int
    chat_id: int
    message_id: int
    user_id: int
    user_name: str
    lang: str
    state: str
    pressed_at: datetime | None
    items: tuple[BulkItem, ...] = ()


@dataclass(frozen=True, slots=True)
class AuthorMessage:
    """A message the bot wrote for an exchange between the organisers and an author: their
    message in the author's chat (``to_author``) or the author's answer in the group."""

    chat_id: int
    message_id: int
    author_id: int
    testimonial_id: int | None
    kind: str


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What ``forget_user`` erased: the person's testimonials as they were at that moment
    (``held``: a card sent since the Telegram side was erased is still to erase) and those
    whose channel posts are being removed (``posted``)."""

    held: list[Testimonial]
    posted: list[Testimonial]


#: The kinds of ``Answered`` that are paragraphs of the quote.
QUOTE_KINDS = frozenset({"quote", "paste"})


@dataclass(frozen=True, slots=True)
class Answered:
    """What one of the attendee's messages answered: a value of a draft's
    ``answer_messages`` (keyed by the message id), stored as a string, read and written only
    by ``parse`` and ``format``.

    ``kind`` is ``name``, ``organisation``, ``quote`` (a paragraph of the quote), ``paste``
    (the continuation of a paste a client cut, in paragraph ``part``: joined to the paragraph
    before, or a paragraph of its own when the cut fell at a paragraph break) or ``refused``
    (a quote message that did not fit: nothing kept, but the rest of its paste is refused
    too). A quote's message also keeps its Telegram ``date`` (Unix seconds) and its
    ``length`` in UTF-16 units (as kept, after cleaning); rows written before those were kept
    have ``None``. ``newline`` (the message ended with a line break) is read from older rows
    and no longer written: the clients trim every part they send. Stored: ``name``,
    ``quote:3``, ``paste:3:1700000000:3800``, ``refused::1700000000:4096``.
    """

    kind: str
    part: int | None = None
    date: int | None = None
    length: int | None = None
    newline: bool = False

    @classmethod
    def parse(cls, stored: str) -> Answered:
        """Read a stored value."""
        kind, *rest = stored.split(":")
        newline = rest[-1:] == ["nl"]
        numbers: list[int | None] = [
            int(value) if value else None for value in (rest[:-1] if newline else rest)
        ]
        numbers += [None] * (3 - len(numbers))
        return cls(kind, numbers[0], numbers[1], numbers[2], newline)

    def format(self) -> str:
        """Return the stored value."""
        values = [self.kind, self.part, self.date, self.length]
        while values[-1] is None:
            values.pop()
        written = ("" if value is None else str(value) for value in values)
        return ":".join(written) + (":nl" if self.newline else "")

    @property
    def is_quote(self) -> bool:
        """Whether the message is (part of) a paragraph of the quote."""
        return self.kind in QUOTE_KINDS


@dataclass(frozen=True, slots=True)
class WallEntry:
    """A published testimonial as the live wall may show it: what its channel post is made
    of, and nothing about its author."""

    id: int
    version: int  # the row's write count: part of the wall's fingerprint
    name: str  # as signed: empty when anonymous (the wall writes "a participant")
    organisation: str  # as shown: empty when anonymous without it
    quote: str
    start_payload: str | None
    language: str = "en"  # the testimonial's: the language of "a participant"
    anonymous: bool = False
    portrait: str | None = None  # its photo's file (bot/services/wall.py serves it by id)
