"""Try it: a designer runs a draft with sample data up to a chosen task, in a sandbox that writes
nothing but its audit row; where the run stops (reached, ended, waiting, failed, circling) is clear."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    Case,
    FormSubmission,
    PathStep,
    ProcessDefinition,
    ProcessDraft,
    ProcessInstance,
    WorkItem,
)
from app.services import definitions
from app.services.design import drafts, tryout
from app.services.errors import Forbidden, InvalidInput

ROOT = Path(__file__).parent.parent.parent
FORMS = str(ROOT / "forms")
TO_PLAN = {"decision": "coordination", "consent": "given", "coordination_decision": "accept"}
DELIVERY = {
    **TO_PLAN,
    "conference_outcome": "approve",
    "participation_requested": True,
    "outreach_requested": False,
    "match_result": "matched",
}


@pytest.fixture
def flow(ctx: Flask, demo: None) -> ProcessDefinition:
    definitions.deploy([str(ROOT / "processes")], FORMS)
    return definitions.latest("support_case")


@pytest.fixture
def designer(user):
    return user("demo-designer")


def _draft(
    flow: ProcessDefinition, designer, change: tuple[str, str] | None = None
) -> ProcessDraft:
    draft = drafts.start_from_version(flow.id, designer)
    if change is not None:
        changed = draft.bpmn_xml.replace(*change, 1)
        assert changed != draft.bpmn_xml
        draft = drafts.save(draft.id, changed, draft.lock_version, designer)
    return draft


def _ids(result: tryout.TryResult) -> list[str]:
    return [element.element_id for element in result.path]


def _counts() -> dict[str, int]:
    models = (ProcessInstance, WorkItem, Case, FormSubmission, PathStep)
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in models}


def test_the_coordination_sample_reaches_the_support_plan(flow, designer) -> None:
    draft = _draft(flow, designer)

    result = tryout.try_run(draft.id, "support_plan", dict(TO_PLAN), designer, FORMS)

    assert result.outcome == "reached", result.message
    assert result.stopped_at.element_id == "support_plan"
    assert "支援プランの作成" in result.message
    assert _ids(result) == [
        "start",
        "first_assessment",
        "route",
        "coordination_intake",
        "coordination_accepted",
        "assessment",
        "support_plan",
    ]
    assert result.path[1].name.startswith("初期アセスメント")
    assert result.data["decision"] == "coordination"
    assert result.data["monitoring_interval"] == "P30D"  # a setting every case starts with
    assert "case_number" not in result.data
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "draft.try")).one()
    assert row.object_id == str(draft.id) and row.detail["target"] == "support_plan"


def test_the_window_branch_ends_without_reaching_the_plan(flow, designer) -> None:
    draft = _draft(flow, designer)
    sample = {"decision": "window", "window_outcome": "close"}

    result = tryout.try_run(draft.id, "support_plan", sample, designer, FORMS)

    assert result.outcome == "ended"
    assert result.stopped_at.element_id == "window_closed"
    assert "窓口で終結" in result.message
    assert "support_plan" not in _ids(result)
    assert _ids(result)[-3:] == ["window_support", "window_continue", "window_closed"]


def test_a_sample_that_keeps_the_window_open_is_a_loop(flow, designer) -> None:
    draft = _draft(flow, designer)
    sample = {"decision": "window", "window_outcome": "continue"}

    result = tryout.try_run(draft.id, "support_plan", sample, designer, FORMS)

    assert result.outcome == "loop"
    assert result.stopped_at.element_id == "window_support"
    assert "窓口での支援とモニタリング" in result.message and "同じデータ" in result.message
    assert result.steps < 5  # seen on the second pass, not after the step cap
    # The timer fired at once: the run came round through it rather than waiting 30 days.
    assert "window_interval" in _ids(result)


def test_a_run_past_the_step_cap_stops_as_a_loop(flow, designer, monkeypatch) -> None:
    draft = _draft(flow, designer)
    monkeypatch.setattr(tryout, "MAX_STEPS", 2)

    result = tryout.try_run(draft.id, "support_plan", dict(TO_PLAN), designer, FORMS)

    assert result.outcome == "loop" and result.steps == 2
    assert "2 手順" in result.message
    assert result.stopped_at.element_id in {"first_assessment", "coordination_intake"}


def test_a_condition_reading_a_missing_variable_stops_at_its_gateway(flow, designer) -> None:
    draft = _draft(
        flow,
        designer,
        ("decision == 'referral'</", "window_outcome == 'close'</"),
    )

    result = tryout.try_run(draft.id, "support_plan", dict(TO_PLAN), designer, FORMS)

    assert result.outcome == "error", result.message
    assert result.stopped_at.element_id == "route"
    assert "どこで支援する？" in result.message and "window_outcome" in result.message
    assert "Traceback" not in result.message and "Error evaluating" not in result.message
    assert _ids(result)[-1] == "first_assessment"


def test_listed_messages_are_delivered_and_an_unlisted_one_is_waited_for(flow, designer) -> None:
    # The revisit timer becomes a message, so nothing but messages can move the run on.
    timer = (
        '<bpmn:timerEventDefinition id="revisit_due_timer">\n'
        "        <bpmn:timeDuration>revisit_after</bpmn:timeDuration>\n"
        "      </bpmn:timerEventDefinition>"
    )
    message = '<bpmn:messageEventDefinition id="revisit_due_timer" messageRef="msg_revisit"/>'
    draft = _draft(flow, designer, (timer, message))
    drafts.save(
        draft.id,
        draft.bpmn_xml.replace(
            '<bpmn:message id="msg_council_redirect"',
            '<bpmn:message id="msg_revisit" name="revisit"/>\n'
            '  <bpmn:message id="msg_council_redirect"',
        ),
        draft.lock_version,
        designer,
    )
    assert drafts.problems(draft, FORMS) == []
    sample = {**TO_PLAN, "consent": "not_given", "council_course": "watch"}

    waiting = tryout.try_run(draft.id, "support_plan", dict(sample), designer, FORMS)

    assert waiting.outcome == "waiting_message"
    assert waiting.stopped_at.element_id in {"consent_obtained", "revisit_due", "council_redirect"}
    assert "messages" in waiting.message
    assert _ids(waiting)[-2:] == ["support_council", "council_course"]

    sample["messages"] = ["consent_obtained"]
    reached = tryout.try_run(draft.id, "support_plan", sample, designer, FORMS)

    assert reached.outcome == "reached", reached.message
    ids = _ids(reached)
    assert ids.index("consent_obtained") < ids.index("record_consent") < ids.index("support_plan")
    assert "messages" not in reached.data
    # The script's consent stands: later tasks fill in only their own forms' fields.
    assert reached.data["consent"] == "given"


def test_timers_fire_and_called_processes_run_into_their_tasks(flow, designer) -> None:
    draft = _draft(flow, designer)
    assert ("participation_retention", "定着の確認（フォローアップ）") in tryout.targets(draft)

    result = tryout.try_run(draft.id, "participation_retention", DELIVERY, designer, FORMS)

    assert result.outcome == "reached", result.message
    assert result.stopped_at == (
        "participation",
        "participation_retention",
        "定着の確認（フォローアップ）",
    )
    called = [e.element_id for e in result.path if e.process_key == "participation"]
    assert called == [
        "start",
        "participation_matching",
        "matched",
        "participation_placement",
        "retention_check_due",
        "participation_retention",
    ]
    assert "support_decision" in _ids(result)  # the setting asks for a 支援決定


def test_a_try_writes_nothing_but_its_audit_row(flow, designer) -> None:
    draft = _draft(flow, designer)
    before = _counts()
    audits = db.session.scalar(select(func.count(AuditEvent.id)))

    for target, sample in (
        ("support_plan", dict(TO_PLAN)),
        ("participation_retention", dict(DELIVERY)),
        ("support_plan", {"decision": "window", "window_outcome": "continue"}),
    ):
        tryout.try_run(draft.id, target, sample, designer, FORMS)
    db.session.rollback()

    assert _counts() == before
    assert before == dict.fromkeys(before, 0)
    assert db.session.scalar(select(func.count(AuditEvent.id))) == audits + 3
    assert db.session.get(ProcessDraft, draft.id).status == "editing"


def test_a_caseworker_may_not_try_and_the_refusal_is_audited(flow, designer, user) -> None:
    draft = _draft(flow, designer)
    with pytest.raises(Forbidden):
        tryout.try_run(draft.id, "support_plan", dict(TO_PLAN), user("demo-coordinator"), FORMS)
    denied = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "draft.try", AuditEvent.outcome == "denied")
    ).one()
    assert denied.object_id == str(draft.id)


def test_a_draft_deploy_would_refuse_is_reported_not_run(flow, designer) -> None:
    draft = _draft(
        flow,
        designer,
        (
            'value="support_plan.schema.json"/>\n          <spiffworkflow:property name="recordAs"',
            'value="missing.schema.json"/>\n          <spiffworkflow:property name="recordAs"',
        ),
    )

    result = tryout.try_run(draft.id, "support_plan", dict(TO_PLAN), designer, FORMS)

    assert result.outcome == "refused"
    assert "missing.schema.json" in result.message and result.path == []
    assert result.stopped_at is not None and result.stopped_at.element_id == "support_plan"


def test_targets_and_bad_samples_are_refused_in_japanese(flow, designer) -> None:
    draft = _draft(flow, designer)
    ids = [element_id for element_id, _ in tryout.targets(draft)]
    assert ids[0] == "first_assessment" and "support_plan" in ids
    assert "participation_matching" in ids and "outreach_followup" in ids
    assert len(ids) == len(set(ids))

    for target, sample, words in (
        ("route", dict(TO_PLAN), "ユーザータスク"),
        ("support_plan", ["decision"], "JSON"),
        ("support_plan", {"messages": "consent_obtained"}, "messages"),
        ("support_plan", {"when": object()}, "JSON"),
    ):
        with pytest.raises(InvalidInput, match=words):
            tryout.try_run(draft.id, target, sample, designer, FORMS)
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "draft.try")) == 0
