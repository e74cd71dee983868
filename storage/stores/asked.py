"""What the bot asked or offered an attendee: which step each of its messages asked, a
deep link opened on an open draft until they choose what to do with it, and the link that
goes with an offer to write another one."""

from __future__ import annotations

from storage.models import Step, Testimonial
from storage.stores.base import Store


class AskedStore(Store):
    """The ``asked_messages`` table: written with a question's delivery mark
    (``DraftStore.mark_asked``), read when an attendee replies to one of the bot's messages,
    erased by /forget (``PeopleStore.forget_user``); a draft's ``link_payload``; the
    ``offered_links`` table (erased by /forget too)."""

    async def remember_question(
        self, draft: Testimonial, message_id: int | None, asked: bool = True
    ) -> None:
        """Keep that ``message_id`` asked ``draft``'s open question (``asked``; not an offer),
        with the write that marks it asked (``execute_later``)."""
        if asked and message_id is not None and draft.step is not None:
            await self.db.execute_later(
                "INSERT OR REPLACE INTO asked_messages (user_id, message_id, step)"
                " VALUES (?, ?, ?)",
                (draft.user_id, message_id, draft.step.value),
            )

    async def asked_step(self, user_id: int, message_id: int) -> Step | None:
        """Return the step whose question a bot message in ``user_id``'s chat asked last
        (sent or edited to ask it), or None."""
        row = await self.db.fetchone(
            "SELECT step FROM asked_messages WHERE user_id = ? AND message_id = ?",
            (user_id, message_id),
        )
        return Step(row["step"]) if row is not None else None

    async def offer_link(self, draft: Testimonial, payload: str) -> None:
        """Keep a deep link opened on the open draft until the attendee continues it or
        starts again (not a new version of the draft: nothing of it changed yet)."""
        await self.db.execute(
            "UPDATE testimonials SET link_payload = ? WHERE id = ? AND status = 'draft'",
            (payload, draft.id),
        )

    async def keep_offered_link(self, user_id: int, message_id: int, payload: str) -> None:
        """Keep the deep link a /start came with, for the "Write another one" offer it was
        answered with (message ``message_id`` in ``user_id``'s chat)."""
        await self.db.execute(
            "INSERT OR REPLACE INTO offered_links (user_id, message_id, payload) VALUES (?, ?, ?)",
            (user_id, message_id, payload),
        )

    async def offered_link(self, user_id: int, message_id: int) -> str | None:
        """Return the deep link kept for the offer ``message_id`` in ``user_id``'s chat."""
        row = await self.db.fetchone(
            "SELECT payload FROM offered_links WHERE user_id = ? AND message_id = ?",
            (user_id, message_id),
        )
        return str(row["payload"]) if row is not None else None
