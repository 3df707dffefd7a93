"""Who may see what: the rules of domain.md ("The two meetings, and who may see what") in one place.

Access is one query: ``case_filter`` and ``work_item_filter`` are SQL conditions that every listing,
count, search and export adds to its statement, and the single-record checks (``may_see_case``,
``may_work_on``) ask the database the same question for one row, so a page and a list can never
disagree. A refusal looks exactly like "not found" to the caller, so nothing hints that a record exists.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    false,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Case, Consent, Referral, User, WorkItem
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
# The 支援会議 is chaired by a supervisor: only the chair works a task that carries its material.
COUNCIL_CHAIR_ROLES = {"supervisor"}
OVERRIDE_ROLES = {"supervisor", "coordinator"}
OVERRIDE_BASES = {
    "support_council": "支援会議（社会福祉法第106条の6）",
    "life_protection": "生命・身体の保護",
}
LIVE_REFERRALS = ("sent", "accepted", "done")


def _reads_cases(actor: User) -> bool:
    return actor.active and actor.role not in NO_CASE_CONTENT


def _consent_stands(case_id: ColumnElement[Any]) -> ColumnElement[bool]:
    return exists().where(Consent.case_id == case_id, Consent.withdrawn_on.is_(None))


# The cases an agency holds, read through an alias so an outer query over ``Case`` is not
# correlated with it (made once: building an alias is costly on the hot path).
_HELD = aliased(Case, name="held_case")


def _referred(agency_id: int, case_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """SQL: the case was referred to the agency and it may still see it (the person's consent
    stands, or the referral was made under a recorded override)."""
    return exists().where(
        Referral.case_id == case_id,
        Referral.to_agency_id == agency_id,
        Referral.status.in_(LIVE_REFERRALS),
        or_(Referral.consent_basis == "override", _consent_stands(Referral.case_id)),
    )


def agency_sees(agency_id: int, case_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """SQL: the agency holds the case as its own (intake window or primary agency), or the case was
    referred to it and may still be seen. Correlated lookups on indexed columns: both databases
    plan them per row of the (already narrow) agency queue, never by scanning the agency's cases."""
    holds = exists().where(
        _HELD.id == case_id,
        or_(_HELD.intake_agency_id == agency_id, _HELD.primary_agency_id == agency_id),
    )
    return or_(holds, _referred(agency_id, case_id))


def _group_queue() -> ColumnElement[bool]:
    return not_(WorkItem.queue.startswith(queues.agency_queue("")))


def case_filter(actor: User) -> ColumnElement[bool]:
    """SQL over ``Case``: the cases the actor may open.

    Own window: the staff of the agencies on the case (within what consent allows), and whoever
    works or worked one of the case's tasks from a group queue (多機関協働, アウトリーチ, 参加支援 …).
    A task carrying 支援会議 material never opens the case: under 106条の6 that material is the only
    way to information without consent.
    """
    if not _reads_cases(actor):
        return false()
    parts: list[ColumnElement[bool]] = []
    if actor.agency_id is not None:
        parts += [
            Case.intake_agency_id == actor.agency_id,
            Case.primary_agency_id == actor.agency_id,
            _referred(actor.agency_id, Case.id),
        ]
    parts.append(case_filter_by_work(actor))
    if actor.role == SUPERVISOR:
        parts += _supervised(actor)
    return or_(*parts)


def _supervised(actor: User) -> list[ColumnElement[bool]]:
    """SQL over ``Case``: what a supervisor oversees beyond their own window (domain.md: a
    supervisor sees the agencies and queues they supervise, data the administrator edits). The
    same rules as for those windows' own staff: referred cases while consent stands, and never
    a case known only through 支援会議 material."""
    from app.services.supervision import scope as scopes  # scope reads users and agencies

    scope = scopes.of(actor)
    parts: list[ColumnElement[bool]] = []
    for agency_id in sorted(scope.agency_ids - {actor.agency_id}):
        parts += [
            Case.intake_agency_id == agency_id,
            Case.primary_agency_id == agency_id,
            _referred(agency_id, Case.id),
        ]
    groups = sorted(scope.group_queues - set(queues.queues_of(actor)))
    if groups:
        parts.append(
            exists().where(
                WorkItem.case_id == Case.id,
                WorkItem.status != "cancelled",
                WorkItem.council_material.is_(False),
                WorkItem.queue.in_(groups),
            )
        )
    return parts


def case_filter_by_work(actor: User) -> ColumnElement[bool]:
    """SQL over ``Case``: the actor works or worked one of its tasks from a group queue (never a
    task carrying 支援会議 material)."""
    return exists().where(
        WorkItem.case_id == Case.id,
        WorkItem.status != "cancelled",
        WorkItem.council_material.is_(False),
        _group_queue(),
        or_(
            WorkItem.queue.in_(queues.queues_of(actor)),
            WorkItem.assignee_id == actor.id,
            WorkItem.completed_by_id == actor.id,
        ),
    )


def work_item_branches(actor: User) -> list[ColumnElement[bool]]:
    """The items the actor may open, as disjoint SQL conditions over ``WorkItem`` (their union is
    ``work_item_filter``). Listings count and page each branch on its own index: group queues,
    the actor's agency queue, and items assigned to the actor elsewhere.

    Members of the item's queue and its assignee; an agency queue's item only while that agency may
    see the case; a 支援会議 task only for the chair.
    """
    standing = standing_of(actor)
    return list(_branches(*standing)) if standing is not None else []


