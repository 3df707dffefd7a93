"""Every path of the support flow, driven through the services with the real engine and database."""

from __future__ import annotations

import pytest

from app.services import cases, events, instances
from app.services.errors import Conflict, InvalidInput
from tests.harness import (
    Flow,
    accept_and_plan,
    approve,
    council_record,
    first_assessment,
    matched,
    plan,
)

WINDOW = "agency:elderly-center"


def test_window_only_support_to_closure(flow: Flow) -> None:
    flow.open_case()
    assert flow.waiting() == {"first_assessment": WINDOW}
    assert flow.refresh().stage == "intake"
    flow.complete("first_assessment", "demo-elderly", first_assessment("window"), WINDOW)
    assert flow.waiting() == {"window_support": WINDOW}
    flow.complete(
        "window_support",
        "demo-elderly",
        {"support_content": "介護保険の申請支援", "window_outcome": "continue"},
    )
    assert flow.waiting() == {}
    assert flow.pass_days(29) == 0
    assert flow.pass_days(1.1) == 1
    flow.complete(
        "window_support",
        "demo-elderly",
        {
            "support_content": "サービス開始を確認",
            "window_outcome": "close",
            "closure_reason": "課題が解決した",
        },
    )
    case = flow.refresh()
    assert (case.status, case.stage) == ("closed", "closed") and case.closed_at is not None
    assert flow.waiting() == {}


def test_referral_accepted_moves_the_case_to_the_receiving_window(flow: Flow) -> None:
    flow.open_case(consent=True)
    flow.complete(
        "first_assessment",
        "demo-elderly",
        first_assessment("referral", referral_to="poverty-center", referral_purpose="家計の相談"),
    )
    assert flow.waiting() == {"referral_review": "agency:poverty-center"}
    assert flow.refresh().stage == "referral"
    flow.complete("referral_review", "demo-poverty", {"referral_accepted": "accepted"})
    assert flow.waiting() == {"window_support": "agency:poverty-center"}
    assert flow.refresh().primary_agency.code == "poverty-center"


@pytest.mark.renamed_ids
def test_referral_declined_comes_back_to_the_first_window_with_reason(flow: Flow) -> None:
    flow.open_case(consent=True)
    flow.complete(
        "first_assessment",
        "demo-elderly",
        first_assessment("referral", referral_to="child-center", referral_purpose="子育ての相談"),
    )
    flow.complete(
        "referral_review",
        "demo-child",
        {"referral_accepted": "declined", "decline_reason": "対象年齢外のため"},
        "agency:child-center",
    )
    assert flow.waiting() == {"first_assessment": WINDOW}
    assert flow.refresh().primary_agency.code == "elderly-center"


@pytest.mark.renamed_ids
def test_consent_path_through_delivery_monitoring_revision_evaluation_and_handover(
    flow: Flow,
) -> None:
    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    assert flow.waiting() == {"coordination_intake": "coordination"}
    accept_and_plan(flow, review_in_days=30, participation=True, outreach=True)
    assert flow.refresh().primary_agency.code == "poverty-center"
    assert flow.waiting() == {"plan_conference": "coordination"}
    approve(flow)
    assert flow.waiting() == {"support_decision": "municipality"}
    flow.complete(
        "support_decision",
        "demo-decision",
        {"decision_date": flow.today(), "decision_number": "重層-1"},
    )
    assert flow.waiting() == {
        "participation_matching": "participation",
        "outreach_followup": "outreach",
    }
    assert flow.refresh().stage in {"participation", "outreach"}
    flow.complete(
        "participation_matching",
        "demo-participation",
        matched(flow),
    )
    flow.complete("participation_placement", "demo-participation", {"started_on": flow.today()})
    flow.complete(
        "outreach_followup",
        "demo-outreach",
        {
            "visit_date": flow.today(),
            "followup_result": "linked",
            "linked_agency": "disability-center",
        },
    )
    assert flow.waiting() == {}
    assert flow.pass_days(14.1) == 1
    flow.complete(
        "participation_retention",
        "demo-participation",
        {"checked_on": flow.today(), "retention_status": "retained"},
    )
    assert flow.waiting() == {}
    # The review date from the plan: 30 days after the plan was made, at 09:00 in Japan.
    assert flow.pass_days(15) == 0
    assert flow.pass_days(1) == 1
    assert flow.waiting() == {"monitoring": "coordination"}
    assert flow.refresh().stage == "monitoring"
    flow.complete(
        "monitoring",
        "demo-coordinator",
        {"monitored_on": flow.today(), "trigger": "scheduled", "monitoring_outcome": "revise_plan"},
    )
    assert flow.waiting() == {"support_plan": "coordination"}
    flow.complete("support_plan", "demo-coordinator", plan(review_in_days=60))
    approve(flow)
    flow.complete("support_decision", "demo-decision", {"decision_date": flow.today()})
    assert flow.waiting() == {}
    flow.deliver("monitoring_requested", {"reason": "家賃の滞納が判明"})
    flow.complete(
        "monitoring",
        "demo-coordinator",
        {
            "monitored_on": flow.today(),
            "trigger": "crisis",
            "monitoring_outcome": "propose_termination",
        },
    )
    assert flow.waiting() == {"evaluation": "coordination"}
    flow.complete(
        "evaluation",
        "demo-supervisor",
        {
            "evaluated_on": flow.today(),
            "goal_results": [{"goal": "生活費の見通しを立てる", "result": "achieved"}],
            "evaluation_decision": "closure",
            "closure_type": "goal_achieved",
            "next_primary_agency": "elderly-center",
        },
    )
    assert flow.waiting() == {"handover": WINDOW}
    flow.complete(
        "handover", "demo-elderly", {"received_on": flow.today(), "handover_note": "引き続き見守る"}
    )
    case = flow.refresh()
    assert case.status == "closed" and case.primary_agency.code == "elderly-center"
    assert flow.submissions().count("support_plan") == 2


