"""Starts process instances and persists each step: state, work items, subscriptions, timers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app.engine.runtime import EngineError, ReadyTask, Run, Waiting
from app.extensions import db
from app.models import (
    Case,
    MessageSubscription,
    PathStep,
    ProcessDefinition,
    ProcessInstance,
    User,
    WaitingEvent,
    WorkItem,
)
from app.models.base import utcnow
from app.services import audit, case_progress, definitions, queues
from app.services.errors import Conflict, ProcessFailure
from app.services.instance_batch import Loaded

DEFAULT_PRIORITY = 50


def start(
    key: str,
    *,
    case: Case | None = None,
    data: dict[str, Any] | None = None,
    actor: User | None = None,
    correlation_key: str | None = None,
    commit: bool = True,
) -> ProcessInstance:
    """Start the newest version of process ``key`` and run it until it waits or ends."""
    definition = definitions.latest(key)
    with engine_errors():
        run = Run.start(definitions.bundle(definition), data or {})
    if not commit:
        return _record_start(definition, run, case, actor, correlation_key)
    with saving():
        return _record_start(definition, run, case, actor, correlation_key)


def _record_start(
    definition: ProcessDefinition,
    run: Run,
    case: Case | None,
    actor: User | None,
    correlation_key: str | None,
) -> ProcessInstance:
    instance = ProcessInstance(
        definition_id=definition.id,
        case_id=case.id if case else None,
        correlation_key=correlation_key or (case.number if case else None),
    )
    db.session.add(instance)
    db.session.flush()
    if instance.correlation_key is None:
        instance.correlation_key = f"instance:{instance.id}"
    persist(instance, run, case=case)
    audit.record(
        "process.start",
        "process_instance",
        instance.id,
        actor,
        case_id=instance.case_id,
        detail={"key": definition.key, "version": definition.version},
    )
    return instance


def resume(instance: ProcessInstance) -> Run:
    """Load an instance's engine state with its definition's cached specs."""
    return Run.resume(definitions.bundle(instance.definition), instance.state, as_saved=True)


def require_not_held(instance: ProcessInstance) -> None:
    """Refuse to move an instance a supervisor has held (一時停止): a person's completion, a
    message, a start-now. The caller's form keeps what was typed."""
    if instance.held_at is not None:
        db.session.rollback()
        raise Conflict(
            _(
                "このケースは係長・課長が一時停止しています（理由：%(reason)s）。再開されるまで"
                "進められません。",
                reason=instance.hold_reason or "-",
            )
        )


@contextmanager
def engine_errors() -> Iterator[None]:
    """Turn an engine failure into a user-visible ProcessFailure (the caller's transaction is discarded)."""
    try:
        yield
    except EngineError as exc:
        db.session.rollback()
        raise ProcessFailure(failure_message(exc)) from exc


def failure_message(exc: EngineError) -> str:
    """What an engine failure is called on the instance and to the person."""
    where = _("（要素 %(id)s）", id=exc.element_id) if exc.element_id else ""
    return _("プロセスを進められませんでした%(where)s: %(why)s", where=where, why=exc.message_ja)


def mark_failed(
    instance_id: int,
    message: str,
    *,
    draft: tuple[int, dict[str, Any]] | None = None,
    actor: User | None = None,
    stop_timers: bool = False,
) -> None:
    """Record, in a transaction of its own, that the engine failed on an instance: its error (for
    supervisors' stalled view and retry), an audit row, and what the person typed as the task's
    draft. ``stop_timers``: the failure was a timer's, so the worker stops retrying it."""
    db.session.rollback()
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        return
    instance.error = message
    if stop_timers:
        instance.next_timer_at = None
    if draft is not None:
        item = db.session.get(WorkItem, draft[0])
        if item is not None and item.status == "open":
            item.draft = draft[1]
    audit.record(
        "process.error",
        "process_instance",
        instance.id,
        actor,
        case_id=instance.case_id,
        outcome="error",
        detail={"message": message},
    )
    db.session.commit()


