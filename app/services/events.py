"""Timers and messages: the two ways a waiting instance is woken without a person completing a task."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, select

from app.engine.runtime import EngineError, NotWaitingForMessage, NotWaitingForTimer
from app.extensions import db
from app.models import Case, MessageSubscription, ProcessInstance, User, WaitingEvent
from app.models.base import utcnow
from app.services import access, audit, instance_batch, instances, metrics, records
from app.services.errors import Conflict, NotFound

# Instances whose timers one round fires in one transaction: large enough that a worker spends
# its time on the engine rather than on round trips (10,000 timers due together: 200 a round
# fired 1,900/s with two workers, 500 a round 1,970/s), small enough that a lost race repeats
# little and a person's step on one of them waits at most about half a second for the commit.
BATCH = 500


def due_instance_ids(now: datetime, limit: int = 100) -> list[int]:
    """Instances whose earliest timer is due, oldest first."""
    return list(db.session.scalars(_due(select(ProcessInstance.id), now).limit(limit)))


def _due(stmt: Select[Any], now: datetime) -> Select[Any]:
    return stmt.where(
        ProcessInstance.next_timer_at.is_not(None),
        ProcessInstance.next_timer_at <= now,
        ProcessInstance.held_at.is_(None),
    ).order_by(ProcessInstance.next_timer_at)


def fire_due_timers(now: datetime | None = None, limit: int = BATCH) -> int:
    """Fire the due timers of up to ``limit`` instances in one transaction; returns how many
    instances advanced. Instances another worker holds are skipped (PostgreSQL). When the batch
    cannot be saved as a whole (a person's step on one of them got in first), each instance is
    tried in a transaction of its own; one that loses again waits for the next round."""
    now = now or utcnow()
    batch = _claim(now, limit=limit)
    if not batch:
        db.session.rollback()
        return 0
    ids = [instance.id for instance in batch]
    try:
        return _fire_and_save(batch, now)
    except Conflict:
        return sum(fire_instance(instance_id, now) for instance_id in ids)


def fire_instance(instance_id: int, now: datetime) -> bool:
    """Fire one instance's due timers in its own transaction; whether it advanced. A person who
    completed a task of the same instance meanwhile wins: nothing is saved, the timer stays due
    and the next round tries again on the new state."""
    batch = _claim(now, instance_id=instance_id)
    if not batch:
        db.session.rollback()
        return False
    try:
        return _fire_and_save(batch, now) == 1
    except Conflict:
        return False


def _claim(
    now: datetime, *, limit: int = 1, instance_id: int | None = None
) -> list[ProcessInstance]:
    """Due instances (or the one asked for, if due), oldest timer first, locked for this worker;
    rows another worker holds are skipped (PostgreSQL; SQLite has one writer, and the optimistic
    lock catches a lost race)."""
    stmt = _due(select(ProcessInstance), now).limit(limit)
    if instance_id is not None:
        stmt = stmt.where(ProcessInstance.id == instance_id)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(db.session.scalars(stmt))


def _fire_and_save(batch: list[ProcessInstance], now: datetime) -> int:
    """Fire ``batch`` and commit it as one (a lost race: Conflict, nothing saved); then mark the
    instances the engine could not advance in error, each in its own transaction, for
    supervisors to see and retry. Returns how many advanced."""
    failed: dict[int, str] = {}
    with instances.saving():
        fired = _fire_batch(batch, now, failed)
    for instance_id, message in failed.items():
        instances.mark_failed(instance_id, message, stop_timers=True)
    return fired


def _fire_batch(batch: list[ProcessInstance], now: datetime, failed: dict[int, str]) -> int:
    """Run each instance's due timers and keep the results for ``instance_batch.write`` (nothing
    is read or written per instance: ``instance_batch.preload`` read what persisting needs for all
    of them). An instance the engine cannot advance goes into ``failed`` with its message and is
    left as it was."""
    loaded = instance_batch.preload(batch)
    fired = 0
    with db.session.no_autoflush:
        for instance in batch:
            lag = (utcnow() - instance.next_timer_at).total_seconds()
            # What came due, by the names the diagram gives it (the case timeline shows them).
            due = sorted(
                {
                    row.name
                    for row in loaded.waiting[instance.id]
                    if row.kind == "timer" and row.due_at is not None and row.due_at <= now
                }
            )
            try:
                run = instances.resume(instance)
                run.fire_due_timers()
            except EngineError as exc:
                failed[instance.id] = instances.failure_message(exc)
                continue
            instances.persist(instance, run, now=now, loaded=loaded)
            audit.record(
                "process.timer",
                "process_instance",
                instance.id,
                None,
                case_id=instance.case_id,
                detail={"names": due} if due else None,
                into=loaded.audits,
            )
            metrics.TIMER_LAG_SECONDS.observe(max(lag, 0.0))
            fired += 1
    instance_batch.write(loaded)
    return fired


def deliver(
    message_name: str, correlation_value: str, payload: Any = None, actor: User | None = None
) -> list[int]:
    """Deliver a message to every instance waiting for it under this correlation value."""
    subscriptions = list(
        db.session.scalars(
            select(MessageSubscription).where(
                MessageSubscription.message_name == message_name,
                MessageSubscription.correlation_value == correlation_value,
            )
        )
    )
    if not subscriptions:
        raise NotFound(
            _(
                "メッセージ「%(message)s」を待っているケース（%(case)s）はありません。",
                message=message_name,
                case=correlation_value,
            )
        )
    with instances.saving():
        return _deliver_each(subscriptions, message_name, correlation_value, payload, actor)


def _deliver_each(
    subscriptions: list[MessageSubscription],
    message_name: str,
    correlation_value: str,
    payload: Any,
    actor: User | None,
) -> list[int]:
    delivered = []
    for sub in subscriptions:
        instance = db.session.get(ProcessInstance, sub.instance_id)
        instances.require_not_held(instance)
        run = instances.resume(instance)
        with instances.engine_errors():
            try:
                run.receive(message_name, payload)
            except NotWaitingForMessage as exc:
                db.session.rollback()
                raise NotFound(
                    _(
                        "ケース（%(case)s）は「%(message)s」を待っていません。",
                        case=correlation_value,
                        message=message_name,
                    )
                ) from exc
        if instance.case_id is not None:
            records.record_message(
                db.session.get(Case, instance.case_id), message_name, payload, actor
            )
        # The catch event's own name says in words what arrived (the case timeline shows it).
        caught = db.session.scalar(
            select(WaitingEvent.name).where(
                WaitingEvent.instance_id == instance.id,
                WaitingEvent.message_name == message_name,
            )
        )
        instances.persist(instance, run)
        audit.record(
            "process.message",
            "process_instance",
            instance.id,
            actor,
            case_id=instance.case_id,
            detail={"message": message_name, "name": caught or message_name},
        )
        delivered.append(instance.id)
    return delivered


def deliver_for_case(case_number: str, message_name: str, payload: Any, actor: User) -> list[int]:
    """Deliver a message about a case on behalf of a person who may see that case (API, integrations)."""
    case = db.session.scalar(select(Case).where(Case.number == case_number))
    if case is None or not access.may_see_case(actor, case):
        audit.record_alone(
            "process.message",
            "case",
            case_number,
            actor,
            outcome="denied",
            detail={"message": message_name},
        )
        raise NotFound(_("指定されたケースは見つかりません。"))
    return deliver(message_name, case.number, payload, actor)


def waiting_for(case: Case, message_name: str) -> bool:
    """Whether one of the case's instances is waiting for this message now."""
    return bool(
        db.session.scalar(
            select(MessageSubscription.id)
            .where(
                MessageSubscription.message_name == message_name,
                MessageSubscription.correlation_value == case.number,
            )
            .limit(1)
        )
    )


