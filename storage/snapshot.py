"""A read-only view of the database for long reads in a thread (``/export``).

The bot's aiosqlite connection is shared by every conversation: a 100,000-row read on it
would hold its lock (and its thread) for seconds. The book is read instead on a connection of
its own, opened read-only in the worker thread that builds the file, inside one read
transaction (a consistent snapshot in WAL mode while the bot keeps writing), in batches, so
that the whole book is never in memory at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

from storage.models import Testimonial
from storage.rows import testimonial_from_row
from storage.stores.book import BOOK_STATUSES, EXPORT_ORDERS

BATCH = 500


class BookSnapshot:
    """One read transaction on a read-only connection; use it from a single thread."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA busy_timeout = 10000")
        self._conn.execute("BEGIN")

    def __enter__(self) -> BookSnapshot:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._conn.close()

    def index(self, order: str = "date") -> list[tuple[int, str | None]]:
        """Return ``(id, start_payload)`` of the book's testimonials in the requested order
        (what ``Repository.list_for_book`` returns, without the rest of each row)."""
        order_by = EXPORT_ORDERS[order]
        cursor = self._conn.execute(
            f"SELECT id, start_payload FROM testimonials WHERE {BOOK_STATUSES} ORDER BY {order_by}"
        )
        return [(row[0], row[1]) for row in cursor]

    def state(self, key: str) -> str | None:
        """Return a value the bot keeps across restarts (``bot_state``), None if unset."""
        row = self._conn.execute("SELECT value FROM bot_state WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def testimonials(self, ids: Sequence[int]) -> Iterator[Testimonial]:
        """Yield the testimonials of ``ids`` in that order, reading ``BATCH`` rows at a time."""
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            marks = ",".join("?" * len(batch))
            rows = self._conn.execute(f"SELECT * FROM testimonials WHERE id IN ({marks})", batch)
            by_id = {row["id"]: row for row in rows}
            for testimonial_id in batch:
                yield testimonial_from_row(by_id[testimonial_id])
