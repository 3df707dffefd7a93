"""Stalled cases as a supervisor sees them: each reason appears when its limit passes (the clock
moved), with its lateness; a case that moves on leaves the list; scope decides what is seen; bulk
reassign moves exactly the chosen items and refuses a person outside the queue, auditing each."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Agency, AuditEvent, ProcessInstance, StepLimit, User, WorkItem
from app.services import settings, users
from app.services.errors import Forbidden, InvalidInput
from app.services.supervision import actions, holds, stalled
from tests.harness import Flow, decided_plan, first_assessment

PASSWORD = "Scenario-Kasane-2026!"


def _reasons(supervisor: User, **filters: object) -> dict[str, list[stalled.StalledRow]]:
    page = stalled.listing(supervisor, stalled.StalledFilter(**filters))
    found: dict[str, list[stalled.StalledRow]] = {}
    for row in page.rows:
        found.setdefault(row.reason, []).append(row)
    return found


def test_a_step_past_its_limit_appears_with_its_lateness_and_leaves_when_done(flow: Flow) -> None:
    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    flow.open_case()
    assert _reasons(supervisor) == {}

    flow.pass_days(5)  # first_assessment is due in 3 days; unclaimed after 3
    found = _reasons(supervisor)
    [late] = found["overdue_step"]
    assert late.case_id == flow.case.id and late.item_id is not None
    assert 1.9 <= late.days_late <= 2.1
    assert [row.case_id for row in found["unclaimed"]] == [flow.case.id]

    flow.complete("first_assessment", "demo-elderly", first_assessment("window"))
    assert "overdue_step" not in _reasons(supervisor)


def test_the_municipalitys_step_limit_overrides_the_diagram(flow: Flow) -> None:
    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    flow.open_case()
    [item] = flow.open_items()
    db.session.add(StepLimit(process_key=item.process_key, element_id=item.element_id, days=1))
    db.session.commit()
    flow.pass_days(1.5)
    [late] = _reasons(supervisor)["overdue_step"]
    assert 0.4 <= late.days_late <= 0.6


def test_an_instance_in_error_and_an_idle_case_are_listed(flow: Flow) -> None:
    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    flow.open_case()
    [instance] = flow.instances()
    instance.error = "スクリプトの失敗"
    db.session.commit()
    assert [row.detail for row in _reasons(supervisor)["error"]] == ["スクリプトの失敗"]

    instance.error = None
    db.session.commit()
    flow.pass_days(31)
    assert [row.case_id for row in _reasons(supervisor)["no_activity"]] == [flow.case.id]
    only = _reasons(supervisor, reason="no_activity")
    assert set(only) == {"no_activity"}


def test_a_supervisor_of_another_agency_sees_none_of_these_cases(flow: Flow) -> None:
    flow.open_case()
    flow.pass_days(5)
    other = users.create_user(
        "sv-child", "子ども係長", PASSWORD, "supervisor", agency_id=_agency("child-center").id
    )
    db.session.commit()
    assert stalled.listing(other, stalled.StalledFilter()).rows == []
    # Overseeing the elderly window is data the administrator sets; then the case is seen.
    flow.oversee("sv-child", "elderly-center")
    assert _reasons(flow.user("sv-child"))["overdue_step"]
    with pytest.raises(Forbidden):
        stalled.listing(flow.user("demo-elderly"), stalled.StalledFilter())


def test_bulk_reassign_moves_exactly_the_chosen_items_and_refuses_outsiders(flow: Flow) -> None:
    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    ids = []
    for title in ("【テスト】一件目", "【テスト】二件目", "【テスト】三件目"):
        flow.open_case(title=title)
        ids.append(flow.open_items()[0].id)
    colleague = users.create_user(
        "elderly-2",
        "介護 窓口相談員2",
        PASSWORD,
        "window_worker",
        agency_id=_agency("elderly-center").id,
    )
    db.session.commit()

    results = actions.reassign_many(ids[:2], "elderly-2", supervisor)
    assert [r.ok for r in results] == [True, True]
    assignees = {
        item.id: item.assignee_id
        for item in db.session.scalars(select(WorkItem).where(WorkItem.id.in_(ids)))
    }
    assert assignees == {ids[0]: colleague.id, ids[1]: colleague.id, ids[2]: None}

    refused = actions.reassign_many([ids[2]], "demo-child", supervisor)
    assert [r.ok for r in refused] == [False] and "担当ではありません" in refused[0].message
    with pytest.raises(InvalidInput):
        actions.reassign_many([ids[2]], "nobody-at-all", supervisor)
    audited = dict(
        db.session.execute(
            select(AuditEvent.outcome, func.count())
            .where(AuditEvent.action == "work_item.reassign")
            .group_by(AuditEvent.outcome)
        ).all()
    )
    assert audited == {"ok": 2, "denied": 1}


def _agency(code: str) -> Agency:
    return db.session.scalar(select(Agency).where(Agency.code == code))


def test_thresholds_are_settings(flow: Flow) -> None:
    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    settings.update("unclaimed_after_days", 1, flow.user("demo-admin"))
    db.session.commit()
    flow.open_case()
    flow.pass_days(1.2)
    assert [row.case_id for row in _reasons(supervisor)["unclaimed"]] == [flow.case.id]
    assert db.session.scalar(select(func.count(ProcessInstance.id))) == 1


def test_a_plan_past_its_review_is_listed_until_something_is_recorded(flow: Flow) -> None:
    supervisor = flow.oversee("demo-supervisor", "elderly-center", "poverty-center")
    decided_plan(flow, review_in_days=5)
    assert flow.refresh().review_due_on is not None
    flow.pass_days(5 + 7)  # the review date, then the stall days: not yet a whole day late
    assert "review_overdue" not in _reasons(supervisor)

    flow.pass_days(1.5)
    [late] = _reasons(supervisor)["review_overdue"]
    assert late.case_id == flow.case.id and late.days_late >= 0.4
    assert late.since.date() == flow.refresh().review_due_on

    flow.complete(
        "monitoring",
        "demo-coordinator",
        {
            "monitored_on": flow.today(),
            "monitoring_outcome": "continue",
            "next_review_date": flow.today(30),
        },
    )
    assert "review_overdue" not in _reasons(supervisor)


def test_a_stopped_instance_is_listed_and_retry_continues_it(flow: Flow) -> None:
    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    flow.open_case()
    flow.complete("first_assessment", "demo-elderly", first_assessment("window"))
    flow.complete(
        "window_support",
        "demo-elderly",
        {"support_content": "介護保険の申請支援", "window_outcome": "continue"},
    )
    before = {item.element_id for item in flow.open_items()}
    [instance] = flow.instances()
    # What the worker does when the engine fails at a timer: the instance stops, in error.
    instance.error = "一時的な障害"
    instance.next_timer_at = None
    db.session.commit()
    flow.pass_days(45)  # the window's check falls due, but a stopped instance does not move
    assert {item.element_id for item in flow.open_items()} == before
    [row] = _reasons(supervisor)["error"]

    result = actions.retry(row.instance_id, supervisor)

    assert result.ok, result.message
    db.session.expire_all()
    assert db.session.get(ProcessInstance, instance.id).error is None
    assert {item.element_id for item in flow.open_items()} != before
    assert "error" not in _reasons(supervisor)


def test_due_change_and_note_are_on_the_case_timeline(flow: Flow) -> None:
    from app.services import case_view

    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    flow.open_case()
    [item] = flow.open_items()
    flow.pass_days(5)
    [changed] = actions.change_due_many([item.id], flow.today(7), "家族の入院のため", supervisor)
    assert changed.ok
    assert "overdue_step" not in _reasons(supervisor)
    with pytest.raises(InvalidInput):
        actions.change_due_many([item.id], flow.today(-1), "過去", supervisor)
    [noted] = actions.note_many([item.id], "来週、係で状況を確認する", supervisor)
    assert noted.ok
    [moved] = actions.reassign_many([item.id], "demo-elderly", supervisor)
    assert moved.ok, moved.message
    view = case_view.build(flow.refresh(), supervisor)
    told = " ".join(entry.what for entry in view.timeline)
    assert "家族の入院のため" in told and "来週、係で状況を確認する" in told
    due = date.fromisoformat(flow.today(7))
    title, name = item.title, flow.user("demo-elderly").display_name
    assert f"「{title}」の期限を{due.year}年{due.month}月{due.day}日に変えました" in told
    assert f"「{title}」を{name}さんに割り振りました" in told


def test_a_supervisor_ends_a_case_that_must_not_go_on(flow: Flow) -> None:
    from app.models import Case
    from app.services import case_view

    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    flow.open_case()
    [item] = flow.open_items()
    with pytest.raises(InvalidInput):
        holds.end_many([item.id], " ", supervisor)
    [result] = holds.end_many([item.id], "重複して登録されたケース", supervisor)
    assert result.ok, result.message
    db.session.expire_all()
    assert db.session.get(WorkItem, item.id).status == "cancelled"
    [instance] = flow.instances()
    assert instance.status == "completed"
    case = db.session.get(Case, flow.case.id)
    assert case.status == "closed"
    told = " ".join(e.what for e in case_view.build(case, supervisor).timeline)
    assert "重複して登録されたケース" in told
    [again] = holds.end_many([item.id], "もう一度", supervisor)
    assert not again.ok


def test_a_supervisor_searches_cases_of_the_scope_by_stage_agency_and_worker(flow: Flow) -> None:
    from app.services import case_list

    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    flow.open_case(title="【テスト】介護の世帯")
    [item] = flow.open_items()
    actions.reassign_many([item.id], "demo-elderly", supervisor)
    other = users.create_user(
        "sv-child2", "子ども係長", PASSWORD, "supervisor", agency_id=_agency("child-center").id
    )
    db.session.commit()

    def titles(actor: User, **narrow: object) -> list[str]:
        page = case_list.listing(actor, narrowing=case_list.Narrowing(**narrow))
        return [row.case.title for row in page.rows]

    elderly = _agency("elderly-center").id
    assert titles(supervisor, stage="intake", agency_id=elderly) == ["【テスト】介護の世帯"]
    assert titles(supervisor, worker_id=flow.user("demo-elderly").id) == ["【テスト】介護の世帯"]
    assert titles(supervisor, stage="assessment") == []
    assert titles(other) == []
