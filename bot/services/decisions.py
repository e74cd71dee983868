"""Approving and rejecting: the one decision path (card buttons, typed reasons, /review)."""

from __future__ import annotations

import logging

from bot.services import author_edits
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
    told. A lost decision changes nothing. The caller has checked that ``by`` organises.

    With LIVREDOR_APPROVALS above 1, an approval is recorded (once per organiser) and
    decides only when that many organisers approved, each still an organiser at that moment
    (an approval of someone demoted meanwhile is dropped); one rejection decides at once."""
    if target is Status.APPROVED and svc.settings.approvals > 1:
        counted = await _count_approval(svc, testimonial_id, by=by, who=who)
        if counted.testimonial is None or counted.recorded:
            return counted
        # Enough organisers: the approval is decided in their names.
        who = ", ".join(a.name for a in counted.testimonial.approvals)
    decision = await svc.repo.decide(
        testimonial_id, target, by=by, by_name=who, reason=reason, reason_key=reason_key
    )
    if not decision.won or decision.testimonial is None:
        return decision
    decided = decision.testimonial
    log.info("testimonial #%d %s by %s (%d)", decided.id, target.value, who, by)
    # An edit that still waited for the author is dropped with the decision: its buttons go.
    await author_edits.close(svc, decided)
    svc.backlog.poke()
    if target is Status.APPROVED:
        # The card is edited once the post is out (the publisher does it): one edit.
        svc.publisher.wake()
        return decision
    svc.desk.refresh_later(decided.id)
    await svc.desk.notify_outcome(decided)
    return decision


async def _count_approval(svc: Services, testimonial_id: int, *, by: int, who: str) -> Decision:
    """Record ``by``'s approval; return it as ``recorded`` while fewer organisers than
    needed approved, else the testimonial with the approvals that count (the caller then
    decides). Not pending any more: not recorded, not won."""
    needed = svc.settings.approvals
    testimonial, added = await svc.repo.add_approval(testimonial_id, by, who)
    if testimonial is None or testimonial.status is not Status.PENDING:
        return Decision(False, testimonial, needed=needed)
    if len(testimonial.approvals) >= needed:
        # The moment of the decision: the others' approvals count only if they organise now.
        for approval in testimonial.approvals:
            if approval.user_id == by or await svc.desk.is_organiser_id(
                approval.user_id, fresh=True
            ):
                continue
            log.info("testimonial #%d: an approval of a former organiser dropped", testimonial_id)
            for changed in await svc.repo.drop_approvals(approval.user_id, [testimonial_id]):
                testimonial = changed
    if len(testimonial.approvals) >= needed:
        return Decision(False, testimonial, needed=needed)
    if added:
        log.info(
            "testimonial #%d: approval %d of %d by %s (%d)",
            testimonial_id,
            len(testimonial.approvals),
            needed,
            who,
            by,
        )
    svc.desk.refresh_later(testimonial_id)
    return Decision(False, testimonial, recorded=True, again=not added, needed=needed)


def answer(
    svc: Services,
    decision: Decision,
    target: Status,
    *,
    lang: str | None = None,
    edit_waited: bool = False,
) -> str:
    """Say to the organiser who pressed what their decision did (in ``lang``, by default the
    group's): decided, counted as one of the approvals needed, or lost to someone else.
    ``edit_waited``: an organisers' change waited for the author's answer (the card said
    Approve publishes the author's own words; the decision drops the change)."""
    texts, lang = svc.texts, lang or svc.group.lang
    if decision.won:
        if target is not Status.APPROVED:
            return texts(lang, "moderation.rejected_answer")
        key = "approved_own_words" if edit_waited else "approved_answer"
        return texts(lang, f"moderation.{key}")
    if decision.recorded and decision.testimonial is not None:
        count = len(decision.testimonial.approvals)
        key = "approval_again" if decision.again else "approval_counted"
        return texts(lang, f"moderation.{key}", approved=count, needed=decision.needed)
    return already(svc, decision.testimonial, lang=lang)


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
