"""The 支援会議 channel: members with a pledge only, read-only, time-limited, not in the case view."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, MeetingCase
from app.services import case_view, cases, council
from app.services.errors import Forbidden, NotFound
from tests.harness import Flow, hold_council

SECRET = "近隣から、夜間に大きな物音がすると情報提供あり"


def reasons() -> list[str]:
    rows = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "council.material", AuditEvent.outcome == "denied")
        .order_by(AuditEvent.id)
    )
    return [r.detail.get("reason") for r in rows]


def test_only_selected_members_with_a_pledge_read_the_material_until_it_expires(flow: Flow) -> None:
    meeting = hold_council(flow, SECRET)
    chair, member, coordinator = (
        flow.user("demo-supervisor"),
        flow.user("demo-council"),
        flow.user("demo-coordinator"),
    )
    assert council.material(meeting.id, chair)["material"]["shared_summary"] == SECRET
    with pytest.raises(NotFound):
        council.material(meeting.id, member)
    with pytest.raises(NotFound):
        council.material(meeting.id, coordinator)
    # Choosing members answers a non-chair exactly as for a missing meeting, and is audited.
    with pytest.raises(NotFound, match="見つかりません"):
        council.select_members(meeting.id, coordinator, ["demo-council"])
    with pytest.raises(NotFound, match="見つかりません"):
        council.select_members(meeting.id + 1000, coordinator, ["demo-council"])
    refused = db.session.scalars(
        select(AuditEvent.object_id).where(
            AuditEvent.action == "council.members", AuditEvent.outcome == "denied"
        )
    ).all()
    assert sorted(refused) == sorted([str(meeting.id), str(meeting.id + 1000)])
    council.select_members(meeting.id, chair, ["demo-council"])
    with pytest.raises(Forbidden, match="誓約"):
        council.material(meeting.id, member)
    council.sign_pledge(meeting.id, member)
    assert council.material(meeting.id, member)["material"]["shared_summary"] == SECRET
    with pytest.raises(Forbidden, match="閲覧期間"):
        council.material(meeting.id, member, today=meeting.material_until + timedelta(days=1))
    assert reasons() == ["not_member", "not_member", "no_pledge", "expired"]
    assert meeting.material_until == date.fromisoformat(flow.today()) + timedelta(days=90)
    viewed = db.session.scalars(
        select(AuditEvent.actor_name)
        .where(AuditEvent.action == "council.material", AuditEvent.outcome == "ok")
        .order_by(AuditEvent.id)
    ).all()
    assert viewed == ["demo-supervisor", "demo-council"]


def test_material_never_appears_in_the_normal_case_view(flow: Flow) -> None:
    hold_council(flow, SECRET)
    case = cases.get(flow.case.id, flow.user("demo-elderly"))
    view = case_view.build(case, flow.user("demo-elderly"))
    text = " ".join(f"{e.what} {e.detail}" for e in view.timeline)
    assert SECRET not in text and "支援会議の構成員のみ" in text
    assert view.decisions == [] and len(view.council_dates) == 1


def test_consent_obtained_later_rescopes_the_material(flow: Flow) -> None:
    hold_council(flow, SECRET)
    flow.deliver("consent_obtained", {"scope": "関係機関での共有"})
    [agenda] = db.session.scalars(select(MeetingCase)).all()
    assert agenda.rescoped_on is not None
    view = case_view.build(flow.refresh(), flow.user("demo-elderly"))
    assert [a.decision for _, a in view.decisions] == ["watch"] and view.council_dates == []
