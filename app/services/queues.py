"""Resolves a BPMN lane (a role) to a work queue, using the case's data for case-dependent lanes."""

from __future__ import annotations

from sqlalchemy import or_, select

from app.extensions import db
from app.models import Case, Group, User

# Lanes whose queue depends on the case: the agency recorded on it.
CASE_LANES = {"主担当機関": "primary", "受付窓口": "intake"}
UNROUTED_PREFIX = "lane:"


def agency_queue(code: str) -> str:
    return f"agency:{code}"


def resolve(lanes: set[str | None], case: Case | None) -> dict[str | None, str]:
    """Queue key per lane name; unknown lanes get a visible ``lane:<name>`` queue rather than vanishing."""
    names = {lane for lane in lanes if lane}
    groups = {}
    if names:
        for group in db.session.scalars(
            select(Group).where(or_(Group.name.in_(names), Group.key.in_(names)))
        ):
            groups[group.name] = group.key
            groups[group.key] = group.key
    resolved: dict[str | None, str] = {}
    for lane in lanes:
        resolved[lane] = _resolve_one(lane, case, groups)
    return resolved


def _resolve_one(lane: str | None, case: Case | None, groups: dict[str, str]) -> str:
    if lane in CASE_LANES and case is not None:
        agency = case.primary_agency if CASE_LANES[lane] == "primary" else case.intake_agency
        agency = agency or case.intake_agency or case.primary_agency
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
