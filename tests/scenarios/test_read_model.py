"""The supervisors' read model, kept case by case at each commit, always equals the one rebuilt
from scratch: cases move through the real flow (claims, completions, referral to coordination, a
plan with its review date, timers, a hold and its resumption, an engine error, a changed limit and
step limit), and after each change the rows kept are compared with a rebuild."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models import Case, CaseKey, ReadModelPending, StallEntry, StepLimit, WaitEntry
from app.services import settings, work_items
from app.services.supervision import holds, readmodel, stalled, stalls, waits
from tests.harness import Flow, decided_plan, first_assessment

TABLES = {
    CaseKey: ("case_id", "scope_key"),
    StallEntry: ("scope_key", *stalls.COLUMNS),
    WaitEntry: ("scope_key", *waits.COLUMNS),
}


def _rows() -> dict[str, list[tuple[Any, ...]]]:
    db.session.expire_all()
    return {
        table.__tablename__: sorted(
            db.session.execute(select(*(getattr(table, c) for c in columns))).all(),
            key=repr,
        )
        for table, columns in TABLES.items()
    }


def _same_as_rebuilt(when: str) -> None:
    readmodel.catch_up(db.session())  # as every view does before it reads
    assert not db.session.scalar(select(func.count()).select_from(ReadModelPending)), when
    kept = _rows()
    readmodel.rebuild(db.session)
    rebuilt = _rows()
    db.session.rollback()  # the rebuild only compared: the kept rows stay as they were
    for name in TABLES:
        name = name.__tablename__
        assert kept[name] == rebuilt[name], (when, name)
    assert kept["stall_entry"] and kept["wait_entry"], when


def test_the_kept_rows_equal_a_rebuild_at_every_step(flow: Flow) -> None:
    flow.open_case()
    _same_as_rebuilt("opened")
    [item] = flow.open_items()
    work_items.claim(item.id, flow.user("demo-elderly"))
    _same_as_rebuilt("claimed")
    flow.pass_days(5)
    _same_as_rebuilt("days passed")
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    _same_as_rebuilt("referred to coordination")

    [instance] = flow.instances()
    assert holds.hold(instance.id, "確認のため", flow.user("demo-supervisor")).ok
    _same_as_rebuilt("held")
    assert holds.release(instance.id, flow.user("demo-supervisor")).ok
    _same_as_rebuilt("resumed")

    instance.error = "スクリプトの失敗"
    db.session.commit()
    _same_as_rebuilt("error")
    instance.error = None
    db.session.commit()

    settings.update("unclaimed_after_days", 5, flow.user("demo-admin"))
    db.session.commit()
    _same_as_rebuilt("limit changed")
    [waiting] = flow.open_items()
    db.session.add(
        StepLimit(process_key=waiting.process_key, element_id=waiting.element_id, days=2)
    )
    db.session.commit()
    _same_as_rebuilt("step limit set")


def test_a_decided_plan_waiting_for_its_review_is_kept(flow: Flow) -> None:
    decided_plan(flow, review_in_days=10)
    _same_as_rebuilt("plan decided")
    flow.pass_days(40)
    _same_as_rebuilt("past the review date, timers fired")


def test_a_step_is_pending_until_the_worker_or_a_view_catches_up(flow: Flow) -> None:
    """A person's step writes its case down as pending (it does not wait for the rewrite); the
    timer worker's round rewrites it, and so does any supervisor's view before it reads."""
    flow.open_case()
    case_id = flow.case.id

    def pending() -> list[int]:
        return list(db.session.scalars(select(ReadModelPending.case_id)))

    assert case_id in pending()
    assert not db.session.scalar(
        select(func.count()).select_from(CaseKey).where(CaseKey.case_id == case_id)
    )
    result = current_app.test_cli_runner().invoke(args=["kasane", "worker", "--once"])
    assert result.exit_code == 0, result.output
    flow.case = db.session.get(Case, case_id)  # the worker ended the session the case was in
    assert pending() == []
    _same_as_rebuilt("caught up by the worker")

    [item] = flow.open_items()
    work_items.claim(item.id, flow.user("demo-elderly"))
    assert pending() == [case_id]
    stalled.listing(flow.user("demo-supervisor"), stalled.StalledFilter())
    assert pending() == []  # the view took it before reading
    _same_as_rebuilt("caught up by a view")
