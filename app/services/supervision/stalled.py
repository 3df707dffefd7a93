"""Stalled cases: which cases in a supervisor's scope are stuck, why, where and for how long.

Read from indexed tables only (open work items, instance status and progress time, waiting events,
plans and submissions), never from engine state. Every row's case passes ``access.case_filter``,
and the listing is audited like every other listing of personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from app.extensions import db
from app.models import (
    Case,
    FormSubmission,
    ProcessInstance,
    StepLimit,
    SupportPlan,
    User,
    WaitingEvent,
    WorkItem,
)
from app.models.base import utcnow
from app.services import access, audit, case_progress, overview, settings
from app.services.errors import Forbidden
from app.services.supervision import scope as scopes

REASONS = {
    "error": _l("エンジンのエラーで止まっている"),
    "overdue_step": _l("期限を過ぎたステップ"),
    "unclaimed": _l("担当者が決まっていない"),
    "message_wait": _l("知らせを長く待っている"),
    "review_overdue": _l("プランの見直しが遅れている"),
    "no_activity": _l("動きがない"),
}
# How many rows of each reason a page reads at most (the worst first).
PER_REASON = 500
# The listed work item, apart from the work items the access and scope conditions look into.
Item = aliased(WorkItem, name="listed_item")


@dataclass
class StalledRow:
    """One stuck thing: a case waiting at a step (or as a whole) and why."""

    reason: str
    case_id: int
    case_number: str
    case_title: str
    stage: str
    where: str  # the step's name, or what the case waits for
    since: datetime
    days_late: float
    item_id: int | None = None
    queue: str | None = None
    assignee_id: int | None = None
    assignee_name: str | None = None
    instance_id: int | None = None
    detail: str = ""


@dataclass
class StalledFilter:
    reason: str | None = None
    queue: str | None = None
    agency_id: int | None = None
    stage: str | None = None
    worker_id: int | None = None


@dataclass
class StalledPage:
    rows: list[StalledRow]
    counts: dict[str, int] = field(default_factory=dict)
    queue_labels: dict[str, str] = field(default_factory=dict)


def listing(actor: User, flt: StalledFilter, now: datetime | None = None) -> StalledPage:
    """The stuck cases in the actor's scope, the latest first, with counts per reason."""
    if actor.role != scopes.SUPERVISOR or not actor.active:
        audit.record_alone("stalled.list", "case", None, actor, outcome="denied")
        raise Forbidden(_("停滞しているケースを見られるのは係長・課長だけです。"))
    now = now or utcnow()
    scope = scopes.of(actor)
    limits = _thresholds()
    visible = and_(access.case_filter(actor), in_scope(scope, flt))
    if flt.stage:
        visible = and_(visible, Case.stage == flt.stage)
    rows: list[StalledRow] = []
    for read in _READERS.values():
        rows.extend(read(visible, scope, flt, now, limits))
    if flt.worker_id is not None:
        rows = [row for row in rows if row.assignee_id == flt.worker_id]
    # The counts at the top are of every reason (within the other filters).
    counts = {key: 0 for key in REASONS}
    for row in rows:
        counts[row.reason] += 1
    if flt.reason:
        rows = [row for row in rows if row.reason == flt.reason]
    rows.sort(key=lambda row: (-row.days_late, row.case_number))
    queue_keys = sorted({row.queue for row in rows if row.queue} | scope.queues)
    audit.record(
        "stalled.list",
        "case",
        None,
        actor,
        detail={"count": len(rows), "reason": flt.reason, "queue": flt.queue},
    )
    db.session.commit()
    return StalledPage(rows=rows, counts=counts, queue_labels=overview.labels(queue_keys))


def _thresholds() -> dict[str, int]:
    values = settings.current()
    return {
        "stall": int(values["stall_after_days"]),
        "unclaimed": int(values["unclaimed_after_days"]),
        "message": int(values["message_wait_days"]),
        "idle": int(values["idle_after_days"]),
    }


