"""Turns form submissions into the domain records (the system of record) in the same transaction.

Each completed form is also kept unchanged as a FormSubmission; these records are what
reports, the case page and the access rules read. One function per form element.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    ActionItem,
    Agency,
    Case,
    Consent,
    Evaluation,
    Household,
    HouseholdMember,
    Involvement,
    Meeting,
    MeetingAttendee,
    MeetingCase,
    Person,
    Placement,
    PlanGoal,
    Referral,
    ReferralEvent,
    Resource,
    ResourceGap,
    SupportPlan,
    User,
)
from app.models.meetings import DEFAULT_LABELS

Data = dict[str, Any]


def _day(value: Any, default: date | None = None) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else default
    except ValueError:
        return default


def agency_by_code(code: Any) -> Agency | None:
    if not isinstance(code, str) or not code:
        return None
    return db.session.scalar(select(Agency).where(Agency.code == code))


def record_intake(case: Case, intake: Data, actor: User) -> None:
    """The 相談受付・申込票: the person (unless anonymous), their household, and any consent given."""
    person_data = intake.get("person") or {}
    if not intake.get("anonymous"):
        person = Person(
            name=person_data.get("name"),
            kana=person_data.get("kana"),
            birth_date=_day(person_data.get("birth_date")),
            sex=person_data.get("sex"),
            address=person_data.get("address"),
            phone=person_data.get("phone"),
            contact_note=person_data.get("contact_note"),
        )
    else:
        person = Person(anonymous=True)
    db.session.add(person)
    household = Household(label=f"{person.name or '匿名の相談者'}の世帯")
    db.session.add(household)
    db.session.flush()
    db.session.add(
        HouseholdMember(
            household_id=household.id, person_id=person.id, relation="本人", roles=["key_person"]
        )
    )
    case.person_id, case.household_id = person.id, household.id
    received = _day(intake.get("received_on"), date.today())
    if intake.get("consent_given"):
        scope = intake.get("consent_scope") or {}
        db.session.add(
            Consent(
                case_id=case.id,
                person_id=person.id,
                agencies=list(scope.get("agencies") or []),
                info_kinds=list(scope.get("info_kinds") or []),
                purpose=scope.get("purpose"),
                given_on=_day(intake.get("consent_date"), received),
                source="intake",
                recorded_by_id=actor.id,
            )
        )


def _first_assessment(case: Case, data: Data, actor: User) -> None:
    if case.household_id is not None:
        existing = {
            (m.relation, m.age_group)
            for m in db.session.scalars(
                select(HouseholdMember).where(HouseholdMember.household_id == case.household_id)
            )
        }
        for row in data.get("household_members") or []:
            key = (row.get("relation"), row.get("age_group"))
            if row.get("relation") == "本人" or key in existing:
                continue
            member = HouseholdMember(
                household_id=case.household_id,
                relation=row.get("relation", ""),
                age_group=row.get("age_group"),
                living_together=bool(row.get("living_together", True)),
                roles=[row["role"]] if row.get("role") and row.get("role") != "none" else [],
            )
            db.session.add(member)
            db.session.flush()
            if row.get("involved_window"):
                db.session.add(
                    Involvement(
                        member_id=member.id,
                        agency_text=row["involved_window"],
                        purpose=row.get("involvement"),
                    )
                )
    if (
        data.get("decision") == "coordination"
        and data.get("consent") == "given"
        and not _has_consent(case)
    ):
        record_consent_obtained(case, data.get("decision_reason"), "first_assessment", actor)
    if data.get("decision") == "referral":
        target = agency_by_code(data.get("referral_to"))
        if target is not None:
            referral = Referral(
                case_id=case.id,
                from_agency_id=case.primary_agency_id,
                to_agency_id=target.id,
                purpose=data.get("referral_purpose"),
                consent_basis=_referral_basis(case, data),
            )
            db.session.add(referral)
            db.session.flush()
            db.session.add(ReferralEvent(referral_id=referral.id, status="sent", actor_id=actor.id))


def _referral_basis(case: Case, data: Data) -> str:
    if _has_consent(case):
        return "consent"
    return "override" if data.get("consent_override_basis") else "none"


def _has_consent(case: Case) -> bool:
    return bool(
        db.session.scalar(
            select(func.count(Consent.id)).where(
                Consent.case_id == case.id, Consent.withdrawn_on.is_(None)
            )
        )
    )


def _referral_review(case: Case, data: Data, actor: User) -> None:
    referral = db.session.scalar(
        select(Referral)
        .where(Referral.case_id == case.id, Referral.status == "sent")
        .order_by(Referral.id.desc())
    )
    if referral is None:
        return
    accepted = data.get("referral_accepted") == "accepted"
    referral.status = "accepted" if accepted else "declined"
    referral.decline_reason = None if accepted else data.get("decline_reason")
    db.session.add(
        ReferralEvent(
            referral_id=referral.id,
            status=referral.status,
            actor_id=actor.id,
            note=referral.decline_reason,
        )
    )
    if accepted:
        case.primary_agency_id = referral.to_agency_id


def _meeting(kind: str, held_on: Any, chair: str | None) -> Meeting:
    meeting = Meeting(
        kind=kind,
        label=DEFAULT_LABELS[kind],
        held_on=_day(held_on, date.today()),
        chair=chair,
        non_public=kind == "support_council",
    )
    db.session.add(meeting)
    db.session.flush()
    return meeting


def _support_council(case: Case, data: Data, actor: User) -> None:
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
                due_on=_day(row.get("due")),
            )
        )


def record_consent_obtained(case: Case, scope: Any, source: str, actor: User | None) -> None:
    """Consent obtained later (outreach, or a message from another system): the 支援会議 material on
    the case is re-scoped into the consent channel."""
    for agenda in db.session.scalars(
        select(MeetingCase).where(MeetingCase.case_id == case.id, MeetingCase.rescoped_on.is_(None))
    ):
        agenda.rescoped_on = date.today()
    db.session.add(
        Consent(
            case_id=case.id,
            person_id=case.person_id,
            purpose=scope if isinstance(scope, str) else None,
            given_on=date.today(),
            source=source,
            recorded_by_id=actor.id if actor else None,
        )
    )


def _outreach_visit(case: Case, data: Data, actor: User) -> None:
    if data.get("visit_result") == "consent_obtained":
        record_consent_obtained(case, data.get("consent_scope"), "outreach", actor)


def _support_plan(case: Case, data: Data, actor: User) -> None:
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
        plan_start=_day(data.get("plan_start")),
        plan_end=_day(data.get("plan_end")),
        review_date=_day(data.get("review_date")),
        participation_requested=bool(data.get("participation_requested")),
        outreach_requested=bool(data.get("outreach_requested")),
        person_consented=bool(data.get("person_consented")),
    )
    db.session.add(plan)
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


def _gap(case: Case, text: Any, source: str) -> None:
    if isinstance(text, str) and text.strip():
        db.session.add(ResourceGap(unmet_need=text.strip(), source=source, case_id=case.id))


def _plan_conference(case: Case, data: Data, actor: User) -> None:
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
    if data.get("resources_sufficient") is False:
        _gap(case, data.get("resource_gaps"), "plan_conference")


def _support_decision(case: Case, data: Data, actor: User) -> None:
    plan = latest_plan(case)
    if plan is not None:
        plan.support_decision_on = _day(data.get("decision_date"), date.today())


def _participation_matching(case: Case, data: Data, actor: User) -> None:
    if data.get("match_result") != "matched":
        _gap(case, data.get("unmet_need"), "participation_matching")
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
            matched_on=_day(data.get("matched_on"), date.today()),
        )
    )


def _current_placement(case: Case) -> Placement | None:
    return db.session.scalar(
        select(Placement)
        .where(Placement.case_id == case.id, Placement.ended_on.is_(None))
        .order_by(Placement.id.desc())
    )


def _participation_placement(case: Case, data: Data, actor: User) -> None:
    placement = _current_placement(case)
    if placement is not None:
        placement.started_on = _day(data.get("started_on"), date.today())


def _participation_retention(case: Case, data: Data, actor: User) -> None:
    placement = _current_placement(case)
    if placement is not None:
        placement.retention_status = data.get("retention_status")
        if data.get("retention_status") == "ended":
            placement.ended_on = _day(data.get("checked_on"), date.today())


def _evaluation(case: Case, data: Data, actor: User) -> None:
    target = agency_by_code(data.get("next_primary_agency"))
    db.session.add(
        Evaluation(
            case_id=case.id,
            evaluated_on=_day(data.get("evaluated_on"), date.today()),
            goal_results=list(data.get("goal_results") or []),
            decision=data.get("evaluation_decision", ""),
            closure_type=data.get("closure_type"),
            interruption_reason=data.get("interruption_reason"),
            next_primary_agency_id=target.id if target else None,
            resource_gaps=data.get("resource_gaps"),
        )
    )
    _gap(case, data.get("resource_gaps"), "evaluation")
    if data.get("evaluation_decision") == "closure" and target is not None:
        case.primary_agency_id = target.id


RECORDERS: dict[str, Callable[[Case, Data, User], None]] = {
    "first_assessment": _first_assessment,
    "referral_review": _referral_review,
    "support_council": _support_council,
    "outreach_visit": _outreach_visit,
    "support_plan": _support_plan,
    "plan_conference": _plan_conference,
    "support_decision": _support_decision,
    "participation_matching": _participation_matching,
    "participation_placement": _participation_placement,
    "participation_retention": _participation_retention,
    "evaluation": _evaluation,
}


def record_submission(case: Case, element_id: str, data: Data, actor: User) -> None:
    """Write the domain records a completed form implies (nothing for forms that only advance the flow)."""
    recorder = RECORDERS.get(element_id)
    if recorder is not None:
        recorder(case, data, actor)


def record_message(case: Case, message_name: str, payload: Any, actor: User | None) -> None:
    """What a message from outside says about the case (consent obtained is recorded as consent)."""
    if message_name == "consent_obtained":
        scope = payload.get("scope") if isinstance(payload, dict) else None
        record_consent_obtained(case, scope, "message", actor)