@pytest.mark.renamed_ids
def test_conference_returns_the_case_to_the_primary_agency(flow: Flow) -> None:
    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    accept_and_plan(flow)
    flow.complete(
        "plan_conference",
        "demo-supervisor",
        {
            "conference_date": flow.today(),
            "conference_outcome": "return_to_primary",
            "resources_sufficient": False,
            "resource_gaps": "日中の居場所が足りない",
        },
    )
    assert flow.waiting() == {"primary_followup": "agency:poverty-center"}
    flow.complete(
        "primary_followup",
        "demo-poverty",
        {"received_on": flow.today(), "handover_note": "窓口で継続支援"},
    )
    assert flow.refresh().status == "closed"


def test_conference_revision_goes_back_to_the_plan(flow: Flow) -> None:
    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    accept_and_plan(flow)
    flow.complete(
        "plan_conference",
        "demo-supervisor",
        {
            "conference_date": flow.today(),
            "conference_outcome": "revise",
            "revision_points": "役割分担を明確に",
            "resources_sufficient": True,
        },
    )
    assert flow.waiting() == {"support_plan": "coordination"}


def test_coordination_can_advise_and_return_the_case_to_the_window(flow: Flow) -> None:
    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    flow.complete(
        "coordination_intake",
        "demo-coordinator",
        {"coordination_decision": "return", "return_advice": "まず家計相談を窓口で"},
    )
    assert flow.waiting() == {"window_support": WINDOW}


@pytest.mark.renamed_ids
def test_no_consent_path_through_support_council_and_outreach_to_consent(flow: Flow) -> None:
    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="not_given")
    )
    assert flow.waiting() == {"support_council": "support_council"}
    flow.complete(
        "support_council",
        "demo-supervisor",
        {
            "meeting_date": flow.today(),
            "all_members_pledged": True,
            "approach_by": "welfare-division",
            "council_course": "outreach",
            "revisit_after": "P14D",
        },
    )
    # The council chose outreach: the outreach worker visits at once, then at the revisit date.
    assert flow.waiting() == {"outreach_visit": "outreach"}
    assert flow.refresh().stage == "outreach"
    flow.complete(
        "outreach_visit", "demo-outreach", {"visit_date": flow.today(), "visit_result": "continue"}
    )
    assert flow.waiting() == {}
    assert flow.pass_days(13) == 0
    assert flow.pass_days(1.1) == 1
    assert flow.waiting() == {"outreach_visit": "outreach"}
    flow.complete(
        "outreach_visit", "demo-outreach", {"visit_date": flow.today(), "visit_result": "continue"}
    )
    assert flow.waiting() == {}
    flow.deliver("consent_obtained", {"scope": "多機関での情報共有"})
    assert flow.waiting() == {"coordination_intake": "coordination"}
    accept_and_plan(flow)
    assert flow.waiting() == {"plan_conference": "coordination"}