def in_scope(scope: scopes.Scope, flt: StalledFilter) -> ColumnElement[bool]:
    """SQL over ``Case``: held by an agency in scope, or with open work in a queue in scope."""
    agencies = set(scope.agency_ids)
    if flt.agency_id is not None:
        agencies &= {flt.agency_id}
    queues = set(scope.queues)
    if flt.queue:
        queues &= {flt.queue}
    held = (
        or_(Case.intake_agency_id.in_(agencies), Case.primary_agency_id.in_(agencies))
        if agencies
        else None
    )
    worked = (
        exists().where(
            WorkItem.case_id == Case.id, WorkItem.status == "open", WorkItem.queue.in_(queues)
        )
        if queues
        else None
    )
    if flt.queue:
        return worked if worked is not None else Case.id.is_(None)
    if flt.agency_id is not None:
        return held if held is not None else Case.id.is_(None)
    parts = [p for p in (held, worked) if p is not None]
    return or_(*parts) if parts else Case.id.is_(None)


def _case_columns() -> tuple[Any, ...]:
    return (Case.id, Case.number, Case.title, Case.stage)


def _days(delta: timedelta) -> float:
    return round(delta.total_seconds() / 86400, 1)


def _overdue_steps(visible, scope, flt, now, limits) -> list[StalledRow]:  # noqa: ANN001
    """Open work past its limit: the municipality's step limit, else the diagram's due date."""
    limit = (
        select(StepLimit.days)
        .where(
            StepLimit.process_key == Item.process_key,
            StepLimit.element_id == Item.element_id,
        )
        .correlate(Item)
        .scalar_subquery()
    )
    stmt = (
        select(Item, limit, *_case_columns())
        .options(joinedload(Item.assignee))
        .join(Case, Case.id == Item.case_id)
        .where(Item.status == "open", visible, _queue_is(flt, scope))
        .where(or_(Item.due_at < now, limit.is_not(None)))
        .order_by(Item.due_at)
        .limit(PER_REASON * 2)
    )
    rows = []
    for item, days, case_id, number, title, stage in db.session.execute(stmt):
        deadline = item.created_at + timedelta(days=days) if days else item.due_at
        if deadline is None or deadline >= now:
            continue
        rows.append(_item_row("overdue_step", item, case_id, number, title, stage, deadline, now))
    return rows[:PER_REASON]


def _unclaimed(visible, scope, flt, now, limits) -> list[StalledRow]:  # noqa: ANN001
    since = now - timedelta(days=limits["unclaimed"])
    stmt = (
        select(Item, *_case_columns())
        .options(joinedload(Item.assignee))
        .join(Case, Case.id == Item.case_id)
        .where(
            Item.status == "open",
            Item.assignee_id.is_(None),
            Item.created_at < since,
            visible,
            _queue_is(flt, scope),
        )
        .order_by(Item.created_at)
        .limit(PER_REASON)
    )
    return [
        _item_row("unclaimed", item, case_id, number, title, stage, item.created_at, now)
        for item, case_id, number, title, stage in db.session.execute(stmt)
    ]


def _case_row(reason: str, case: tuple[int, str, str, str], **fields: Any) -> StalledRow:
    """A row about a case as a whole (not one of its work items)."""
    case_id, number, title, stage = case
    return StalledRow(
        reason=reason, case_id=case_id, case_number=number, case_title=title, stage=stage, **fields
    )


def _queue_is(flt: StalledFilter, scope: scopes.Scope) -> ColumnElement[bool]:
    """Work in the queues the supervisor oversees (the ones they can act on), read on the open-work
    index; or in the one queue the filter names."""
    if flt.queue:
        return Item.queue == flt.queue
    return Item.queue.in_(sorted(scope.queues)) if scope.queues else Item.id.is_(None)


def _item_row(
    reason: str,
    item: WorkItem,
    case_id: int,
    number: str,
    title: str,
    stage: str,
    since: datetime,
    now: datetime,
) -> StalledRow:
    return StalledRow(
        reason=reason,
        case_id=case_id,
        case_number=number,
        case_title=title,
        stage=stage,
        where=item.title,
        since=since,
        days_late=_days(now - since),
        item_id=item.id,
        queue=item.queue,
        assignee_id=item.assignee_id,
        assignee_name=item.assignee.display_name if item.assignee else None,
        instance_id=item.instance_id,
    )