@contextmanager
def saving(keep_loaded: bool = False) -> Iterator[None]:
    """Run a change and commit it; a lost optimistic-lock race anywhere inside is a Conflict, nothing saved.
    ``keep_loaded``: the objects keep what the change gave them after the commit (the caller
    answers with them), rather than each being read again on its next use."""
    session = db.session()
    try:
        yield
        session.expire_on_commit = not keep_loaded
        session.commit()
    except (StaleDataError, OperationalError) as exc:
        db.session.rollback()
        if isinstance(exc, OperationalError) and "locked" not in str(exc):
            raise
        raise Conflict(
            _("他の操作と同時に更新されました。画面を更新してもう一度お試しください。")
        ) from exc
    finally:
        session.expire_on_commit = True


def persist(
    instance: ProcessInstance,
    run: Run,
    *,
    case: Case | None = None,
    now: datetime | None = None,
    loaded: Loaded | None = None,
    done_task: str | None = None,
    writes: Loaded | None = None,
) -> None:
    """Store the state after a step and rebuild what is indexed from it, in the current transaction.
    ``loaded``: what ``instance_batch.preload`` read for a batch (no reads here; the instance's
    state, new work items and path steps are kept there for ``instance_batch.write``).
    ``writes``: without ``loaded``, where the instance's state, new work items and path steps
    are kept for ``instance_batch.write`` (what it needs is read here as without it).
    ``done_task``: the task this step completed (its work item is completed with it)."""
    writes = loaded if loaded is not None else writes
    now = now or utcnow()
    snap = run.snapshot()
    values = {
        "state": snap.state,
        "error": None,  # a step went through: whatever stopped the instance before is past
        "status": "completed" if snap.completed else "waiting",
        "next_timer_at": None if snap.completed else snap.next_timer_at,
        "last_progress_at": now,
        "completed_at": instance.completed_at or (now if snap.completed else None),
        "compactions": (instance.compactions or 0) + (1 if snap.dropped_tasks else 0),
    }
    if writes is not None:
        writes.step(instance, values)
    else:
        for name, value in values.items():
            setattr(instance, name, value)
    if case is None and instance.case_id is not None:
        found = loaded.cases.get(instance.case_id) if loaded is not None else None
        case = found or db.session.get(Case, instance.case_id)
    # Open work items are those of the READY user tasks last saved: none to read when the one
    # this step completed was the only one.
    known = run.ready_when_saved
    no_items = [] if known is not None and known <= {done_task} else None
    new_tasks = _sync_work_items(
        instance,
        snap.ready_tasks,
        case,
        now,
        current=loaded.open_items[instance.id] if loaded is not None else no_items,
        groups=loaded.groups if loaded is not None else None,
        into=writes.work_items if writes is not None else None,
    )
    # The rows of what the instance waits at are what its last step left: none to read when
    # the state it was loaded from waited at nothing.
    nothing: list[Any] | None = [] if not run.waited_when_saved else None
    _sync_subscriptions(
        instance,
        snap.waiting_messages,
        current=loaded.subscriptions[instance.id] if loaded is not None else nothing,
    )
    _sync_waiting(
        instance,
        snap.waiting,
        now,
        current=loaded.waiting[instance.id] if loaded is not None else nothing,
        gone=writes.gone_waiting if writes is not None else None,
    )
    run.saved()
    # Appended, never read back here: one multi-row insert, not one per flow.
    steps = [
        {
            "instance_id": instance.id,
            "case_id": instance.case_id,
            "process_key": step.process_key,
            "source_id": step.source_id,
            "target_id": step.target_id,
            "taken_at": now,
        }
        for step in snap.steps
    ]
    if writes is not None:
        writes.steps.extend(steps)
    elif steps:
        db.session.execute(insert(PathStep), steps)
    if case is not None:
        case_progress.on_step(case, instance, snap.completed, new_tasks)


