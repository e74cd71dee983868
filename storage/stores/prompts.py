"""Organisers' prompts: the bot asked an organiser to type a reason or a correction."""

from __future__ import annotations

from datetime import datetime

from storage.models import ModeratorPrompt
from storage.rows import from_ts, to_ts
from storage.stores.base import Store


class PromptStore(Store):
    """The ``moderator_prompts`` table, keyed on the bot's prompt message."""

    async def set_prompt(
        self,
        chat_id: int,
        user_id: int,
        testimonial_id: int,
        action: str,
        *,
        message_id: int,
        expires_at: datetime,
    ) -> None:
        """Remember what an organiser is asked to type, keyed on the bot's prompt message
        (the answer must reply to it); their earlier prompts for the same card go."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "DELETE FROM moderator_prompts WHERE chat_id = ? AND user_id = ?"
                " AND testimonial_id = ?",
                (chat_id, user_id, testimonial_id),
            )
            await conn.execute(
                "INSERT OR REPLACE INTO moderator_prompts (chat_id, message_id, user_id,"
                " testimonial_id, action, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (chat_id, message_id, user_id, testimonial_id, action, to_ts(expires_at)),
            )

    async def get_prompt(self, chat_id: int, message_id: int) -> ModeratorPrompt | None:
        """Return the prompt a message of the bot asked (None if there is none)."""
        row = await self.db.fetchone(
            "SELECT * FROM moderator_prompts WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        if row is None:
            return None
        return ModeratorPrompt(
            row["chat_id"],
            row["user_id"],
            row["testimonial_id"],
            row["action"],
            row["message_id"],
            from_ts(row["expires_at"]),
        )

    async def drop_prompt(self, chat_id: int, message_id: int) -> bool:
        """Delete a prompt; return whether this call deleted it (two answers: one wins)."""
        count = await self.db.execute(
            "DELETE FROM moderator_prompts WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        return count > 0

    async def drop_prompts_of(self, chat_id: int, user_id: int) -> None:
        """Delete every open prompt of someone who is no longer an organiser."""
        await self.db.execute(
            "DELETE FROM moderator_prompts WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
        )
