"""Resolves a BPMN lane (a role) to a work queue, using the case's data for case-dependent lanes."""

from __future__ import annotations

from sqlalchemy import or_, select

from app.extensions import db
from app.models import Agency, Case, Group, User

# Lanes whose queue depends on the case: the agency now responsible for it (the window that took
# the case in, or the one it was handed to).
CASE_LANES = {"主担当機関", "受付窓口"}
UNROUTED_PREFIX = "lane:"


def agency_queue(code: str) -> str:
    return f"agency:{code}"


def for_agency_code(code: str | None) -> str | None:
    """The queue of a named agency, when the code names one (a task's ``queueFromData``)."""
    if not code:
        return None
    exists = db.session.scalar(select(Agency.id).where(Agency.code == code))
    return agency_queue(code) if exists else None


def resolve(
    lanes: set[str | None], case: Case | None, *, groups: dict[str, str] | None = None
) -> dict[str | None, str]:
    """Queue key per lane name; unknown lanes get a visible ``lane:<name>`` queue rather than vanishing.
    ``groups``: every group's key by its name and by its key, when already read."""
    if groups is None:
        # A lane of the case's own window is routed by the case: no group to look up for it.
        routed = (
            case is not None
            and not CASE_LANES.isdisjoint(lanes)
            and (case.primary_agency or case.intake_agency) is not None
        )
        groups = _groups_named(
            {lane for lane in lanes if lane and not (routed and lane in CASE_LANES)}
        )
    resolved: dict[str | None, str] = {}
    for lane in lanes:
        resolved[lane] = _resolve_one(lane, case, groups)
    return resolved


def _groups_named(names: set[str]) -> dict[str, str]:
    groups: dict[str, str] = {}
    if names:
        for group in db.session.scalars(
            select(Group).where(or_(Group.name.in_(names), Group.key.in_(names)))
        ):
            groups[group.name] = group.key
            groups[group.key] = group.key
    return groups


def _resolve_one(lane: str | None, case: Case | None, groups: dict[str, str]) -> str:
    if lane in CASE_LANES and case is not None:
        agency = case.primary_agency or case.intake_agency
        if agency is not None:
            return agency_queue(agency.code)
    if lane and lane in groups:
        return groups[lane]
    return f"{UNROUTED_PREFIX}{lane or '-'}"


def queues_of(user: User) -> list[str]:
    """The queues a user works from: their groups plus their agency's queue."""
    keys = set(user.queue_keys())
    if user.agency is not None:
        keys.add(agency_queue(user.agency.code))
    return sorted(keys)


def members(queue: str) -> list[User]:
    """Active users who work from a queue: the group's members, or the agency's staff."""
    stmt = select(User).where(User.active.is_(True)).order_by(User.display_name)
    if queue.startswith(agency_queue("")):
        stmt = stmt.join(Agency, Agency.id == User.agency_id).where(
            Agency.code == queue[len(agency_queue("")) :]
        )
    else:
        stmt = stmt.join(User.groups).where(Group.key == queue)
    return list(db.session.scalars(stmt))
