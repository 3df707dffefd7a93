"""Records from participation support: resources, placements and how they last, unmet needs."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Case, Placement, Resource, User
from app.services import clock
from app.services.records.people import Data, as_date
from app.services.records.plans import record_gap


def matching(case: Case, data: Data, actor: User) -> None:
    if data.get("match_result") != "matched":
        record_gap(case, data.get("unmet_need"), "participation_matching")
        return
    name = data.get("resource_name", "")
    resource = db.session.scalar(
        select(Resource).where(Resource.name == name, Resource.kind == data.get("resource_kind"))
    )
    if resource is None:
        resource = Resource(
            kind=data.get("resource_kind", "place"),
            name=name,
            host_contact=data.get("host_contact"),
        )
        db.session.add(resource)
        db.session.flush()
    db.session.add(
        Placement(
            case_id=case.id,
            resource_id=resource.id,
            matched_on=as_date(data.get("matched_on"), clock.today()),
        )
    )


def _current_placement(case: Case) -> Placement | None:
    return db.session.scalar(
        select(Placement)
        .where(Placement.case_id == case.id, Placement.ended_on.is_(None))
        .order_by(Placement.id.desc())
    )


def placement(case: Case, data: Data, actor: User) -> None:
    placement = _current_placement(case)
    if placement is not None:
        placement.started_on = as_date(data.get("started_on"), clock.today())


def retention(case: Case, data: Data, actor: User) -> None:
    placement = _current_placement(case)
    if placement is not None:
        placement.retention_status = data.get("retention_status")
        if data.get("retention_status") == "ended":
            placement.ended_on = as_date(data.get("checked_on"), clock.today())
