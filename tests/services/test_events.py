"""Timers, messages and escalation through the persisted path, also for long-lived cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask import Flask
from sqlalchemy import event as sa_event
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, MessageSubscription, ProcessInstance, WorkItem
from app.services import events, instances, work_items
from app.services.errors import NotFound

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def _elements(instance: ProcessInstance) -> list[str]:
    return sorted(item.element_id for item in instances.open_items(instance))


def test_three_day_timer_does_not_fire_at_two_days_and_fires_after_three(deployed: Flask) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        instance = instances.start("waits", correlation_key="K-1")
        assert _elements(instance) == []
        assert instance.next_timer_at == T0 + timedelta(days=3)
        clock.shift(timedelta(days=2))
        assert events.fire_due_timers() == 0
        assert _elements(instance) == []
        clock.shift(timedelta(days=1, seconds=1))
        assert events.fire_due_timers() == 1
        db.session.refresh(instance)
        assert _elements(instance) == ["revisit"]
        # The event-based gateway dropped the message branch with the timer's firing.
        assert db.session.scalars(select(MessageSubscription)).all() == []


def test_a_round_fires_a_batch_in_one_transaction_and_the_next_round_the_rest(
    deployed: Flask,
) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        started = [instances.start("waits", correlation_key=f"K-B{i}") for i in range(5)]
        ids = [instance.id for instance in started]
        clock.shift(timedelta(days=3, seconds=1))
        commits = []

        def committed(session: object) -> None:
            commits.append(session)

        sa_event.listen(db.session, "after_commit", committed)
        try:
            assert [events.fire_due_timers(limit=2) for _ in range(4)] == [2, 2, 1, 0]
        finally:
            sa_event.remove(db.session, "after_commit", committed)
        assert len(commits) == 3  # one per batch
        db.session.expire_all()
        for instance_id in ids:
            instance = db.session.get(ProcessInstance, instance_id)
            assert _elements(instance) == ["revisit"] and instance.next_timer_at is None
        fired = db.session.scalars(
            select(AuditEvent.object_id).where(AuditEvent.action == "process.timer")
        ).all()
        assert sorted(int(i) for i in fired) == sorted(ids)  # each once, with its own audit row
        assert db.session.scalars(select(MessageSubscription)).all() == []


def test_message_reaches_only_the_waiting_instance_with_that_correlation(
    deployed: Flask, user
) -> None:
    first = instances.start("waits", correlation_key="K-1")
    second = instances.start("waits", correlation_key="K-2")
    delivered = events.deliver("consent_obtained", "K-2", {"scope": ["elderly-center"]})
    assert delivered == [second.id]
    assert _elements(second) == ["after_consent"]
    assert _elements(first) == []
    db.session.refresh(second)
    assert second.next_timer_at is None  # the timer branch was withdrawn
    with pytest.raises(NotFound, match="K-9"):
        events.deliver("consent_obtained", "K-9", {})
    with pytest.raises(NotFound):
        events.deliver("consent_obtained", "K-2", {})  # already delivered: no longer waiting


def test_message_payload_reaches_the_process_data(deployed: Flask, user) -> None:
    instance = instances.start("waits", correlation_key="K-3")
    events.deliver("consent_obtained", "K-3", {"scope": ["elderly-center"]})
    run = instances.resume(db.session.get(ProcessInstance, instance.id))
    assert run.last_data()["consent"] == {"scope": ["elderly-center"]}


def test_stalled_task_escalates_to_supervisor_queue_and_stays_open(deployed: Flask, user) -> None:
    coordinator = user("demo-coordinator")
    with time_machine.travel(T0, tick=False) as clock:
        instance = instances.start("waits", correlation_key="K-4")
        events.deliver("consent_obtained", "K-4", {})
        [first] = instances.open_items(instance)
        work_items.complete(first.id, coordinator, {"note": "連絡済み"})
        [handle] = instances.open_items(instance)
        assert handle.element_id == "handle" and handle.due_at == T0 + timedelta(days=7)
        clock.shift(timedelta(days=6))
        assert events.fire_due_timers() == 0
        clock.shift(timedelta(days=1, minutes=1))
        assert events.fire_due_timers() == 1
        items = {i.element_id: i for i in instances.open_items(instance)}
        assert set(items) == {"handle", "escalate"}
        assert items["escalate"].queue == "supervisors" and items["escalate"].priority == 90
        assert items["handle"].id == handle.id  # the original task is untouched
        work_items.complete(handle.id, coordinator, {"note": "対応完了"})


def test_long_lived_case_loops_300_times_with_bounded_state(deployed: Flask, user) -> None:
    coordinator = user("demo-coordinator")
    instance = instances.start("loop", data={"limit": 300})
    sizes = []
    for _ in range(300):
        [item] = instances.open_items(instance)
        work_items.complete(item.id, coordinator, {"note": "定期確認"})
        sizes.append(len(db.session.get(ProcessInstance, instance.id).state))
    db.session.refresh(instance)
    assert instance.status == "completed"
    assert instance.compactions >= 299
    assert max(sizes[10:]) < 1.2 * min(sizes[10:])
    done = db.session.scalars(select(WorkItem).where(WorkItem.instance_id == instance.id)).all()
    assert len(done) == 300 and all(i.status == "completed" for i in done)


def test_timer_and_message_still_work_after_many_compactions(deployed: Flask, user) -> None:
    """A case that has looped a long time still waits on timers and messages correctly."""
    coordinator = user("demo-coordinator")
    loop = instances.start("loop", data={"limit": 400})
    for _ in range(120):
        [item] = instances.open_items(loop)
        work_items.complete(item.id, coordinator, {"note": "x"})
    with time_machine.travel(T0, tick=False) as clock:
        waiting = instances.start("waits", correlation_key="K-5")
        events.deliver("consent_obtained", "K-5", {})
        for _ in range(1):
            [item] = instances.open_items(waiting)
            work_items.complete(item.id, coordinator, {"note": "x"})
        clock.shift(timedelta(days=7, seconds=1))
        assert events.fire_due_timers() == 1
    assert set(_elements(waiting)) == {"handle", "escalate"}
    db.session.refresh(loop)
    assert loop.compactions >= 119 and loop.status == "waiting"


def test_worker_command_fires_due_timers_once(deployed: Flask) -> None:
    instance_id = instances.start("waits", correlation_key="K-6").id
    db.session.execute(
        ProcessInstance.__table__.update()
        .where(ProcessInstance.id == instance_id)
        .values(next_timer_at=datetime(2000, 1, 1, tzinfo=UTC))
    )
    db.session.commit()
    with time_machine.travel(datetime.now(UTC) + timedelta(days=4), tick=False):
        result = deployed.test_cli_runner().invoke(args=["kasane", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 件" in result.output
    assert _elements(db.session.get(ProcessInstance, instance_id)) == ["revisit"]


def test_a_timer_locked_by_another_worker_is_skipped(deployed: Flask) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is a PostgreSQL feature; SQLite has a single writer")
    instance = instances.start("waits", correlation_key="K-7")
    instance_id = instance.id
    db.session.commit()
    with time_machine.travel(datetime.now(UTC) + timedelta(days=4), tick=False):
        with db.engine.connect() as other_worker:
            other_worker.execute(
                select(ProcessInstance.id)
                .where(ProcessInstance.id == instance_id)
                .with_for_update()
            )
            assert events.fire_due_timers() == 0
            other_worker.rollback()
        assert events.fire_due_timers() == 1


def test_the_worker_survives_a_person_completing_the_same_instance_meanwhile(
    deployed: Flask,
) -> None:
    """A step saved by someone else between the worker's read and its write is a Conflict: the
    worker's batch is not saved, the instance tried alone loses again (someone saved once more),
    nothing is saved for it, the worker goes on and fires the timer in its next round."""
    if db.engine.dialect.name == "postgresql":
        pytest.skip("on PostgreSQL the worker holds the row (FOR UPDATE): see the locked test")
    instance_id = instances.start("waits", correlation_key="K-8").id
    db.session.commit()
    raced = {"times": 0}

    def someone_else_saves_first(session, *_: object) -> None:
        if raced["times"] == 2:  # the batch's write, then the instance's own
            return
        raced["times"] += 1
        with db.engine.begin() as other:  # another request, on its own connection
            other.execute(
                ProcessInstance.__table__.update()
                .where(ProcessInstance.id == instance_id)
                .values(lock_version=ProcessInstance.lock_version + 1)
            )

    with time_machine.travel(datetime.now(UTC) + timedelta(days=4), tick=False):
        sa_event.listen(db.session, "before_flush", someone_else_saves_first)
        try:
            assert events.fire_due_timers() == 0  # lost the race: nothing saved, no crash
        finally:
            sa_event.remove(db.session, "before_flush", someone_else_saves_first)
        assert raced["times"] == 2
        instance = db.session.get(ProcessInstance, instance_id)
        assert _elements(instance) == [] and instance.next_timer_at is not None
        assert events.fire_due_timers() == 1  # the next round fires it, once
        assert _elements(db.session.get(ProcessInstance, instance_id)) == ["revisit"]
