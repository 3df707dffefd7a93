"""The domain records each path writes: people, households, consent, referrals, plans, meetings, gaps."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Consent,
    Evaluation,
    HouseholdMember,
    Meeting,
    MeetingCase,
    Person,
    Placement,
    Referral,
    ResourceGap,
    SupportPlan,
)
from tests.harness import Flow, accept_and_plan, approve, decided_plan, first_assessment, plan


def rows(model, **where):
    stmt = select(model)
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    return list(db.session.scalars(stmt))


def test_intake_records_the_person_household_and_consent(flow: Flow) -> None:
    window = flow.user("demo-elderly")
    from app.services import cases

    case = cases.open_case(
        window,
        "【テスト】申込票から記録",
        {
            "received_on": flow.today(),
            "concerns": ["care"],
            "person": {"name": "山田 花子", "kana": "ヤマダ ハナコ", "address": "市内のどこか"},
            "consent_given": True,
            "consent_date": flow.today(),
            "consent_scope": {
                "agencies": ["elderly-center"],
                "info_kinds": ["household"],
                "purposes": ["coordination"],
                "purpose": "支援のため",
            },
        },
    )
    person = db.session.get(Person, case.person_id)
    assert (person.name, person.kana, person.anonymous) == ("山田 花子", "ヤマダ ハナコ", False)
    [member] = rows(HouseholdMember, household_id=case.household_id)
    assert member.person_id == person.id and member.relation == "本人"
    [consent] = rows(Consent, case_id=case.id)
    assert consent.info_kinds == ["household"] and consent.source == "intake" and consent.active
    assert (consent.agencies, consent.purposes) == (["elderly-center"], ["coordination"])
    assert case.act_items == [1]


def test_anonymous_intake_keeps_no_identity(flow: Flow) -> None:
    from app.services import cases

    case = cases.open_case(
        flow.user("demo-elderly"),
        "【テスト】匿名の相談",
        {
            "received_on": flow.today(),
            "concerns": ["other"],
            "anonymous": True,
            "person": {"name": "書かれた名前"},
        },
    )
    person = db.session.get(Person, case.person_id)
    assert person.anonymous and person.name is None


def test_referral_status_history_and_household_members(flow: Flow) -> None:
    flow.open_case(consent=True)
    flow.complete(
        "first_assessment",
        "demo-elderly",
        first_assessment(
            "referral",
            referral_to="child-center",
            referral_purpose="孫の不登校",
            household_members=[
                {
                    "relation": "長男",
                    "age_group": "age_40_64",
                    "living_together": True,
                    "role": "carer",
                },
                {
                    "relation": "孫",
                    "age_group": "age_6_14",
                    "living_together": True,
                    "role": "young_carer",
                    "involved_window": "child-center",
                    "involved_contact": "担当 佐藤 0120-000-000",
                },
            ],
        ),
    )
    flow.complete(
        "referral_review",
        "demo-child",
        {"referral_accepted": "declined", "decline_reason": "学校と調整済み"},
    )
    [referral] = rows(Referral, case_id=flow.case.id)
    assert (referral.status, referral.decline_reason) == ("declined", "学校と調整済み")
    assert [e.status for e in referral.events] == ["sent", "declined"]
    assert referral.consent_basis == "consent"
    members = {m.relation: m for m in rows(HouseholdMember, household_id=flow.case.household_id)}
    assert set(members) == {"本人", "長男", "孫"}
    [involvement] = members["孫"].involvements
    assert members["孫"].roles == ["young_carer"]
    # Minimal disclosure: the window and whom to contact, nothing of what it does.
    assert (involvement.agency.code, involvement.contact) == (
        "child-center",
        "担当 佐藤 0120-000-000",
    )
    assert involvement.purpose is None and involvement.agency_text is None


def test_plan_versions_conference_decision_placement_and_evaluation(flow: Flow) -> None:
    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    [consent] = rows(Consent, case_id=flow.case.id)
    assert consent.source == "first_assessment"
    accept_and_plan(flow, participation=True)
    flow.complete(
        "plan_conference",
        "demo-supervisor",
        {
            "conference_date": flow.today(),
            "conference_outcome": "revise",
            "revision_points": "役割を明確に",
            "resources_sufficient": True,
        },
    )
    flow.complete("support_plan", "demo-coordinator", plan(participation=True))
    approve(flow)
    flow.complete("support_decision", "demo-decision", {"decision_date": flow.today()})
    plans = rows(SupportPlan, case_id=flow.case.id)
    assert [p.version for p in plans] == [1, 2]
    assert plans[0].approved_meeting_id is None and plans[1].approved_meeting_id is not None
    assert plans[1].support_decision_on is not None and len(plans[1].goals) == 1
    decisions = [mc.decision for mc in rows(MeetingCase, case_id=flow.case.id)]
    assert decisions == ["revise", "approve"]
    flow.complete(
        "participation_matching",
        "demo-participation",
        {"match_result": "not_found", "unmet_need": "近くに就労体験先がない"},
    )
    [gap] = rows(ResourceGap, case_id=flow.case.id)
    assert (gap.unmet_need, gap.source, gap.status) == (
        "近くに就労体験先がない",
        "participation_matching",
        "open",
    )
    assert rows(Placement, case_id=flow.case.id) == []
    assert set(flow.refresh().act_items) >= {1, 2, 5, 6}


def test_support_council_is_a_non_public_meeting_and_consent_by_message_is_recorded(
    flow: Flow,
) -> None:
    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="not_given")
    )
    assert rows(Consent, case_id=flow.case.id) == []
    flow.complete(
        "support_council",
        "demo-supervisor",
        {
            "meeting_date": flow.today(),
            "members_present": ["福祉総務課 係長", "地域包括 相談員"],
            "all_members_pledged": True,
            "council_course": "outreach",
            "revisit_after": "P14D",
            "action_items": [
                {"task": "自宅を訪問する", "owner": "アウトリーチ支援員", "due": flow.today(7)}
            ],
        },
    )
    [meeting] = rows(Meeting, kind="support_council")
    assert meeting.non_public and "106条の6" in meeting.legal_basis
    assert [a.pledge_signed for a in meeting.attendees] == [
        True,
        True,
        True,
    ]  # the chair counts as a member
    assert sum(a.user_id is not None for a in meeting.attendees) == 1
    [agenda] = meeting.cases
    assert (agenda.consent_status, agenda.decision) == ("not_given", "outreach")
    flow.complete(
        "outreach_visit", "demo-outreach", {"visit_date": flow.today(), "visit_result": "continue"}
    )
    flow.deliver("consent_obtained", {"scope": "関係機関での共有"})
    [consent] = rows(Consent, case_id=flow.case.id)
    assert (consent.source, consent.purpose) == ("message", "関係機関での共有")
    assert 4 in flow.refresh().act_items


def test_evaluation_is_recorded_with_goal_results(flow: Flow) -> None:
    decided_plan(flow, review_in_days=5)
    flow.pass_days(5.5)
    flow.complete(
        "monitoring",
        "demo-coordinator",
        {"monitored_on": flow.today(), "monitoring_outcome": "propose_termination"},
    )
    flow.complete(
        "evaluation",
        "demo-supervisor",
        {
            "evaluated_on": flow.today(),
            "goal_results": [{"goal": "生活費の見通しを立てる", "result": "achieved"}],
            "resource_gaps": "夜間の相談先が足りない",
            "evaluation_decision": "closure",
            "closure_type": "moved_to_primary",
            "next_primary_agency": "elderly-center",
        },
    )
    [evaluation] = rows(Evaluation, case_id=flow.case.id)
    assert (evaluation.decision, evaluation.closure_type) == ("closure", "moved_to_primary")
    assert evaluation.goal_results[0]["result"] == "achieved"
    assert [g.source for g in rows(ResourceGap, case_id=flow.case.id)] == ["evaluation"]


def test_referral_status_changes_and_plan_approval_are_audited(flow: Flow) -> None:
    from app.models import AuditEvent

    flow.open_case(consent=True)
    flow.complete(
        "first_assessment",
        "demo-elderly",
        first_assessment("referral", referral_to="poverty-center", referral_purpose="家計"),
    )
    flow.complete("referral_review", "demo-poverty", {"referral_accepted": "accepted"})
    statuses = [
        e.detail["status"]
        for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "referral.status").order_by(AuditEvent.id)
        )
    ]
    assert statuses == ["sent", "accepted"]

    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    accept_and_plan(flow)
    approve(flow)
    [approval] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "plan.approve")
    ).all()
    assert approval.actor_name == "demo-supervisor" and approval.detail["version"] == 1


def test_a_municipality_names_its_meetings_but_the_legal_basis_stays(flow: Flow) -> None:
    from app.services import case_progress, settings

    admin = flow.user("demo-admin")
    settings.update("plan_conference_label", "まるごと会議", admin)
    db.session.commit()
    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    accept_and_plan(flow)
    approve(flow)
    [meeting] = rows(Meeting, kind="plan_conference")
    assert meeting.label == "まるごと会議" and "106条の4" in meeting.legal_basis
    assert case_progress.stage_labels()["plan_conference"] == "まるごと会議"
