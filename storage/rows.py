"""Rows to dataclasses, and the text form of timestamps in the database.

The one place that knows how a ``testimonials`` or ``users`` row maps onto
``storage.models``: the repository's stores and the book's read-only snapshot use it alike.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from storage.models import (
    Approval,
    Proposal,
    Signature,
    Status,
    Step,
    Testimonial,
    User,
    join_quote,
    utcnow,
)

#: The ``users`` columns of a join, renamed ``u_*`` (read back by ``user_from_row(row, "u_")``).
USER_AS_U = (
    "u.user_id AS u_user_id, u.language AS u_language, u.banned AS u_banned,"
    " u.blocked_bot AS u_blocked_bot, u.first_name AS u_first_name,"
    " u.last_name AS u_last_name, u.username AS u_username"
)


def to_ts(value: datetime | None = None) -> str:
    """Return a timestamp as the database stores it (ISO 8601, microseconds); now if None."""
    return (value or utcnow()).isoformat(timespec="microseconds")


def from_ts(value: str | None) -> datetime | None:
    """Read back a timestamp written by ``to_ts`` (None stays None)."""
    return datetime.fromisoformat(value) if value else None


def ids_from_json(value: str | None) -> tuple[int, ...]:
    """Read a JSON list of message ids (``channel_message_ids``, ``card_message_ids``)."""
    return tuple(json.loads(value)) if value else ()


def testimonial_from_row(row: sqlite3.Row) -> Testimonial:
    """Return the testimonial of a ``SELECT *`` (or ``RETURNING *``) row of ``testimonials``."""
    created = from_ts(row["created_at"])
    updated = from_ts(row["updated_at"])
    assert created is not None and updated is not None
    status = Status(row["status"])
    parts = tuple(json.loads(row["quote_parts"]))
    return Testimonial(
        id=row["id"],
        user_id=row["user_id"],
        status=status,
        step=Step(row["step"]) if row["step"] else None,
        language=row["language"],
        name=row["name"],
        organisation=row["organisation"],
        quote=join_quote(parts) if status is Status.DRAFT else row["quote"],
        created_at=created,
        updated_at=updated,
        version=row["version"],
        start_payload=row["start_payload"],
        link_payload=row["link_payload"],
        consent_at=from_ts(row["consent_at"]),
        consent_text=row["consent_text"],
        submitted_at=from_ts(row["submitted_at"]),
        decided_at=from_ts(row["decided_at"]),
        decided_by=row["decided_by"],
        decided_by_name=row["decided_by_name"],
        reject_reason=row["reject_reason"],
        reject_reason_key=row["reject_reason_key"],
        approved_seq=row["approved_seq"],
        published_at=from_ts(row["published_at"]),
        channel_message_ids=ids_from_json(row["channel_message_ids"]),
        card_message_ids=ids_from_json(row["card_message_ids"]),
        card_done=bool(row["card_done"]),
        source=row["source"],
        import_key=row["import_key"],
        author_name=row["author_name"],
        author_username=row["author_username"],
        quote_parts=parts,
        answer_messages=json.loads(row["answer_messages"]),
        question_delivered=row["asked_version"] == row["version"],
        prompt_message_id=row["prompt_message_id"],
        approvals=approvals_from_json(row["approvals"]),
        prompt_kind=row["prompt_kind"],
        pending_addition=row["pending_addition"],
        signature=Signature(row["signature"]),
        portrait=row["portrait"],
        portrait_offer=row["portrait_offer"],
        album_answered=row["album_answered"],
        card_photo_message_id=row["card_photo_message_id"],
        proposal=proposal_from_json(row["proposal"]),
        proposal_message_id=row["proposal_message_id"],
        words_version=row["words_version"],
        agreed_words_version=row["agreed_words_version"],
        created_by_update=row["created_by_update"],
        submission_confirmed=bool(row["submission_confirmed"]),
    )


def approvals_from_json(value: str | None) -> tuple[Approval, ...]:
    """Read the ``approvals`` column: a JSON list of ``{"id", "name", "at"}``."""
    approvals = []
    for item in json.loads(value) if value else ():
        at = from_ts(item["at"])
        assert at is not None
        approvals.append(Approval(int(item["id"]), str(item["name"]), at))
    return tuple(approvals)


def proposal_from_json(value: str | None) -> Proposal | None:
    """Read the ``proposal`` column (None: no edit waits for the author)."""
    if not value:
        return None
    item = json.loads(value)
    at = from_ts(item["at"])
    assert at is not None
    fields = {str(k): str(v) for k, v in item["fields"].items()}
    return Proposal(fields, int(item["by"]), str(item["by_name"]), at, int(item["rev"]))


def proposal_to_json(proposal: Proposal) -> str:
    """Write the ``proposal`` column (read back by ``proposal_from_json``)."""
    return json.dumps(
        {
            "fields": proposal.fields,
            "by": proposal.by,
            "by_name": proposal.by_name,
            "at": to_ts(proposal.at),
            "rev": proposal.rev,
        }
    )


def approvals_to_json(approvals: tuple[Approval, ...] | list[Approval]) -> str:
    """Write the ``approvals`` column (read back by ``approvals_from_json``)."""
    return json.dumps([{"id": a.user_id, "name": a.name, "at": to_ts(a.at)} for a in approvals])


def user_from_row(row: sqlite3.Row, prefix: str = "") -> User:
    """Return the user of a ``users`` row (``prefix``: the columns' prefix in a join)."""
    return User(
        user_id=row[f"{prefix}user_id"],
        language=row[f"{prefix}language"],
        banned=bool(row[f"{prefix}banned"]),
        blocked_bot=bool(row[f"{prefix}blocked_bot"]),
        first_name=row[f"{prefix}first_name"],
        last_name=row[f"{prefix}last_name"],
        username=row[f"{prefix}username"],
    )
