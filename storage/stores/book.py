"""The book's rows: the testimonials a livre d'or holds, and imported entries.

Reading and writing the book as a file is ``bot/book``'s job; this is only its SQL (and
``storage.snapshot`` reads the same rows on a read-only connection of its own).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from storage.models import Signature, Testimonial
from storage.rows import testimonial_from_row, to_ts
from storage.stores.base import Store

#: The testimonials a book holds (``list_for_book`` and ``storage.snapshot``).
BOOK_STATUSES = "status IN ('approved', 'publishing', 'published')"
#: The orders a book can be printed in, as ``ORDER BY`` clauses.
EXPORT_ORDERS = {
    "date": "approved_seq",
    "name": "name COLLATE NOCASE, approved_seq",
    "organisation": "organisation COLLATE NOCASE, name COLLATE NOCASE, approved_seq",
}


class BookStore(Store):
    """Approved testimonials as a book, and entries imported from one."""

    async def list_for_book(self, order: str = "date") -> list[Testimonial]:
        """Return approved testimonials (published or not) in the requested order."""
        order_by = EXPORT_ORDERS[order]
        rows = await self.db.fetchall(
            f"SELECT * FROM testimonials WHERE {BOOK_STATUSES} ORDER BY {order_by}"
        )
        return [testimonial_from_row(r) for r in rows]

    async def import_entries(
        self,
        entries: Iterable[Sequence[str]],
        *,
        language: str,
        publish: bool,
    ) -> tuple[int, int]:
        """Store ``(import_key, name, organisation, quote[, signature])`` entries as
        approved, in one transaction; skip keys already present. Returns (added, skipped)."""
        now = to_ts()
        added = skipped = 0
        async with self.db.transaction() as conn:
            for key, name, organisation, quote, *signature in entries:
                rows = list(
                    await conn.execute_fetchall(
                        "INSERT INTO testimonials (status, language, name, organisation, quote,"
                        " created_at, updated_at, decided_at, source, import_key, approved_seq,"
                        " signature) VALUES ('approved', ?, ?, ?, ?, ?, ?, ?, 'import', ?,"
                        " (SELECT coalesce(max(approved_seq), 0) + 1 FROM testimonials), ?)"
                        " ON CONFLICT (import_key) DO NOTHING RETURNING id",
                        (
                            *(language, name, organisation, quote, now, now, now, key),
                            Signature(signature[0] if signature else Signature.FULL).value,
                        ),
                    )
                )
                if not rows:
                    skipped += 1
                    continue
                added += 1
                if publish:
                    await conn.execute(
                        "INSERT INTO outbox (testimonial_id, action, created_at)"
                        " VALUES (?, 'publish', ?)",
                        (rows[0][0], now),
                    )
        return added, skipped