def act_now(case: Case, element_id: str, actor: User) -> WaitingEvent:
    """A person says now what the flow was waiting for: a dated step starts today (its timer is
    planned again from today when the flow comes back to it), or a message it waits for arrives.

    Only catch events that declare ``startNow`` can be started this way; the case must be one the
    actor may see (the caller fetched it through ``cases.get``).
    """
    row = db.session.scalar(
        select(WaitingEvent).where(
            WaitingEvent.case_id == case.id,
            WaitingEvent.element_id == element_id,
            WaitingEvent.start_now.is_(True),
        )
    )
    if row is None:
        raise Conflict(
            _("この予定はすでに進んだか、今すぐ始めることはできません。画面を更新してください。")
        )
    if row.kind == "message" and row.message_name:
        deliver(row.message_name, case.number, {"by": actor.username}, actor)
        return row
    instance = db.session.get(ProcessInstance, row.instance_id)
    instances.require_not_held(instance)
    run = instances.resume(instance)
    with instances.engine_errors():
        try:
            run.fire_timer_now(element_id)
        except NotWaitingForTimer as exc:
            db.session.rollback()
            raise Conflict(_("この予定はすでに進んでいます。画面を更新してください。")) from exc
    with instances.saving():
        name = row.name
        instances.persist(instance, run)
        audit.record(
            "process.start_now",
            "process_instance",
            instance.id,
            actor,
            case_id=case.id,
            detail={"element": element_id, "name": name},
        )
    return row
