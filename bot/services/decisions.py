"""Approving and rejecting: the one decision path (card buttons, typed reasons, /review)."""

from __future__ import annotations

import logging

from bot.services.container import Services
from storage.models import Decision, Status, Testimonial

log = logging.getLogger(__name__)


async def decide(
    svc: Services,
    testimonial_id: int,
    target: Status,
    *,
    by: int,
    who: str,
    reason: str | None = None,
    reason_key: str | None = None,
) -> Decision:
    """Approve or reject a testimonial waiting for review.

    The compare-and-set in SQL decides who won; the winner's decision is published (the
    publisher edits the card once the post is out) or the card is refreshed and the author
    told. A lost decision changes nothing. The caller has checked that ``by`` organises."""
    decision = await svc.repo.decide(
        testimonial_id, target, by=by, by_name=who, reason=reason, reason_key=reason_key
    )
    if not decision.won or decision.testimonial is None:
        return decision
    decided = decision.testimonial
    log.info("testimonial #%d %s by %s (%d)", decided.id, target.value, who, by)
    svc.backlog.poke()
    if target is Status.APPROVED:
        # The card is edited once the post is out (the publisher does it): one edit.
        svc.publisher.wake()
        return decision
    svc.desk.refresh_later(decided.id)
    await svc.desk.notify_rejected(decided)
    return decision


def already(svc: Services, testimonial: Testimonial | None, *, lang: str | None = None) -> str:
    """Say what became of a testimonial someone else decided first (in ``lang``, by default
    the organisers' group's)."""
    texts, lang = svc.texts, lang or svc.group.lang
    if testimonial is None:
        return texts(lang, "moderation.not_found")
    who = testimonial.decided_by_name or "?"
    if testimonial.status is Status.REJECTED:
        return texts(lang, "moderation.already_rejected", who=who)
    if testimonial.status in (Status.APPROVED, Status.PUBLISHING, Status.PUBLISHED):
        return texts(lang, "moderation.already_approved", who=who)
    status = texts(lang, f"status.{testimonial.status.value}")
    return texts(lang, "moderation.already_other", status=status)