def _sync_work_items(
    instance: ProcessInstance,
    ready: list[ReadyTask],
    case: Case | None,
    now: datetime,
    *,
    current: list[WorkItem] | None = None,
    groups: dict[str, str] | None = None,
    into: list[dict[str, Any]] | None = None,
) -> list[ReadyTask]:
    """Cancel items whose task is gone, add items for new READY tasks; returns the new tasks.
    ``current``: the instance's open items, when already read; ``into``: the new items are kept
    there as rows (a batch writes them at once), not added to the session."""
    if current is None:
        mine = select(WorkItem).where(WorkItem.instance_id == instance.id)
        current = list(db.session.scalars(mine.where(WorkItem.status == "open")))
    # An item completed in this step (its completion not sent yet) reads as open: its object knows.
    open_items = {item.task_id: item for item in current if item.status == "open"}
    ready_ids = {task.task_id for task in ready}
    for task_id, item in open_items.items():
        if task_id not in ready_ids:
            item.status = "cancelled"
            item.completed_at = now
    new = [task for task in ready if task.task_id not in open_items]
    if not new:
        return new
    queue_of = queues.resolve({task.lane for task in new}, case, groups=groups)
    for task in new:
        days = task.properties.get("dueInDays")
        queue = queues.for_agency_code(task.queue_hint) or queue_of[task.lane]
        row = {
            "instance_id": instance.id,
            "case_id": instance.case_id,
            "task_id": task.task_id,
            "element_id": task.element_id,
            "process_key": task.process_key,
            "title": task.name,
            "lane": task.lane,
            "queue": queue,
            "form_key": task.form_key,
            "council_material": task.properties.get("councilMaterial") == "true",
            "status": "open",
            "priority": int(task.properties.get("priority") or DEFAULT_PRIORITY),
            "due_at": now + timedelta(days=int(days)) if days else None,
            "created_at": now,
        }
        if into is not None:
            into.append(row)
        else:
            db.session.add(WorkItem(**row))
    return new


def _sync_subscriptions(
    instance: ProcessInstance,
    waiting: list[str],
    *,
    current: list[MessageSubscription] | None = None,
) -> None:
    if current is None:
        current = subscriptions(instance)
    by_name = {sub.message_name: sub for sub in current}
    for name, sub in by_name.items():
        if name not in waiting:
            db.session.delete(sub)
    for name in waiting:
        if name not in by_name:
            db.session.add(
                MessageSubscription(
                    instance_id=instance.id,
                    message_name=name,
                    correlation_value=instance.correlation_key or f"instance:{instance.id}",
                )
            )


def _sync_waiting(
    instance: ProcessInstance,
    waiting: list[Waiting],
    now: datetime,
    *,
    current: list[WaitingEvent] | None = None,
    gone: list[int] | None = None,
) -> None:
    """Keep the waiting-event rows equal to what the engine waits at; a row that stays keeps its
    ``since`` (how long the case has waited there). ``gone``: the ids of rows no longer waited
    at are kept there (a batch deletes them at once), not deleted through the session."""
    if current is None:
        current = list(
            db.session.scalars(select(WaitingEvent).where(WaitingEvent.instance_id == instance.id))
        )
    by_element = {row.element_id: row for row in current}
    wanted = {w.element_id: w for w in waiting}
    for element_id, row in by_element.items():
        if element_id not in wanted:
            if gone is not None:
                gone.append(row.id)
            else:
                db.session.delete(row)
    for element_id, event in wanted.items():
        row = by_element.get(element_id)
        if row is None:
            row = WaitingEvent(instance_id=instance.id, element_id=element_id, since=now)
            db.session.add(row)
        row.case_id = instance.case_id
        row.process_key = event.process_key
        row.name = event.name[:255]
        row.kind = event.kind
        row.message_name = event.message_name
        row.due_at = event.due_at
        row.start_now = event.properties.get("startNow") == "true"


def waiting_events(case: Case) -> list[WaitingEvent]:
    """What the case's instances wait at now, soonest first."""
    return list(
        db.session.scalars(
            select(WaitingEvent)
            .where(WaitingEvent.case_id == case.id)
            .order_by(WaitingEvent.due_at.asc().nulls_last(), WaitingEvent.id)
        )
    )


def open_items(instance: ProcessInstance) -> list[WorkItem]:
    return list(
        db.session.scalars(
            select(WorkItem)
            .where(WorkItem.instance_id == instance.id, WorkItem.status == "open")
            .order_by(WorkItem.id)
        )
    )


def subscriptions(instance: ProcessInstance) -> list[MessageSubscription]:
    return list(
        db.session.scalars(
            select(MessageSubscription).where(MessageSubscription.instance_id == instance.id)
        )
    )