Standing = tuple[int, tuple[str, ...], tuple[int, str] | None, bool]


def standing_of(actor: User) -> Standing | None:
    """What decides the work items an actor may open (None: no case may be read at all)."""
    if not _reads_cases(actor):
        return None
    agency = (actor.agency.id, actor.agency.code) if actor.agency is not None else None
    return actor.id, tuple(queues.queues_of(actor)), agency, actor.role in COUNCIL_CHAIR_ROLES


@lru_cache(maxsize=512)
def _branches(
    actor_id: int, mine: tuple[str, ...], agency: tuple[int, str] | None, chairs: bool
) -> tuple[ColumnElement[bool], ...]:
    """The branches for one actor's standing (queues, agency, role): built once, since building
    these statements costs more than running them on the hot path."""
    own = queues.agency_queue(agency[1]) if agency is not None else None
    groups = [key for key in mine if key != own and not key.startswith(queues.agency_queue(""))]
    chair = true() if chairs else WorkItem.council_material.is_(False)
    branches: list[ColumnElement[bool]] = []
    if groups:
        branches.append(and_(WorkItem.queue.in_(groups), chair))
    if agency is not None:
        branches.append(
            and_(
                WorkItem.queue == own,
                or_(WorkItem.case_id.is_(None), agency_sees(agency[0], WorkItem.case_id)),
            )
        )
    branches.append(
        and_(
            WorkItem.assignee_id == actor_id,
            WorkItem.queue.not_in(mine) if mine else true(),
            _group_queue(),
            chair,
        )
    )
    return tuple(branches)


def work_item_filter(actor: User) -> ColumnElement[bool]:
    """SQL over ``WorkItem``: the items the actor may open (and so see listed and counted)."""
    branches = work_item_branches(actor)
    return or_(*branches) if branches else false()


def may_see_case(actor: User, case: Case) -> bool:
    """The single-record form of ``case_filter``."""
    if not _reads_cases(actor):
        return False
    return bool(db.session.scalar(select(exists().where(Case.id == case.id, case_filter(actor)))))


def work_item_and_access(actor: User, item_id: int) -> tuple[WorkItem | None, bool]:
    """A work item by id and whether the actor may open it (``work_item_filter``), read in one
    statement: what every step on a task begins with."""
    row = db.session.execute(_item_and_access(standing_of(actor)), {"item_id": item_id}).first()
    if row is None:
        return None, False
    return row[0], bool(row[1])


@lru_cache(maxsize=512)
def may_open_item(standing: Standing | None) -> ColumnElement[bool]:
    """SQL over ``WorkItem``, true for an item an actor of this standing may open (as
    ``work_item_filter``), as a column a statement can select (built once a standing)."""
    branches = _branches(*standing) if standing is not None else ()
    return sql_case((or_(*branches) if branches else false(), True), else_=False)


@lru_cache(maxsize=512)
def _item_and_access(standing: Standing | None) -> Select[Any]:
    """The statement of ``work_item_and_access`` for one standing, built once (SQLAlchemy keys
    its cache of compiled statements on it; keying a new one costs about as much as running it)."""
    return select(WorkItem, may_open_item(standing)).where(WorkItem.id == bindparam("item_id"))


def may_work_on(actor: User, item: WorkItem) -> bool:
    """The single-record form of ``work_item_filter``."""
    if not _reads_cases(actor):
        return False
    return bool(
        db.session.scalar(select(exists().where(WorkItem.id == item.id, work_item_filter(actor))))
    )


def info_kinds_for(actor: User, case: Case) -> set[str] | None:
    """How much of a visible case the actor sees: ``None`` for everything (the case's own window,
    the municipality's coordination, a referral under an override), otherwise the kinds of
    information the person's standing consent lets cross to the actor's window."""
    if actor.agency_id in owners(case):
        return None
    if actor.role == SUPERVISOR:
        from app.services.supervision import scope as scopes

        if owners(case) & scopes.of(actor).agency_ids:
            return None
    worked = case_filter_by_work(actor)
    if bool(db.session.scalar(select(exists().where(Case.id == case.id, worked)))):
        return None
    referrals = list(
        db.session.scalars(
            select(Referral).where(
                Referral.case_id == case.id,
                Referral.to_agency_id == actor.agency_id,
                Referral.status.in_(LIVE_REFERRALS),
            )
        )
    )
    if any(r.consent_basis == "override" for r in referrals):
        return None
    kinds: set[str] = set()
    for consent in db.session.scalars(
        select(Consent).where(Consent.case_id == case.id, Consent.withdrawn_on.is_(None))
    ):
        if not consent.info_kinds:
            return None
        kinds.update(consent.info_kinds)
    return kinds


def owners(case: Case) -> set[int]:
    """The window that took the case and its primary agency: they hold the record as their own."""
    return {a for a in (case.intake_agency_id, case.primary_agency_id) if a}


def may_see_restricted(actor: User, case: Case) -> bool:
    """Fields marked X (a DV victim's address, confidential notes): the case's own window only."""
    return _reads_cases(actor) and actor.agency_id in owners(case)


def may_override_consent(actor: User) -> bool:
    return actor.role in OVERRIDE_ROLES
