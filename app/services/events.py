"""Timers and messages: the two ways a waiting instance is woken without a person completing a task."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.engine.runtime import NotWaitingForMessage, NotWaitingForTimer
from app.extensions import db
from app.models import Case, MessageSubscription, ProcessInstance, User, WaitingEvent
from app.models.base import utcnow
from app.services import access, audit, instances, metrics, records
from app.services.errors import Conflict, NotFound, ProcessFailure


def due_instance_ids(now: datetime, limit: int = 100) -> list[int]:
    """Instances whose earliest timer is due, oldest first."""
    stmt = (
        select(ProcessInstance.id)
        .where(
            ProcessInstance.next_timer_at.is_not(None),
            ProcessInstance.next_timer_at <= now,
            ProcessInstance.held_at.is_(None),
        )
        .order_by(ProcessInstance.next_timer_at)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def _claim(instance_id: int, now: datetime) -> ProcessInstance | None:
    """Lock one due instance for this worker; another worker holding it means skip (PostgreSQL)."""
    stmt = select(ProcessInstance).where(
        ProcessInstance.id == instance_id,
        ProcessInstance.next_timer_at.is_not(None),
        ProcessInstance.next_timer_at <= now,
        ProcessInstance.held_at.is_(None),
    )
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return db.session.scalars(stmt).first()


def fire_due_timers(now: datetime | None = None, limit: int = 100) -> int:
    """Fire every due timer, one instance per transaction; returns how many instances advanced."""
    now = now or utcnow()
    return sum(fire_instance(instance_id, now) for instance_id in due_instance_ids(now, limit))


def fire_instance(instance_id: int, now: datetime) -> bool:
    """Fire one instance's due timers in its own transaction; whether it advanced. A failure in
    the engine marks the instance in error (for supervisors to see and retry)."""
    instance = _claim(instance_id, now)
    if instance is None:
        db.session.rollback()
        return False
    lag = (utcnow() - instance.next_timer_at).total_seconds()
    try:
        # What came due, by the names the diagram gives it (the case timeline shows them).
        due = _due_timer_names(instance, now)
        run = instances.resume(instance)
        with instances.engine_errors():
            run.fire_due_timers()
        with instances.saving():
            instances.persist(instance, run, now=now)
            audit.record(
                "process.timer",
                "process_instance",
                instance.id,
                None,
                case_id=instance.case_id,
                detail={"names": due} if due else None,
            )
        metrics.TIMER_LAG_SECONDS.observe(max(lag, 0.0))
        return True
    except ProcessFailure as exc:
        instances.mark_failed(instance_id, exc.message, stop_timers=True)
    except Conflict:
        # A person completed a task of the same instance meanwhile: nothing of this round was
        # saved, the timer is still due, and the next round tries again on the new state.
        db.session.rollback()
    return False


def _due_timer_names(instance: ProcessInstance, now: datetime) -> list[str]:
    return sorted(
        set(
            db.session.scalars(
                select(WaitingEvent.name).where(
                    WaitingEvent.instance_id == instance.id,
                    WaitingEvent.kind == "timer",
                    WaitingEvent.due_at.is_not(None),
                    WaitingEvent.due_at <= now,
                )
            )
        )
    )


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
