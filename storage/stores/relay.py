"""Messages between the organisers and an author, relayed by the bot (``author_messages``)."""

from __future__ import annotations

import sqlite3

from storage.models import AuthorMessage
from storage.stores.base import Store


def _from_row(row: sqlite3.Row) -> AuthorMessage:
    return AuthorMessage(
        int(row["chat_id"]),
        int(row["message_id"]),
        int(row["author_id"]),
        row["testimonial_id"],
        str(row["kind"]),
    )


class RelayStore(Store):
    """What the bot wrote for an exchange with an author: found by message, erased by author."""

    async def record_author_message(
        self,
        chat_id: int,
        message_id: int,
        *,
        author_id: int,
        testimonial_id: int | None,
        kind: str,
        source_message_id: int | None = None,
    ) -> None:
        """Remember a message the bot sent to an author or into the group for them."""
        await self.db.execute(
            "INSERT OR REPLACE INTO author_messages (chat_id, message_id, author_id,"
            " testimonial_id, kind, source_message_id) VALUES (?, ?, ?, ?, ?, ?)",
            (chat_id, message_id, author_id, testimonial_id, kind, source_message_id),
        )

    async def find_author_message(self, chat_id: int, message_id: int) -> AuthorMessage | None:
        """Return the exchange's message of the bot at this place (None: not one)."""
        row = await self.db.fetchone(
            "SELECT * FROM author_messages WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        return _from_row(row) if row else None

    async def was_relayed(self, author_id: int, source_message_id: int) -> bool:
        """Whether an author's message was relayed to the organisers already (a replay)."""
        row = await self.db.fetchone(
            "SELECT 1 FROM author_messages WHERE author_id = ? AND source_message_id = ?",
            (author_id, source_message_id),
        )
        return row is not None

    async def author_messages_of(self, author_id: int) -> list[AuthorMessage]:
        """Return every message of an author's exchanges (to erase them). Each row stays
        until ``drop_author_message`` (its message erased): a crash in between erases it
        again at the replay."""
        rows = await self.db.fetchall(
            "SELECT * FROM author_messages WHERE author_id = ? ORDER BY chat_id, message_id",
            (author_id,),
        )
        return [_from_row(r) for r in rows]

    async def drop_author_message(self, chat_id: int, message_id: int) -> None:
        """Forget a message of an exchange, erased."""
        await self.db.execute(
            "DELETE FROM author_messages WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
