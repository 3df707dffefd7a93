"""Starting instances, work items from lanes, validated completion, conflicts, claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask import Flask
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from app.engine import specs
from app.extensions import db
from app.models import FormSubmission, ProcessInstance, WorkItem
from app.services import definitions, events, inbox, instances, work_items
from app.services.errors import Conflict, InvalidInput, NotFound


def _open_items(instance: ProcessInstance) -> list[WorkItem]:
    return instances.open_items(instance)


def test_start_makes_work_item_in_the_lane_queue(deployed: Flask, user) -> None:
    instance = instances.start("loop", data={"limit": 3})
    [item] = _open_items(instance)
    assert item.queue == "coordination"  # lane 多機関協働 → group coordination
    assert item.form_key == "loop.schema.json"
    assert item.title == "確認"
    assert item.due_at is not None and item.priority == 50
    assert instance.status == "waiting"
    assert '"spec"' not in instance.state and "subprocess_specs" not in instance.state


def test_invalid_data_is_refused_field_by_field_and_nothing_changes(deployed: Flask, user) -> None:
    coordinator = user("demo-coordinator")
    instance = instances.start("loop", data={"limit": 3})
    [item] = _open_items(instance)
    state_before, version_before = instance.state, instance.lock_version
    with pytest.raises(InvalidInput) as caught:
        work_items.complete(item.id, coordinator, {"amount": -1})
    assert caught.value.fields == {
        "note": "必須項目です。入力してください。",
        "amount": "0以上の値を入力してください。",
    }
    db.session.refresh(instance)
    assert (instance.state, instance.lock_version) == (state_before, version_before)
    assert db.session.scalar(select(func.count(FormSubmission.id))) == 0


def test_complete_advances_keeps_submission_and_second_completion_conflicts(
    deployed: Flask, user
) -> None:
    coordinator = user("demo-coordinator")
    instance = instances.start("loop", data={"limit": 3})
    [item] = _open_items(instance)
    work_items.complete(item.id, coordinator, {"note": "一回目", "typename": "x"})
    [submission] = db.session.scalars(select(FormSubmission)).all()
    assert (
        submission.data == {"note": "一回目", "typename": "x"}
        and submission.submitted_by_id == coordinator.id
    )
    [next_item] = _open_items(instance)
    assert next_item.id != item.id and next_item.element_id == "review"
    with pytest.raises(Conflict, match="すでに完了"):
        work_items.complete(item.id, coordinator, {"note": "二回目"})


def test_lost_race_on_lock_version_is_a_conflict_and_changes_nothing(deployed: Flask, user) -> None:
    coordinator = user("demo-coordinator")
    instance = instances.start("loop", data={"limit": 3})
    [item] = _open_items(instance)
    # Another request saves the instance between our load and our save.
    db.session.execute(
        ProcessInstance.__table__.update()
        .where(ProcessInstance.id == instance.id)
        .values(lock_version=ProcessInstance.lock_version + 1)
    )
    with pytest.raises(Conflict):
        work_items.complete(item.id, coordinator, {"note": "x"})
    db.session.expire_all()
    assert db.session.get(WorkItem, item.id).status == "open"
    assert db.session.scalar(select(func.count(FormSubmission.id))) == 0


def test_claim_release_reassign(deployed: Flask, user) -> None:
    coordinator, supervisor = user("demo-coordinator"), user("demo-supervisor")
    instance = instances.start("loop", data={"limit": 3})
    [item] = _open_items(instance)
    work_items.claim(item.id, coordinator)
    with pytest.raises(Conflict):
        work_items.claim(item.id, supervisor)
    with pytest.raises(Conflict, match="担当しています"):
        work_items.complete(item.id, supervisor, {"note": "x"})
    work_items.reassign(item.id, supervisor, "demo-supervisor")
    assert db.session.get(WorkItem, item.id).assignee_id == supervisor.id
    work_items.release(item.id, supervisor)
    assert db.session.get(WorkItem, item.id).assignee_id is None


def test_items_of_other_queues_are_not_found(deployed: Flask, user) -> None:
    instance = instances.start("loop", data={"limit": 3})
    [item] = _open_items(instance)
    with pytest.raises(NotFound):
        work_items.claim(item.id, user("demo-elderly"))
    page = inbox.listing(user("demo-elderly"), inbox.ItemFilter())
    assert page.total == 0
    page = inbox.listing(user("demo-coordinator"), inbox.ItemFilter(queue="coordination"))
    assert [i.id for i in page.items] == [item.id]


def test_a_completion_is_counted_for_the_metrics(deployed: Flask, user) -> None:
    from prometheus_client import REGISTRY

    def counted() -> float:
        sample = REGISTRY.get_sample_value("kasane_task_completions_total", {"element": "review"})
        return sample or 0.0

    before = counted()
    instance = instances.start("loop", data={"limit": 3})
    [item] = _open_items(instance)
    with pytest.raises(InvalidInput):
        work_items.complete(item.id, user("demo-coordinator"), {"amount": -1})
    assert counted() == before  # a refused completion is not one
    work_items.complete(item.id, user("demo-coordinator"), {"note": "確認済み"})
    assert counted() == before + 1


def _statements_during(action) -> list[str]:
    seen: list[str] = []

    def note(conn, cursor, statement, *_: object) -> None:
        seen.append(" ".join(statement.split()))

    sa_event.listen(db.engine, "before_cursor_execute", note)
    try:
        action()
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", note)
    return seen


def _reads_of(statements: list[str], table: str) -> int:
    return sum(1 for s in statements if s.startswith("SELECT") and f"FROM {table} " in s + " ")


def test_a_completion_reads_only_what_its_instance_can_have(deployed: Flask, user) -> None:
    """The completion path reads the rows of what an instance waits at and of its other open items
    only when its saved state had any: a loop's task reads neither; a task with a boundary timer
    reads what it waits at; a task done beside another (the escalation the timer added) reads
    the open items, and the other stays open."""
    coordinator = user("demo-coordinator")
    instance = instances.start("loop", data={"limit": 3})
    [item] = _open_items(instance)
    done = _statements_during(
        lambda: work_items.complete(item.id, coordinator, {"note": "確認済み"})
    )
    assert _reads_of(done, "waiting_event") == _reads_of(done, "message_subscription") == 0
    assert _reads_of(done, "work_item") == 1  # the item itself, with whether it may be opened
    [after] = _open_items(instance)
    assert after.id != item.id and after.element_id == "review"

    def handling(key: str) -> ProcessInstance:
        started = instances.start("waits", correlation_key=key)
        events.deliver("consent_obtained", key, {})
        [first] = _open_items(started)
        work_items.complete(first.id, coordinator, {"note": "x"})
        return started

    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        timed = handling("K-W1")  # 対応 open, its 7-day boundary timer waiting
        [handle] = _open_items(timed)
        done = _statements_during(
            lambda: work_items.complete(handle.id, coordinator, {"note": "対応済み"})
        )
        assert _reads_of(done, "waiting_event") == 1 and _reads_of(done, "work_item") == 1

        both = handling("K-W2")
        clock.shift(timedelta(days=7, seconds=1))
        assert events.fire_due_timers() == 1
        items = {i.element_id: i for i in _open_items(both)}
        assert set(items) == {"handle", "escalate"}
        done = _statements_during(
            lambda: work_items.complete(items["handle"].id, coordinator, {"note": "確認"})
        )
    assert _reads_of(done, "work_item") == 2 and _reads_of(done, "waiting_event") == 0
    assert [i.element_id for i in _open_items(both)] == ["escalate"]


def test_a_completion_in_a_fresh_process_reads_the_diagram_and_forms_it_lacks(
    deployed: Flask, user
) -> None:
    """A new gunicorn worker has nothing cached: the completion reads the version's diagram and
    forms, which the statement for the instance leaves out, and goes through."""
    coordinator = user("demo-coordinator")
    instance = instances.start("loop", data={"limit": 3})
    [item_id] = [i.id for i in _open_items(instance)]
    db.session.commit()
    db.session.expunge_all()  # a request of its own: nothing of the start is loaded
    coordinator = user("demo-coordinator")
    specs._BUNDLES.clear()
    definitions._PARSED.clear()
    done = _statements_during(
        lambda: work_items.complete(item_id, coordinator, {"note": "確認済み"})
    )
    assert db.session.get(WorkItem, item_id).status == "completed"
    assert _reads_of(done, "process_definition") >= 1  # the diagram and the forms, once cached
    again = instances.start("loop", data={"limit": 3})
    [next_id] = [i.id for i in _open_items(again)]
    db.session.commit()
    db.session.expunge_all()
    coordinator = user("demo-coordinator")
    done = _statements_during(
        lambda: work_items.complete(next_id, coordinator, {"note": "確認済み"})
    )
    assert _reads_of(done, "process_definition") == 0  # with the instance, without its texts
