"""Starting instances, work items from lanes, validated completion, conflicts, claims."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import FormSubmission, ProcessInstance, WorkItem
from app.services import inbox, instances, work_items
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