def _message_waits(visible, scope, flt, now, limits) -> list[StalledRow]:  # noqa: ANN001
    since = now - timedelta(days=limits["message"])
    stmt = (
        select(WaitingEvent, *_case_columns())
        .join(Case, Case.id == WaitingEvent.case_id)
        .where(WaitingEvent.kind == "message", WaitingEvent.since < since, visible)
        .order_by(WaitingEvent.since)
        .limit(PER_REASON)
    )
    return [
        _case_row(
            "message_wait",
            (case_id, number, title, stage),
            where=event.name,
            since=event.since,
            days_late=_days(now - event.since - timedelta(days=limits["message"])),
            instance_id=event.instance_id,
        )
        for event, case_id, number, title, stage in db.session.execute(stmt)
    ]


def _errors(visible, scope, flt, now, limits) -> list[StalledRow]:  # noqa: ANN001
    stmt = (
        select(ProcessInstance, *_case_columns())
        .join(Case, Case.id == ProcessInstance.case_id)
        .where(ProcessInstance.error.is_not(None), ProcessInstance.status != "completed", visible)
        .order_by(ProcessInstance.last_progress_at)
        .limit(PER_REASON)
    )
    return [
        _case_row(
            "error",
            (case_id, number, title, stage),
            where=str(REASONS["error"]),
            since=instance.last_progress_at,
            days_late=_days(now - instance.last_progress_at),
            instance_id=instance.id,
            detail=instance.error or "",
        )
        for instance, case_id, number, title, stage in db.session.execute(stmt)
    ]


def _idle(visible, scope, flt, now, limits) -> list[StalledRow]:  # noqa: ANN001
    since = now - timedelta(days=limits["idle"])
    stmt = (
        select(ProcessInstance, *_case_columns())
        .join(Case, Case.id == ProcessInstance.case_id)
        .where(
            ProcessInstance.status != "completed",
            ProcessInstance.error.is_(None),
            ProcessInstance.last_progress_at < since,
            Case.status == "open",
            visible,
        )
        .order_by(ProcessInstance.last_progress_at)
        .limit(PER_REASON)
    )
    return [
        _case_row(
            "no_activity",
            (case_id, number, title, stage),
            where=str(case_progress.stage_labels().get(stage, stage)),
            since=instance.last_progress_at,
            days_late=_days(now - since),
            instance_id=instance.id,
        )
        for instance, case_id, number, title, stage in db.session.execute(stmt)
    ]


def _reviews(visible, scope, flt, now, limits) -> list[StalledRow]:  # noqa: ANN001
    """The latest plan's review date passed (by the stall days) with nothing recorded since."""
    today = now.date()
    latest = (
        select(SupportPlan.case_id, func.max(SupportPlan.version).label("version"))
        .group_by(SupportPlan.case_id)
        .subquery()
    )
    cutoff = today - timedelta(days=limits["stall"])
    stmt = (
        select(SupportPlan.review_date, *_case_columns())
        .join(
            latest,
            and_(latest.c.case_id == SupportPlan.case_id, latest.c.version == SupportPlan.version),
        )
        .join(Case, Case.id == SupportPlan.case_id)
        .where(SupportPlan.review_date < cutoff, Case.status == "open", visible)
        .where(
            ~exists().where(
                FormSubmission.case_id == Case.id,
                func.date(FormSubmission.submitted_at) >= SupportPlan.review_date,
            )
        )
        .order_by(SupportPlan.review_date)
        .limit(PER_REASON)
    )
    rows = []
    for review_date, case_id, number, title, stage in db.session.execute(stmt):
        since = datetime.combine(review_date, datetime.min.time(), tzinfo=now.tzinfo)
        rows.append(
            _case_row(
                "review_overdue",
                (case_id, number, title, stage),
                where=str(REASONS["review_overdue"]),
                since=since,
                days_late=_days(now - since),
            )
        )
    return rows


_READERS = {
    "error": _errors,
    "overdue_step": _overdue_steps,
    "unclaimed": _unclaimed,
    "message_wait": _message_waits,
    "review_overdue": _reviews,
    "no_activity": _idle,
}
