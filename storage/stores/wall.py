"""What the venue's wall may read: published testimonials, and nothing about the people.

Only the columns a channel post is made of (name, organisation, quote, and the session's
payload for its hashtag and title); no Telegram id, no draft, nothing pending or withdrawn.
"""

from __future__ import annotations

from storage.models import WallEntry
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
        """Return every published testimonial, newest first, as the wall may show it."""
        rows = await self.db.fetchall(
            "SELECT id, version, name, organisation, quote, start_payload FROM testimonials"
            f" WHERE status = 'published' {_ORDER}"
        )
        return [
            WallEntry(
                id=int(r["id"]),
                version=int(r["version"]),
                name=r["name"],
                organisation=r["organisation"],
                quote=r["quote"],
                start_payload=r["start_payload"],
            )
            for r in rows
        ]
