"""Values the bot keeps across restarts (``bot_state``): a small key-value table."""

from __future__ import annotations

from storage.stores.base import Store


class StateStore(Store):
    """The ``bot_state`` table."""

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
