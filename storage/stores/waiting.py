"""What a pending testimonial waits for besides a decision: the organisers' approvals (when
several are needed) and its author's answer to an organiser's edit."""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from storage.models import Approval, Proposal, Status, Testimonial, utcnow
from storage.rows import approvals_to_json, proposal_to_json, testimonial_from_row, to_ts
from storage.stores.base import Store
from storage.stores.moderation import EDITABLE


class WaitingStore(Store):
    """The ``approvals`` and ``proposal`` columns of pending testimonials."""

    async def add_approval(
        self, testimonial_id: int, by: int, by_name: str
    ) -> tuple[Testimonial | None, bool]:
        """Record that organiser ``by`` approves a pending testimonial (once: a second press
        adds nothing) and give back their /review claim on it, so that another organiser
        gets it. Return the testimonial as it is now and whether the approval was new."""
        async with self.db.transaction() as conn:
            testimonial = await _read(conn, testimonial_id)
            if testimonial is None or testimonial.status is not Status.PENDING:
                return testimonial, False
            if any(a.user_id == by for a in testimonial.approvals):
                return testimonial, False
            approvals = [*testimonial.approvals, Approval(by, by_name, utcnow())]
            rows = list(
                await conn.execute_fetchall(
                    "UPDATE testimonials SET approvals = ?, version = version + 1,"
                    " claimed_by = CASE WHEN claimed_by = ? THEN NULL ELSE claimed_by END,"
                    " claimed_until = CASE WHEN claimed_by = ? THEN NULL ELSE claimed_until END"
                    " WHERE id = ? RETURNING *",
                    (approvals_to_json(approvals), by, by, testimonial_id),
                )
            )
        return testimonial_from_row(rows[0]), True

    async def drop_approvals(
        self, user_id: int, testimonial_ids: Sequence[int] | None = None
    ) -> list[Testimonial]:
        """Take back ``user_id``'s approvals of pending testimonials (they no longer
        organise): of those in ``testimonial_ids``, or of all. Return the testimonials
        changed, as they are now."""
        changed = []
        async with self.db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "SELECT t.* FROM testimonials t WHERE t.status = 'pending'"
                " AND EXISTS (SELECT 1 FROM json_each(t.approvals) j"
                " WHERE json_extract(j.value, '$.id') = ?)",
                (user_id,),
            )
            for row in rows:
                testimonial = testimonial_from_row(row)
                if testimonial_ids is not None and testimonial.id not in testimonial_ids:
                    continue
                kept = [a for a in testimonial.approvals if a.user_id != user_id]
                written = list(
                    await conn.execute_fetchall(
                        "UPDATE testimonials SET approvals = ?, version = version + 1"
                        " WHERE id = ? RETURNING *",
                        (approvals_to_json(kept), testimonial.id),
                    )
                )
                changed.append(testimonial_from_row(written[0]))
        return changed

    async def propose_edit(
        self, testimonial_id: int, field: str, value: str, *, by: int, by_name: str
    ) -> Testimonial | None:
        """Record an organiser's correction of a pending testimonial as an edit waiting for
        its author (merged into one still waiting; a value back to the author's own words
        leaves that field out), to be sent to them afresh. The approvals given so far are
        cleared. Return the testimonial as it is now, None if it is no longer pending."""
        column = EDITABLE[field]
        async with self.db.transaction() as conn:
            testimonial = await _read(conn, testimonial_id)
            if testimonial is None or testimonial.status is not Status.PENDING:
                return None
            old = testimonial.proposal
            fields = dict(old.fields) if old else {}
            if value == getattr(testimonial, column):
                fields.pop(column, None)
            else:
                fields[column] = value
            rev = (old.rev if old else 0) + 1
            proposal = (
                proposal_to_json(Proposal(fields, by, by_name, utcnow(), rev)) if fields else None
            )
            rows = list(
                await conn.execute_fetchall(
                    "UPDATE testimonials SET proposal = ?, proposal_message_id = NULL,"
                    " approvals = '[]', version = version + 1, updated_at = ?"
                    " WHERE id = ? RETURNING *",
                    (proposal, to_ts(), testimonial_id),
                )
            )
        return testimonial_from_row(rows[0])

    async def set_proposal_message(self, testimonial_id: int, rev: int, message_id: int) -> None:
        """Remember the author's message that shows edit ``rev`` (it is not sent again)."""
        await self.db.execute(
            "UPDATE testimonials SET proposal_message_id = ?"
            " WHERE id = ? AND json_extract(proposal, '$.rev') = ?",
            (message_id, testimonial_id, rev),
        )

    async def answer_proposal(
        self, testimonial_id: int, rev: int, *, accept: bool
    ) -> Testimonial | None:
        """The author's answer to edit ``rev`` of a pending testimonial: ``accept`` puts the
        edited words in (a new version of the words, the one they agree to), else their own
        words stay. Return the testimonial as it is now, None if that edit no longer waits
        (decided, withdrawn, edited again, answered already)."""
        async with self.db.transaction() as conn:
            testimonial = await _read(conn, testimonial_id)
            if (
                testimonial is None
                or testimonial.status is not Status.PENDING
                or testimonial.proposal is None
                or testimonial.proposal.rev != rev
            ):
                return None
            sets, params = "", []
            if accept:
                for field, value in testimonial.proposal.fields.items():
                    sets += f", {EDITABLE[field]} = ?"
                    params.append(value)
                sets += (
                    ", words_version = words_version + 1,"
                    " agreed_words_version = words_version + 1, approvals = '[]'"
                )
            rows = list(
                await conn.execute_fetchall(
                    f"UPDATE testimonials SET proposal = NULL, proposal_message_id = NULL,"
                    f" version = version + 1,"
                    f" updated_at = ?{sets} WHERE id = ? RETURNING *",
                    (to_ts(), *params, testimonial_id),
                )
            )
        return testimonial_from_row(rows[0])

    async def proposals_to_send(self) -> list[int]:
        """Return the ids of pending testimonials whose edit was never shown to the author
        (the bot stopped before it was sent, or before Telegram confirmed it)."""
        rows = await self.db.fetchall(
            "SELECT id FROM testimonials WHERE status = 'pending' AND proposal IS NOT NULL"
            " AND proposal_message_id IS NULL ORDER BY id"
        )
        return [int(r[0]) for r in rows]


async def _read(conn: aiosqlite.Connection, testimonial_id: int) -> Testimonial | None:
    """Read one testimonial inside the caller's transaction."""
    rows = list(
        await conn.execute_fetchall("SELECT * FROM testimonials WHERE id = ?", (testimonial_id,))
    )
    return testimonial_from_row(rows[0]) if rows else None
