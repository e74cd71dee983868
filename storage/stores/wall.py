"""What the venue's wall may read: published testimonials, and nothing about the people.

Only the columns a channel post is made of (the name and organisation as signed, the quote,
and the session's payload for its hashtag and title); no Telegram id, no draft, nothing
pending or withdrawn, and no name an author chose not to show.
"""

from __future__ import annotations

from storage.fields import signed
from storage.models import Signature, WallEntry
from storage.stores.base import Store

#: Newest first: the order they reached the channel in, reversed.
_ORDER = "ORDER BY approved_seq DESC, id DESC"


class WallStore(Store):
    """The wall's two reads: a cheap fingerprint of what is published, then the rows."""

    async def wall_fingerprint(self) -> tuple[tuple[int, int], ...]:
        """Return (id, version) of every published testimonial, newest first."""
        rows = await self.db.fetchall(
            f"SELECT id, version FROM testimonials WHERE status = 'published' {_ORDER}"
        )
        return tuple((int(r[0]), int(r[1])) for r in rows)

    async def wall_entries(self) -> list[WallEntry]:
        """Return every published testimonial, newest first, as the wall may show it: signed
        as its author chose (``fields.signed``), the name given never leaves this method."""
        rows = await self.db.fetchall(
            "SELECT id, version, name, organisation, quote, start_payload, language, signature,"
            f" portrait FROM testimonials WHERE status = 'published' {_ORDER}"
        )
        entries = []
        for r in rows:
            signature = Signature(r["signature"])
            name, organisation = signed(r["name"], r["organisation"], signature, "")
            entries.append(
                WallEntry(
                    id=int(r["id"]),
                    version=int(r["version"]),
                    name=name,
                    organisation=organisation,
                    quote=r["quote"],
                    start_payload=r["start_payload"],
                    language=r["language"],
                    anonymous=signature in (Signature.ANONYMOUS, Signature.ANONYMOUS_ORG),
                    portrait=r["portrait"],
                )
            )
        return entries