def test_support_council_can_change_course_while_outreach_waits(flow: Flow) -> None:
    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="not_given")
    )
    council = council_record(flow, "watch", "P30D")
    flow.complete("support_council", "demo-supervisor", council)
    flow.deliver("council_redirect")
    assert flow.waiting() == {"support_council": "support_council"}


@pytest.mark.renamed_ids
def test_interruption_waits_and_resumes(flow: Flow) -> None:
    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    accept_and_plan(flow, review_in_days=10)
    approve(flow)
    flow.complete("support_decision", "demo-decision", {"decision_date": flow.today()})
    flow.pass_days(10.1)
    flow.complete(
        "monitoring",
        "demo-coordinator",
        {
            "monitored_on": flow.today(),
            "trigger": "refusal",
            "monitoring_outcome": "propose_termination",
        },
    )
    flow.complete(
        "evaluation",
        "demo-supervisor",
        {
            "evaluated_on": flow.today(),
            "goal_results": [{"goal": "生活費の見通しを立てる", "result": "partly"}],
            "evaluation_decision": "interruption",
            "interruption_reason": "本人が入院したため",
        },
    )
    assert flow.waiting() == {"interrupted": "coordination"}
    case = flow.refresh()
    assert (case.status, case.stage) == ("interrupted", "interrupted")
    assert flow.pass_days(60) == 0  # an interruption waits for a person, not a timer
    flow.complete(
        "interrupted",
        "demo-coordinator",
        {
            "resumed_on": flow.today(),
            "resume_from": "monitoring",
            "next_review_date": flow.today(7),
        },
    )
    assert flow.refresh().status == "open"
    assert flow.waiting() == {}
    assert flow.pass_days(7.5) == 1
    assert flow.waiting() == {"monitoring": "coordination"}


def test_stalled_task_escalates_to_the_supervisor_queue(flow: Flow) -> None:
    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    # coordination_intake is due in 5 days; 7 more days overdue (the default) escalates it.
    assert flow.pass_days(11.9) == 0
    assert flow.pass_days(0.2) == 1
    assert flow.waiting() == {"coordination_intake": "coordination", "escalation": "supervisors"}
    flow.complete(
        "escalation", "demo-supervisor", {"checked_on": flow.today(), "action": "担当者に確認した"}
    )
    assert flow.waiting() == {"coordination_intake": "coordination"}


def test_reopening_a_closed_case_starts_a_new_cycle_with_history_intact(flow: Flow) -> None:
    flow.open_case()
    with pytest.raises(Conflict):
        cases.reopen(flow.case.id, flow.user("demo-elderly"), "まだ終結していない")
    flow.complete("first_assessment", "demo-elderly", first_assessment("window"))
    flow.complete(
        "window_support",
        "demo-elderly",
        {"support_content": "相談対応", "window_outcome": "close", "closure_reason": "解決"},
    )
    case = flow.refresh()
    assert case.status == "closed"
    with pytest.raises(InvalidInput):
        cases.reopen(case.id, flow.user("demo-elderly"), " ")
    reopened = cases.reopen(case.id, flow.user("demo-elderly"), "新たに債務の相談")
    assert (reopened.status, reopened.stage, reopened.cycle) == ("open", "intake", 2)
    assert flow.waiting() == {"first_assessment": WINDOW}
    assert flow.submissions() == ["first_assessment", "window_support"]
    assert len(flow.instances()) == 2


def test_demo_cases_stand_at_several_stages_and_load_once(flow: Flow) -> None:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Case
    from app.services import demo_cases

    assert demo_cases.load_demo_cases() == len(demo_cases.DEMO_CASES)
    assert demo_cases.load_demo_cases() == 0
    stages = {c.title: (c.stage, c.status) for c in db.session.scalars(select(Case))}
    assert all(title.startswith("【デモ】") for title in stages)
    assert {s for s, _ in stages.values()} >= {
        "intake",
        "coordination",
        "plan_conference",
        "support_council",
        "closed",
    }
    assert ("closed", "closed") in stages.values()


def test_watching_brings_the_case_back_to_the_council_and_consent_is_recorded(flow: Flow) -> None:
    from app.extensions import db
    from app.services import instances

    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="not_given")
    )
    council = council_record(flow, "watch", "P30D")
    flow.complete("support_council", "demo-supervisor", council)
    assert flow.pass_days(30.5) == 1
    assert flow.waiting() == {"support_council": "support_council"}
    flow.complete(
        "support_council",
        "demo-supervisor",
        {**council, "council_course": "outreach", "revisit_after": "P7D"},
    )
    flow.pass_days(7.5)
    flow.complete(
        "outreach_visit",
        "demo-outreach",
        {
            "visit_date": flow.today(),
            "visit_result": "consent_obtained",
            "consent_scope": "関係機関での情報共有",
        },
    )
    assert flow.waiting() == {"coordination_intake": "coordination"}
    [instance] = flow.instances()
    assert (
        instances.resume(db.session.get(type(instance), instance.id)).last_data()["consent"]
        == "given"
    )


