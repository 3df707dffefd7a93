"""Who may see what: the rules of domain.md ("The two meetings, and who may see what") in one place.

Every service that reads personal data asks here; pages and the API only ever call services.
A refusal looks exactly like "not found" to the caller, so nothing hints that a record exists.
"""

from __future__ import annotations

from sqlalchemy import exists, or_, select

from app.extensions import db
from app.models import Agency, Case, Consent, Referral, User, WorkItem
from app.services import queues

# Roles that never see case content through the normal case view (domain.md: admins see no case
# content, statisticians aggregates only, council members only their meeting's material).
NO_CASE_CONTENT = {
    "admin",
    "statistician",
    "community_coordinator",
    "council_member",
    "process_designer",
    "auditor",
}
SUPERVISOR = "supervisor"
OVERRIDE_ROLES = {"supervisor", "coordinator"}
OVERRIDE_BASES = {
    "support_council": "支援会議（社会福祉法第106条の6）",
    "life_protection": "生命・身体の保護",
}


def has_active_consent(case: Case) -> bool:
    return bool(
        db.session.scalar(
            select(exists().where(Consent.case_id == case.id, Consent.withdrawn_on.is_(None)))
        )
    )


def owners(case: Case) -> set[int]:
    """The window that took the case and its primary agency: they hold the record as their own."""
    return {a for a in (case.intake_agency_id, case.primary_agency_id) if a}


def referral_allows(case: Case, agency_id: int) -> bool:
    """A window the case was referred to sees it while the person's consent stands (or the referral
    was made under a recorded override)."""
    referrals = list(
        db.session.scalars(
            select(Referral).where(
                Referral.case_id == case.id,
                Referral.to_agency_id == agency_id,
                Referral.status.in_(["sent", "accepted", "done"]),
            )
        )
    )
    return any(r.consent_basis == "override" for r in referrals) or (
        bool(referrals) and has_active_consent(case)
    )


def _agency_allowed(case: Case, agency_id: int | None) -> bool:
    return agency_id is not None and (agency_id in owners(case) or referral_allows(case, agency_id))


def _queue_allowed(case: Case | None, queue: str) -> bool:
    """Group queues (多機関協働, 支援会議 ...) act under the flow's own basis; an agency queue of a
    window that does not own the case needs consent (or an override) for the referral."""
    if case is None or not queue.startswith(queues.agency_queue("")):
        return True
    code = queue[len(queues.agency_queue("")) :]
    agency_id = db.session.scalar(select(Agency.id).where(Agency.code == code))
    return _agency_allowed(case, agency_id)


def may_see_case(actor: User, case: Case) -> bool:
    """Own window: the staff of the agencies on the case, and whoever holds (or held) one of the
    case's tasks in their queues — within what consent allows."""
    if actor.role in NO_CASE_CONTENT or not actor.active:
        return False
    if _agency_allowed(case, actor.agency_id):
        return True
    mine = queues.queues_of(actor)
    worked = db.session.scalars(
        select(WorkItem.queue).where(
            WorkItem.case_id == case.id,
            WorkItem.status != "cancelled",
            or_(
                WorkItem.queue.in_(mine),
                WorkItem.assignee_id == actor.id,
                WorkItem.completed_by_id == actor.id,
            ),
        )
    )
    return any(_queue_allowed(case, queue) for queue in set(worked))


def may_work_on(actor: User, item: WorkItem) -> bool:
    """A work item is visible to its assignee and to members of its queue (never to content-less roles)."""
    if actor.role in NO_CASE_CONTENT or not actor.active:
        return False
    if item.assignee_id != actor.id and item.queue not in queues.queues_of(actor):
        return False
    case = db.session.get(Case, item.case_id) if item.case_id is not None else None
    return _queue_allowed(case, item.queue)


def may_see_restricted(actor: User, case: Case) -> bool:
    """Fields marked X (a DV victim's address, confidential notes): the case's own window only."""
    return actor.role not in NO_CASE_CONTENT and actor.agency_id in owners(case)


def may_override_consent(actor: User) -> bool:
    return actor.role in OVERRIDE_ROLES
