"""Portraits: which testimonial holds which image file, and the card's copy of it.

The files themselves are ``storage.portraits`` (beside the database). A write that drops a
portrait from a row deletes its file once committed (``drop_files``); ``sweep_portraits``
removes at start whatever a crash left that no row names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import aiosqlite

from storage.models import Status, Testimonial
from storage.portraits import PortraitFiles, portraits_dir
from storage.rows import testimonial_from_row, to_ts
from storage.stores.base import Store

#: Where organisers may still take the photo off: before the channel has it.
REMOVABLE = (Status.PENDING, Status.APPROVED)


class PortraitStore(Store):
    """The ``portrait`` columns of testimonials, and their files."""

    _portraits_folder: PortraitFiles | None = None

    @property
    def _portrait_files(self) -> PortraitFiles:
        """The database's portraits folder (beside it)."""
        if self._portraits_folder is None:
            self._portraits_folder = PortraitFiles(portraits_dir(self.db.path))
        return self._portraits_folder

    async def keep_portrait(self, image: bytes) -> str:
        """Write an image durably beside the database (in a thread); return its file name,
        for the row that will name it. Written first: a crash before that row is committed
        leaves a file ``sweep_portraits`` removes."""
        return await asyncio.to_thread(self._portrait_files.write, image)

    async def read_portrait(self, name: str) -> bytes | None:
        """A portrait's bytes (None: its file is gone)."""
        return await asyncio.to_thread(self._portrait_files.read, name)

    async def discard_portraits(self, names: list[str]) -> None:
        """Delete files no row names (a write that lost its compare-and-set)."""
        self._drop_files(names)

    async def portraits_named(self) -> set[str]:
        """Every file name a row holds (a portrait, or a second photo offered)."""
        rows = await self.db.fetchall(
            "SELECT portrait AS name FROM testimonials WHERE portrait IS NOT NULL"
            " UNION SELECT portrait_offer FROM testimonials WHERE portrait_offer IS NOT NULL",
            (),
        )
        return {row["name"] for row in rows}

    async def sweep_portraits(self) -> int:
        """Delete the files no row names (a crash between a file and its row); at start,
        before any update is handled."""
        return self._portrait_files.sweep(await self.portraits_named())

    async def remove_portrait(self, testimonial_id: int) -> Testimonial | None:
        """Take the photo off a testimonial not yet posted (its words stay); None if it had
        none or is past that point. Its file is deleted."""
        marks = ", ".join("?" * len(REMOVABLE))
        async with self.db.transaction() as conn:
            names = await portrait_names(conn, "id = ?", (testimonial_id,))
            rows = list(
                await conn.execute_fetchall(
                    "UPDATE testimonials SET portrait = NULL, version = version + 1,"
                    f" updated_at = ? WHERE id = ? AND portrait IS NOT NULL AND status IN ({marks})"
                    " RETURNING *",
                    (to_ts(), testimonial_id, *(s.value for s in REMOVABLE)),
                )
            )
        if not rows:
            return None
        self._drop_files(names)
        return testimonial_from_row(rows[0])

    async def set_card_photo(self, testimonial_id: int, message_id: int | None) -> None:
        """Record the organisers' group message that shows the photo (None: gone)."""
        await self.db.execute(
            "UPDATE testimonials SET card_photo_message_id = ? WHERE id = ?",
            (message_id, testimonial_id),
        )

    def _drop_files(self, names: Iterable[str | None]) -> None:
        """Delete files whose rows no longer name them (call after the commit)."""
        self._portrait_files.delete(names)

    def _drop_unnamed(self, before: Testimonial, after: Testimonial | None) -> None:
        """Delete the files ``before`` named that ``after`` (None: gone) no longer names."""
        kept = {after.portrait, after.portrait_offer} if after is not None else set()
        self._drop_files(n for n in (before.portrait, before.portrait_offer) if n not in kept)

    async def _delete_drafts(
        self, conn: aiosqlite.Connection, where: str, params: tuple[object, ...]
    ) -> tuple[int, list[str]]:
        """Delete the rows ``where`` selects (inside the caller's transaction); return how
        many, and the files they named (to delete once committed)."""
        # One statement, one round trip: the rows go and say which files they named.
        rows = await conn.execute_fetchall(
            f"DELETE FROM testimonials WHERE {where} RETURNING portrait, portrait_offer", params
        )
        rows = list(rows)
        return len(rows), [name for row in rows for name in (row[0], row[1]) if name]


async def portrait_names(
    conn: aiosqlite.Connection, where: str, params: tuple[object, ...]
) -> list[str]:
    """The file names held by the testimonials ``where`` selects (inside a transaction
    that is about to drop them)."""
    rows = await conn.execute_fetchall(
        f"SELECT portrait, portrait_offer FROM testimonials WHERE {where}", params
    )
    return [name for row in rows for name in (row[0], row[1]) if name]