def test_support_decision_step_is_skipped_when_the_municipality_does_not_use_it(flow: Flow) -> None:
    from app.extensions import db
    from app.services import settings

    settings.update("support_decision_required", False, flow.user("demo-admin"))
    db.session.commit()
    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    accept_and_plan(flow, participation=True)
    approve(flow)
    assert flow.waiting() == {"participation_matching": "participation"}


def test_a_dated_step_can_be_started_now_and_its_timer_is_planned_again(flow: Flow) -> None:
    flow.open_case()
    flow.complete("first_assessment", "demo-elderly", first_assessment("window"), WINDOW)
    flow.complete(
        "window_support",
        "demo-elderly",
        {"support_content": "介護保険の申請支援", "window_outcome": "continue"},
    )
    [waiting] = [w for w in instances.waiting_events(flow.case) if w.start_now]
    assert (waiting.element_id, waiting.kind) == ("window_interval", "timer")
    assert waiting.due_at.date().isoformat() == flow.today(30)
    events.act_now(flow.case, "window_interval", flow.user("demo-elderly"))
    assert flow.waiting() == {"window_support": WINDOW}
    assert [w for w in instances.waiting_events(flow.case) if w.start_now] == []
    # Nothing fires twice: the old date passes quietly.
    assert flow.pass_days(31) == 0
    assert flow.waiting() == {"window_support": WINDOW}
    with pytest.raises(Conflict):
        events.act_now(flow.case, "window_interval", flow.user("demo-elderly"))


def test_review_retention_and_monitoring_requests_can_be_brought_forward(flow: Flow) -> None:
    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    accept_and_plan(flow, review_in_days=30, participation=True)
    approve(flow)
    flow.complete("support_decision", "demo-decision", {"decision_date": flow.today()})
    flow.complete(
        "participation_matching",
        "demo-participation",
        matched(flow, "P30D"),
    )
    flow.complete("participation_placement", "demo-participation", {"started_on": flow.today()})

    def startable() -> dict[str, str]:
        return {w.element_id: w.kind for w in instances.waiting_events(flow.case) if w.start_now}

    assert startable() == {"retention_check_due": "timer"}
    # 定着の確認 inside the called participation process, before its date.
    events.act_now(flow.case, "retention_check_due", flow.user("demo-participation"))
    assert flow.waiting() == {"participation_retention": "participation"}
    flow.complete(
        "participation_retention",
        "demo-participation",
        {"checked_on": flow.today(), "retention_status": "retained"},
    )
    assert startable() == {"review_due": "timer", "monitoring_requested": "message"}
    # The plan's review (one branch of an event-based gateway), before its date.
    events.act_now(flow.case, "review_due", flow.user("demo-coordinator"))
    assert flow.waiting() == {"monitoring": "coordination"}
    flow.complete(
        "monitoring",
        "demo-coordinator",
        {
            "monitored_on": flow.today(),
            "trigger": "scheduled",
            "monitoring_outcome": "continue",
            "next_review_date": flow.today(60),
        },
    )
    # The ad-hoc request (a message the flow waits for) from a button, not the API.
    events.act_now(flow.case, "monitoring_requested", flow.user("demo-coordinator"))
    assert flow.waiting() == {"monitoring": "coordination"}
    flow.complete(
        "monitoring",
        "demo-coordinator",
        {
            "monitored_on": flow.today(),
            "trigger": "crisis",
            "monitoring_outcome": "continue",
            "next_review_date": flow.today(60),
        },
    )
    # The plan's first review date (day 30) and the participation date pass quietly.
    assert flow.pass_days(40) == 0 and flow.waiting() == {}


@pytest.mark.renamed_ids
def test_the_renamed_diagrams_are_what_runs(flow: Flow) -> None:
    flow.open_case()
    [item] = flow.open_items()
    if flow.renamed:
        assert item.element_id.startswith("el_") and "first_assessment" not in item.element_id
    else:
        assert item.element_id == "first_assessment"
    assert flow.waiting() == {"first_assessment": WINDOW}
