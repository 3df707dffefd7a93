"""Records from coordination: support plans, the two meetings, support decisions, evaluations, gaps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    ActionItem,
    Case,
    Evaluation,
    Meeting,
    MeetingAttendee,
    MeetingCase,
    PlanGoal,
    ResourceGap,
    SupportPlan,
    User,
)
from app.models.meetings import DEFAULT_LABELS
from app.services import audit, clock, settings
from app.services.records.people import Data, agency_by_code, as_date


def _meeting(kind: str, held_on: Any, chair: str | None) -> Meeting:
    meeting = Meeting(
        kind=kind,
        label=settings.current().get(f"{kind}_label") or DEFAULT_LABELS[kind],
        held_on=as_date(held_on, clock.today()),
        chair=chair,
        non_public=kind == "support_council",
    )
    db.session.add(meeting)
    db.session.flush()
    return meeting


def support_council(case: Case, data: Data, actor: User) -> None:
    from app.services import council

    meeting = _meeting("support_council", data.get("meeting_date"), actor.display_name)
    council.keep_material(meeting, actor, data)
    pledged = bool(data.get("all_members_pledged"))
    for name in data.get("members_present") or []:
        db.session.add(MeetingAttendee(meeting_id=meeting.id, name=name, pledge_signed=pledged))
    db.session.add(
        MeetingCase(
            meeting_id=meeting.id,
            case_id=case.id,
            consent_status="not_given",
            decision=data.get("council_course", ""),
        )
    )
    _action_items(meeting, case, data)


def _action_items(meeting: Meeting, case: Case, data: Data) -> None:
    for row in data.get("action_items") or []:
        db.session.add(
            ActionItem(
                meeting_id=meeting.id,
                case_id=case.id,
                owner=row.get("owner") or "",
                description=row.get("task", ""),
                due_on=as_date(row.get("due")),
            )
        )


def support_plan(case: Case, data: Data, actor: User) -> None:
    version = (
        db.session.scalar(
            select(func.max(SupportPlan.version)).where(SupportPlan.case_id == case.id)
        )
        or 0
    ) + 1
    primary = agency_by_code(data.get("primary_agency"))
    plan = SupportPlan(
        case_id=case.id,
        version=version,
        primary_agency_id=primary.id if primary else None,
        plan_start=as_date(data.get("plan_start")),
        plan_end=as_date(data.get("plan_end")),
        review_date=as_date(data.get("review_date")),
        participation_requested=bool(data.get("participation_requested")),
        outreach_requested=bool(data.get("outreach_requested")),
        person_consented=bool(data.get("person_consented")),
    )
    db.session.add(plan)
    case.review_due_on = plan.review_date  # the newest version's review date counts
    db.session.flush()
    for position, goal in enumerate(data.get("goals") or []):
        db.session.add(
            PlanGoal(
                plan_id=plan.id,
                position=position,
                goal=goal.get("goal", ""),
                support_content=goal.get("support_content", ""),
                responsible_agency=goal.get("responsible_agency", ""),
                staff=goal.get("staff"),
                frequency=goal.get("frequency"),
                period=goal.get("period"),
            )
        )
    if primary is not None:
        case.primary_agency_id = primary.id


def latest_plan(case: Case) -> SupportPlan | None:
    return db.session.scalar(
        select(SupportPlan)
        .where(SupportPlan.case_id == case.id)
        .order_by(SupportPlan.version.desc())
        .limit(1)
    )


def record_gap(case: Case, text: Any, source: str) -> None:
    if isinstance(text, str) and text.strip():
        db.session.add(ResourceGap(unmet_need=text.strip(), source=source, case_id=case.id))


def plan_conference(case: Case, data: Data, actor: User) -> None:
    meeting = _meeting("plan_conference", data.get("conference_date"), actor.display_name)
    for name in data.get("attendees") or []:
        db.session.add(MeetingAttendee(meeting_id=meeting.id, name=name, pledge_signed=False))
    outcome = data.get("conference_outcome", "")
    note = data.get("revision_points") or data.get("return_reason")
    db.session.add(
        MeetingCase(
            meeting_id=meeting.id,
            case_id=case.id,
            consent_status="given",
            decision=outcome,
            decision_note=note,
        )
    )
    plan = latest_plan(case)
    if outcome == "approve" and plan is not None:
        plan.approved_meeting_id, plan.approved_on = meeting.id, meeting.held_on
        audit.record(
            "plan.approve", "support_plan", plan.id, actor, case_id=case.id,
            detail={"version": plan.version, "meeting": meeting.id},
        )  # fmt: skip
    if data.get("resources_sufficient") is False:
        record_gap(case, data.get("resource_gaps"), "plan_conference")


def support_decision(case: Case, data: Data, actor: User) -> None:
    plan = latest_plan(case)
    if plan is not None:
        plan.support_decision_on = as_date(data.get("decision_date"), clock.today())


def evaluation(case: Case, data: Data, actor: User) -> None:
    target = agency_by_code(data.get("next_primary_agency"))
    db.session.add(
        Evaluation(
            case_id=case.id,
            evaluated_on=as_date(data.get("evaluated_on"), clock.today()),
            goal_results=list(data.get("goal_results") or []),
            decision=data.get("evaluation_decision", ""),
            closure_type=data.get("closure_type"),
            interruption_reason=data.get("interruption_reason"),
            next_primary_agency_id=target.id if target else None,
            resource_gaps=data.get("resource_gaps"),
        )
    )
    record_gap(case, data.get("resource_gaps"), "evaluation")
    if data.get("evaluation_decision") == "closure" and target is not None:
        case.primary_agency_id = target.id
