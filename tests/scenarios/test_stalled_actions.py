"""What a supervisor does beyond reassigning: hold a case's process and resume it, hand a case to
another supervisor, and read a long stalled list page by page with exact counts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Agency, AuditEvent, ProcessInstance, User
from app.services import case_view, users, work_items
from app.services.errors import Conflict, InvalidInput, NotFound
from app.services.supervision import actions, escalations, holds, stalled
from app.services.supervision import scope as scopes
from tests.harness import Flow, first_assessment

PASSWORD = "Scenario-Kasane-2026!"


def _supervisor(flow: Flow, username: str, *agency_codes: str) -> User:
    agency = db.session.scalar(select(Agency).where(Agency.code == "child-center"))
    users.create_user(username, f"{username} 係長", PASSWORD, "supervisor", agency_id=agency.id)
    db.session.commit()
    return flow.oversee(username, *agency_codes)


def _rows(supervisor: User, **filters: object) -> list[stalled.StalledRow]:
    return stalled.listing(supervisor, stalled.StalledFilter(**filters)).rows


def test_a_held_case_does_not_move_until_it_is_resumed(flow: Flow) -> None:
    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    flow.open_case()
    flow.complete("first_assessment", "demo-elderly", first_assessment("window"))
    [item] = flow.open_items()
    [result] = holds.hold_many(
        [item.id], "家族から苦情があり、方針を確認するまで止める", supervisor
    )
    assert result.ok, result.message
    assert [row.reason for row in _rows(supervisor)] == ["held"]
    assert _rows(supervisor, new_only=True) == []  # a hold is a decision, not a new stall

    with pytest.raises(Conflict) as refused:
        work_items.complete(
            item.id,
            flow.user("demo-elderly"),
            {"support_content": "介護保険の申請支援", "window_outcome": "continue"},
        )
    assert "一時停止" in refused.value.message
    flow.pass_days(5)  # its step would now be late, but a held case is listed as held only
    assert {row.reason for row in _rows(supervisor)} == {"held"}
    [held] = [row for row in _rows(supervisor) if row.reason == "held"]
    assert held.case_id == flow.case.id and "方針を確認" in held.detail
    [again] = holds.hold_many([item.id], "二度目", supervisor)
    assert not again.ok

    result = holds.release(held.instance_id, supervisor)
    assert result.ok, result.message
    assert not [row for row in _rows(supervisor) if row.reason == "held"]
    flow.complete(
        "window_support",
        "demo-elderly",
        {"support_content": "介護保険の申請支援", "window_outcome": "continue"},
    )
    told = " ".join(e.what for e in case_view.build(flow.refresh(), supervisor).timeline)
    assert "一時停止しました" in told and "方針を確認" in told and "再開しました" in told


def test_timers_of_a_held_case_wait_and_fire_once_it_is_resumed(flow: Flow) -> None:
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
    assert holds.hold(instance.id, "確認中", supervisor).ok
    flow.pass_days(45)  # the window's check falls due while the process is held
    assert {item.element_id for item in flow.open_items()} == before

    assert holds.release(instance.id, supervisor).ok
    db.session.expire_all()
    assert {item.element_id for item in flow.open_items()} != before
    assert db.session.get(ProcessInstance, instance.id).held_at is None


def test_holding_a_case_outside_the_scope_is_refused_and_audited(flow: Flow) -> None:
    flow.open_case()
    [instance] = flow.instances()
    outsider = _supervisor(flow, "sv-outside", "child-center")
    result = holds.hold(instance.id, "範囲外から", outsider)
    assert not result.ok
    db.session.expire_all()
    assert db.session.get(ProcessInstance, instance.id).held_at is None
    denied = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "process.hold", AuditEvent.outcome == "denied"
        )
    )
    assert denied is not None and denied.actor_id == outsider.id


def test_a_case_handed_to_another_supervisor_waits_on_their_list_until_dealt_with(
    flow: Flow,
) -> None:
    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    colleague = _supervisor(flow, "sv-elderly-2", "elderly-center")
    outsider = _supervisor(flow, "sv-child-only", "child-center")
    flow.open_case()
    [item] = flow.open_items()

    [refused] = escalations.escalate_many([item.id], "sv-child-only", "見てください", supervisor)
    assert not refused.ok and "範囲外" in refused.message
    with pytest.raises(InvalidInput):
        escalations.escalate_many([item.id], "demo-elderly", "見てください", supervisor)
    with pytest.raises(InvalidInput):
        escalations.escalate_many([item.id], "sv-elderly-2", " ", supervisor)
    [handed] = escalations.escalate_many([item.id], "sv-elderly-2", "課長の判断が要る", supervisor)
    assert handed.ok, handed.message
    [twice] = escalations.escalate_many([item.id], "sv-elderly-2", "もう一度", supervisor)
    assert not twice.ok and "すでに" in twice.message  # one open hand-on per case and receiver

    [row] = [row for row in _rows(colleague) if row.reason == "escalated"]
    assert row.item_id == item.id and "課長の判断が要る" in row.detail
    assert not [row for row in _rows(supervisor) if row.reason == "escalated"]
    assert not _rows(outsider)
    with pytest.raises(NotFound):
        escalations.resolve(row.escalation_id, supervisor)  # only the receiver marks it

    escalations.resolve(row.escalation_id, colleague)
    assert not [row for row in _rows(colleague) if row.reason == "escalated"]
    told = " ".join(e.what for e in case_view.build(flow.refresh(), supervisor).timeline)
    assert "sv-elderly-2 係長さんに回しました：課長の判断が要る" in told


def test_a_row_about_the_case_as_a_whole_is_acted_on_by_its_case(flow: Flow) -> None:
    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    colleague = _supervisor(flow, "sv-elderly-2", "elderly-center")
    outsider = _supervisor(flow, "sv-child-only", "child-center")
    flow.open_case()
    [instance] = flow.instances()
    instance.error = "スクリプトの失敗"
    db.session.commit()
    [row] = [row for row in _rows(supervisor) if row.reason == "error"]
    assert row.item_id is None and row.case_id == flow.case.id

    [refused] = actions.reassign_many([], "demo-elderly", supervisor, case_ids=[row.case_id])
    assert not refused.ok and "タスクの行" in refused.message
    [noted] = actions.note_many([], "家族に電話で確認する", supervisor, case_ids=[row.case_id])
    assert noted.ok and flow.case.number in noted.title
    [outside] = escalations.escalate_many(
        [], "sv-child-only", "見てください", supervisor, case_ids=[row.case_id]
    )
    assert not outside.ok and "範囲外" in outside.message
    [handed] = escalations.escalate_many(
        [], "sv-elderly-2", "課長の判断が要る", supervisor, case_ids=[row.case_id]
    )
    assert handed.ok, handed.message
    [got] = [row for row in _rows(colleague) if row.reason == "escalated"]
    assert got.case_id == flow.case.id and got.item_id is None
    assert not _rows(outsider)
    [held] = holds.hold_many([], "方針を確認する", supervisor, case_ids=[row.case_id])
    assert held.ok, held.message
    db.session.expire_all()
    assert db.session.get(ProcessInstance, instance.id).held_at is not None

    # A case the supervisor may not open is refused and the refusal audited.
    [unseen] = actions.note_many([], "見えないケース", outsider, case_ids=[row.case_id])
    assert not unseen.ok
    denied = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "case.note", AuditEvent.outcome == "denied")
    ).all()
    assert [d.actor_id for d in denied] == [outsider.id]
    told = " ".join(e.what for e in case_view.build(flow.refresh(), supervisor).timeline)
    assert "家族に電話で確認する" in told and "方針を確認する" in told


def test_a_long_list_is_read_page_by_page_in_lateness_order_with_exact_counts(
    flow: Flow,
) -> None:
    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    for n in range(5):
        flow.open_case(title=f"【テスト】{n}件目")
        flow.pass_days(1)
    flow.pass_days(4)  # each case's first step is overdue and unclaimed, the oldest most

    first = stalled.listing(supervisor, stalled.StalledFilter(reason="overdue_step"), size=2)
    second = stalled.listing(
        supervisor, stalled.StalledFilter(reason="overdue_step"), page=2, size=2
    )
    last = stalled.listing(supervisor, stalled.StalledFilter(reason="overdue_step"), page=3, size=2)
    assert first.counts["overdue_step"] == first.total == 5 and first.pages == 3
    assert first.counts["unclaimed"] == 5
    titles = [row.case_title for page in (first, second, last) for row in page.rows]
    assert titles == [f"【テスト】{n}件目" for n in range(5)]
    lateness = [row.days_late for page in (first, second, last) for row in page.rows]
    assert lateness == sorted(lateness, reverse=True)


def test_what_became_stuck_in_the_last_day_is_new(flow: Flow) -> None:
    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    flow.open_case()
    flow.pass_days(3.5)  # due in 3 days: overdue half a day ago
    page = stalled.listing(supervisor, stalled.StalledFilter())
    assert page.fresh >= 1
    assert [row.reason for row in _rows(supervisor, new_only=True)].count("overdue_step") == 1
    flow.pass_days(2)
    assert "overdue_step" not in [row.reason for row in _rows(supervisor, new_only=True)]
    assert "overdue_step" in [row.reason for row in _rows(supervisor)]


def test_the_heatmap_counts_a_case_at_its_step_not_at_the_steps_armed_stall_timer(
    flow: Flow,
) -> None:
    from app.models import WaitingEvent
    from app.services.supervision import heatmap

    supervisor = flow.user("demo-supervisor")
    scopes.replace(supervisor, ["elderly-center"], ["coordination"], flow.user("demo-admin"))
    db.session.commit()
    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    armed = db.session.scalars(select(WaitingEvent.element_id)).all()
    assert "coordination_intake_stalled" in armed  # the boundary timer waits with its task
    heat = heatmap.waiting(supervisor, "support_case")
    assert heat["coordination_intake"].count == 1
    assert "coordination_intake_stalled" not in heat
