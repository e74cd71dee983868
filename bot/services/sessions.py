"""The event's sessions (talks, workshops), from the small TOML file ``LIVREDOR_SESSIONS``::

    [[session]]
    slug = "atelier-3"                      # the link: https://t.me/yourbot?start=session-atelier-3
    title = { fr = "Atelier 3 : l’open data", en = "Workshop 3: open data" }

    [[session]]
    slug = "keynote"
    title = "Keynote"                       # one title for both languages
    hashtag = "ouverture"                   # optional; default: the slug without - or _

A testimonial belongs to a session when its deep-link payload is ``session-<slug>`` or the
slug itself; any other payload is kept on the testimonial and shown nowhere. Nothing is
stored about sessions but that payload, so editing the file retitles past testimonials too.
A link opened while a draft is open is kept on it until the attendee continues (the draft
moves to the link's session) or starts again (the new draft has it).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from telegram.constants import MessageLimit

from bot.services.texts import LANGUAGES

PAYLOAD_PREFIX = "session-"
#: Telegram's deep-link payload: up to 64 of A-Z a-z 0-9 _ -, ours with "session-" in front.
SLUG_MAX = MessageLimit.DEEP_LINK_LENGTH - len(PAYLOAD_PREFIX)
SLUG_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{SLUG_MAX}}}")
TITLE_MAX = 100  # a button label and a card line: short


class SessionsError(ValueError):
    """The sessions file is unusable; the message says where and why."""


@dataclass(frozen=True)
class Session:
    """One talk or workshop."""

    slug: str
    titles: dict[str, str]  # by language; at least one
    hashtag: str

    @property
    def payload(self) -> str:
        """The deep-link payload that tags a testimonial with this session."""
        return PAYLOAD_PREFIX + self.slug

    def title(self, language: str) -> str:
        """The title in a language, or in the other one when it has only one."""
        return self.titles.get(language) or next(iter(self.titles.values()))


@dataclass(frozen=True)
class Sessions:
    """The sessions in the file's order (empty when ``LIVREDOR_SESSIONS`` is not set)."""

    items: tuple[Session, ...] = ()
    _by_slug: dict[str, Session] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, path: Path | None) -> Sessions:
        """Read the sessions file (none: no sessions); raise ``SessionsError`` if malformed."""
        if path is None:
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SessionsError(f"{path}: {exc}") from None
        raw = data.get("session", [])
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            raise SessionsError(f"{path}: expected [[session]] tables")
        return cls.of([_session(path, i, r) for i, r in enumerate(raw, start=1)], path)

    @classmethod
    def of(cls, items: list[Session], where: object = "sessions") -> Sessions:
        """Build from sessions; slugs must be unique (case-insensitively)."""
        by_slug: dict[str, Session] = {}
        for s in items:
            if s.slug.lower() in by_slug:
                raise SessionsError(f"{where}: the slug {s.slug!r} is used twice")
            by_slug[s.slug.lower()] = s
        return cls(tuple(items), by_slug)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def match(self, payload: str | None) -> Session | None:
        """The session a deep-link payload names (``session-<slug>`` or the slug), if any."""
        if not payload:
            return None
        slug = (
            payload.removeprefix(PAYLOAD_PREFIX) if payload.startswith(PAYLOAD_PREFIX) else payload
        )
        return self._by_slug.get(slug.lower())

    def title(self, payload: str | None, language: str) -> str | None:
        """The title of the payload's session in a language, or None."""
        session = self.match(payload)
        return session.title(language) if session else None

    def continued(self, current: str | None, link: str | None) -> str | None:
        """The payload a draft tagged ``current`` takes when the attendee opened ``link``
        and chose to continue it (the link scanned last wins), or None to keep ``current``:
        a link naming no session never takes the place of a session."""
        if link is None or link == current:
            return None
        return link if self.match(link) or not self.match(current) else None

    def hashtags(self, event_hashtag: str | None, payload: str | None) -> tuple[str, ...]:
        """The hashtags of a channel post: the event's, then the session's (only with the
        event's, ``LIVREDOR_EVENT_HASHTAG``)."""
        if not event_hashtag:
            return ()
        session = self.match(payload)
        return (event_hashtag, session.hashtag) if session else (event_hashtag,)

    def rank(self, payload: str | None) -> int:
        """The session's place in the file (sessionless testimonials last), for the book."""
        session = self.match(payload)
        return self.items.index(session) if session else len(self.items)


def _session(path: Path, number: int, raw: dict[str, object]) -> Session:
    where = f"{path}: session {number}"
    slug = raw.get("slug")
    if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug):
        raise SessionsError(f"{where}: slug must be 1 to {SLUG_MAX} of A-Z a-z 0-9 _ -")
    title = raw.get("title")
    titles = {language: title for language in LANGUAGES} if isinstance(title, str) else title
    if not isinstance(titles, dict) or not titles:
        raise SessionsError(f"{where}: title must be a text or a table {{ en = ..., fr = ... }}")
    for language, text in titles.items():
        if language not in LANGUAGES or not isinstance(text, str) or not text.strip():
            raise SessionsError(f"{where}: title.{language} must be a text, in en or fr")
        if len(text) > TITLE_MAX:
            raise SessionsError(f"{where}: title.{language} is over {TITLE_MAX} characters")
    hashtag = raw.get("hashtag", re.sub(r"\W", "", slug.replace("-", "")))
    if not isinstance(hashtag, str) or not re.fullmatch(r"\w+", hashtag.lstrip("#")):
        raise SessionsError(f"{where}: hashtag must be letters, digits or _")
    unknown = set(raw) - {"slug", "title", "hashtag"}
    if unknown:
        raise SessionsError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    clean = {language: str(text).strip() for language, text in titles.items()}
    return Session(slug, clean, hashtag.lstrip("#"))
