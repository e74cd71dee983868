"""Values the bot keeps across restarts (``bot_state``): a small key-value table; and the
books /export sent to the organisers' group (``group_exports``), for /forget to find."""

from __future__ import annotations

from storage.stores.base import Store


class StateStore(Store):
    """The ``bot_state`` and ``group_exports`` tables."""

    async def get_state(self, key: str) -> str | None:
        """Return a value the bot keeps across restarts (``bot_state``)."""
        row = await self.db.fetchone("SELECT value FROM bot_state WHERE key = ?", (key,))
        return str(row[0]) if row else None

    async def set_state(self, key: str, value: str | None) -> None:
        """Store (or, with None, forget) a value the bot keeps across restarts."""
        if value is None:
            await self.db.execute("DELETE FROM bot_state WHERE key = ?", (key,))
        else:
            await self.db.execute(
                "INSERT INTO bot_state (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def record_export(self, chat_id: int, message_id: int) -> None:
        """Remember a book /export sent (it holds people's words: /forget erases it)."""
        await self.db.execute(
            "INSERT OR IGNORE INTO group_exports (chat_id, message_id) VALUES (?, ?)",
            (chat_id, message_id),
        )

    async def exports(self) -> list[tuple[int, int]]:
        """Return the books /export sent, as (chat id, message id). Each stays recorded
        until ``drop_export`` (erased: someone in it asked to be forgotten): a crash in
        between erases it again at the replay."""
        rows = await self.db.fetchall(
            "SELECT chat_id, message_id FROM group_exports ORDER BY chat_id, message_id"
        )
        return [(int(r[0]), int(r[1])) for r in rows]

    async def drop_export(self, chat_id: int, message_id: int) -> None:
        """Forget a book /export sent, erased."""
        await self.db.execute(
            "DELETE FROM group_exports WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
