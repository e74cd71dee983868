"""What every store shares: the database, and the one way a testimonial's status changes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite

from storage.database import Database
from storage.models import TRANSITIONS, Status, Testimonial, check_transition
from storage.rows import testimonial_from_row, to_ts


class Store:
    """The SQL of one aggregate, on the process's shared ``Database``."""

    def __init__(self, db: Database) -> None:
        self.db = db


async def move(
    conn: aiosqlite.Connection,
    testimonial_id: int,
    target: Status,
    *,
    expected: Iterable[Status] | None = None,
    sets: str = "",
    params: Sequence[Any] = (),
) -> Testimonial | None:
    """Change a testimonial's status, the one way every status changes: a compare-and-set
    from the statuses ``TRANSITIONS`` allows (narrowed to ``expected``, each of which must be
    allowed). ``sets`` adds assignments (``", column = ?"``) whose values are ``params``.
    Return the row as written, or None if it was in none of those statuses. Runs inside the
    caller's transaction (``conn``)."""
    if expected is None:
        sources = [s for s in Status if target in TRANSITIONS[s]]
    else:
        sources = list(expected)
        for source in sources:
            check_transition(source, target)
    marks = ", ".join("?" * len(sources))
    rows = list(
        await conn.execute_fetchall(
            f"UPDATE testimonials SET status = ?, version = version + 1, updated_at = ?{sets}"
            f" WHERE id = ? AND status IN ({marks}) RETURNING *",
            (target.value, to_ts(), *params, testimonial_id, *(s.value for s in sources)),
        )
    )
    return testimonial_from_row(rows[0]) if rows else None
