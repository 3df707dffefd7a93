"""The engine without a database: loops, data types, double submits, bounded history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.engine.runtime import Run, TaskNotReady
from tests.engine.helpers import bundle, only_ready


def test_loop_of_300_iterations_keeps_advancing_in_memory_without_compaction() -> None:
    # Without the depth guard the library stops finding READY tasks after ~250 rounds.
    run = Run.start(bundle("loop.bpmn", "loop"), {"limit": 300})
    for _ in range(300):
        run.complete(only_ready(run), {"note": "確認済み"})
    assert run.workflow.is_completed()
    assert run.last_data()["count"] == 300


def test_loop_of_300_iterations_through_save_and_load_stays_small() -> None:
    spec = bundle("loop.bpmn", "loop")
    state = Run.start(spec, {"limit": 300}).snapshot().state
    sizes = []
    for _ in range(300):
        run = Run.resume(spec, state)
        run.complete(only_ready(run), {"note": "確認済み"})
        snap = run.snapshot()
        state, sizes = snap.state, [*sizes, snap.task_count]
    assert snap.completed
    assert snap.data["count"] == 300
    assert max(sizes[5:]) == min(sizes[5:]) or max(sizes) < 20


def test_compaction_can_be_skipped_and_then_history_grows() -> None:
    spec = bundle("loop.bpmn", "loop")
    run = Run.start(spec, {"limit": 50})
    for _ in range(20):
        run.complete(only_ready(run), {"note": "x"})
    grown = run.snapshot(compact=False).task_count
    compacted = run.snapshot().task_count
    assert grown > 60
    assert compacted < 15


def test_form_data_with_typename_key_survives_save_and_load() -> None:
    spec = bundle("loop.bpmn", "loop")
    run = Run.start(spec, {"limit": 5})
    data = {"note": "x", "typename": "UUID", "nested": {"typename": "datetime", "typename_": 1}}
    run.complete(only_ready(run), data)
    loaded = Run.resume(spec, run.snapshot().state)
    got = loaded.last_data()
    assert got["typename"] == "UUID"
    assert got["nested"] == {"typename": "datetime", "typename_": 1}


def test_date_decimal_and_set_values_survive_save_and_load() -> None:
    spec = bundle("loop.bpmn", "loop")
    run = Run.start(spec, {"limit": 5})
    run.complete(
        only_ready(run),
        {
            "note": "x",
            "review_on": date(2026, 12, 1),
            "amount": Decimal("1200.50"),
            "tags": {"a", "b"},
        },
    )
    got = Run.resume(spec, run.snapshot().state).last_data()
    assert got["review_on"] == date(2026, 12, 1)
    assert got["amount"] == Decimal("1200.50")
    assert got["tags"] == {"a", "b"}


def test_completing_the_same_task_twice_is_refused() -> None:
    spec = bundle("loop.bpmn", "loop")
    run = Run.start(spec, {"limit": 5})
    task_id = only_ready(run)
    state = run.snapshot().state
    run.complete(task_id, {"note": "first"})
    with pytest.raises(TaskNotReady):
        run.complete(task_id, {"note": "again"})
    # A second request that loaded the old state before the first saved still sees READY:
    # that race is what the database's lock_version catches (see the service tests).
    stale = Run.resume(spec, state)
    stale.complete(task_id, {"note": "stale"})


def test_unknown_task_id_is_refused() -> None:
    run = Run.start(bundle("loop.bpmn", "loop"), {"limit": 5})
    with pytest.raises(TaskNotReady):
        run.complete("not-a-uuid", {})
    with pytest.raises(TaskNotReady):
        run.complete("00000000-0000-0000-0000-000000000000", {})
