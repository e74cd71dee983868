"""People: the ``users`` rows, and erasing everything held about a person (/forget)."""

from __future__ import annotations

from storage.models import Forgotten, Status, User
from storage.rows import ids_from_json, testimonial_from_row, to_ts, user_from_row
from storage.stores.portraits import PortraitStore, portrait_names


class PeopleStore(PortraitStore):
    """Telegram users as the bot knows them."""

    async def upsert_user(
        self, user_id: int, first_name: str, last_name: str | None, username: str | None
    ) -> None:
        """Record (or refresh) a Telegram user's profile."""
        now = to_ts()
        await self.db.execute(
            "INSERT INTO users (user_id, first_name, last_name, username, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
            " first_name = excluded.first_name, last_name = excluded.last_name,"
            " username = excluded.username, updated_at = excluded.updated_at",
            (user_id, first_name, last_name, username, now, now),
        )

    async def get_user(self, user_id: int) -> User | None:
        """Return a user, or None if the bot never saw them."""
        row = await self.db.fetchone("SELECT * FROM users WHERE user_id = ?", (user_id,))
        return user_from_row(row) if row else None

    async def set_language(self, user_id: int, language: str) -> None:
        """Store the language a user chose with /language."""
        await self.db.execute(
            "UPDATE users SET language = ?, updated_at = ? WHERE user_id = ?",
            (language, to_ts(), user_id),
        )

    async def set_banned(self, user_id: int, banned: bool) -> bool:
        """Ban or unban a user; return False if the user is unknown."""
        count = await self.db.execute(
            "UPDATE users SET banned = ?, updated_at = ? WHERE user_id = ?",
            (int(banned), to_ts(), user_id),
        )
        return count == 1

    async def set_blocked_bot(self, user_id: int, blocked: bool) -> None:
        """Remember that a user blocked (or unblocked) the bot."""
        await self.db.execute(
            "UPDATE users SET blocked_bot = ?, updated_at = ? WHERE user_id = ?",
            (int(blocked), to_ts(), user_id),
        )

    async def forget_user(self, user_id: int) -> Forgotten:
        """Erase everything held about a person; return their testimonials as they were,
        and those whose channel posts are being removed (queued now, or already queued by a
        withdrawal still under way). Texts are blanked, the user row is deleted.

        Run after the Telegram side is erased (cards, /review, exchanges, books), never
        before: a crash after this commit replays a /forget that could no longer find them.
        The rows that point at those messages are dropped as each is erased, not here."""
        now = to_ts()
        async with self.db.transaction() as conn:
            dropped = await portrait_names(conn, "user_id = ?", (user_id,))
            rows = list(
                await conn.execute_fetchall(
                    "SELECT t.*, EXISTS (SELECT 1 FROM outbox o WHERE o.testimonial_id = t.id"
                    " AND o.action = 'unpublish' AND o.done_at IS NULL) AS removing"
                    " FROM testimonials t WHERE t.user_id = ?",
                    (user_id,),
                )
            )
            with_posts = [r for r in rows if ids_from_json(r["channel_message_ids"])]
            # A withdrawn testimonial's posts were removed (or are being removed) when it was
            # withdrawn: it is not queued again, and counted only while still under way.
            to_remove = [r for r in with_posts if r["status"] != Status.WITHDRAWN.value]
            queued = {r["id"] for r in to_remove}
            posted = [
                testimonial_from_row(r) for r in with_posts if r["id"] in queued or r["removing"]
            ]
            await conn.execute(
                "UPDATE outbox SET done_at = ? WHERE done_at IS NULL AND action = 'publish'"
                " AND testimonial_id IN (SELECT id FROM testimonials WHERE user_id = ?)",
                (now, user_id),
            )
            for row in to_remove:
                await conn.execute(
                    "INSERT INTO outbox (testimonial_id, action, created_at)"
                    " VALUES (?, 'unpublish', ?)",
                    (row["id"], now),
                )
            await conn.execute(
                "DELETE FROM testimonials WHERE user_id = ? AND id NOT IN"
                " (SELECT testimonial_id FROM outbox WHERE done_at IS NULL)",
                (user_id,),
            )
            # An erasure, not a move of the state machine: what is left (posts still to
            # delete) is blanked and marked withdrawn, whatever its status was.
            await conn.execute(
                "UPDATE testimonials SET status = 'withdrawn', name = '', organisation = '',"
                " quote = '', quote_parts = '[]', answer_messages = '{}', consent_text = NULL,"
                " author_name = NULL, author_username = NULL, start_payload = NULL,"
                " portrait = NULL, portrait_offer = NULL, link_payload = NULL,"
                " user_id = NULL, version = version + 1, updated_at = ? WHERE user_id = ?",
                (now, user_id),
            )
            await conn.execute("DELETE FROM users WHERE user_id = ?", (user_id,))
            await conn.execute("DELETE FROM asked_messages WHERE user_id = ?", (user_id,))
            await conn.execute("DELETE FROM offered_links WHERE user_id = ?", (user_id,))
            # A handled update's JSON is blanked when it is marked done (storage/inbox.py);
            # a database written by an older livredor may still hold some (the person's words
            # and name, organisers' presses with the card's text): blank those too.
            await conn.execute("UPDATE inbox SET payload = '' WHERE done_at IS NOT NULL")
        # The erased text must not stay readable in the -wal file while the bot runs (nor
        # in the database file's older pages): after this update's own inbox row is blanked.
        await self.db.checkpoint_later()
        self._drop_files(dropped)
        return Forgotten([testimonial_from_row(r) for r in rows], posted)
