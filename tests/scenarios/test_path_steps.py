"""The path a case takes is recorded flow by flow, in the main process and in called processes,
and nothing is recorded twice."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import PathStep
from tests.harness import Flow, accept_and_plan, approve, first_assessment, matched


def taken(flow: Flow) -> list[tuple[str, str, str]]:
    rows = db.session.execute(
        select(PathStep.process_key, PathStep.source_id, PathStep.target_id)
        .where(PathStep.case_id == flow.case.id)
        .order_by(PathStep.id)
    )
    return [tuple(row) for row in rows]


def test_each_flow_taken_is_recorded_once_in_order(flow: Flow) -> None:
    flow.open_case()
    steps = taken(flow)
    assert steps == [("support_case", "start", "first_assessment")]
    flow.complete("first_assessment", "demo-elderly", first_assessment("window"))
    after = taken(flow)
    assert after[: len(steps)] == steps  # appended, never rewritten
    new = after[len(steps) :]
    assert ("support_case", "route", "window_support") in new
    assert not any(target == "referral_review" for _, _, target in after)
    assert len(set(after)) == len(after)


def test_a_flow_to_a_catch_event_is_taken_when_the_event_comes(flow: Flow) -> None:
    flow.open_case()
    flow.complete("first_assessment", "demo-elderly", first_assessment("window"))
    flow.complete(
        "window_support",
        "demo-elderly",
        {"support_content": "介護保険の申請支援", "window_outcome": "continue"},
    )
    to_timer = ("support_case", "window_continue", "window_interval")
    assert ("support_case", "window_support", "window_continue") in taken(flow)
    assert to_timer not in taken(flow)  # waiting for the date is not going on
    assert flow.pass_days(31) == 1
    steps = taken(flow)
    assert steps.count(to_timer) == 1
    assert steps.count(("support_case", "window_interval", "window_support")) == 1
    assert steps.count(("support_case", "window_continue", "window_to_close")) == 0


def test_flows_inside_called_processes_are_recorded_under_their_own_process(flow: Flow) -> None:
    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    accept_and_plan(flow, review_in_days=30, participation=True)
    approve(flow)
    flow.complete("support_decision", "demo-decision", {"decision_date": flow.today()})
    flow.complete("participation_matching", "demo-participation", matched(flow))
    steps = taken(flow)
    assert ("support_case", "conference_outcome", "decision_needed") in steps
    assert ("support_case", "decision_needed", "support_decision") in steps
    assert ("support_case", "delivery_split", "participation") in steps
    assert ("participation", "matched", "participation_placement") in steps
    assert ("support_case", "delivery_split", "outreach") not in steps
