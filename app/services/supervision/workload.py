"""How much open work each worker and each queue in a supervisor's scope holds, how old it is and
what falls due this week (counts only: no case content)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, select

from app.extensions import db
from app.models import User, WorkItem
from app.models.base import utcnow
from app.services import audit
from app.services.supervision.heatmap import require


@dataclass
class Load:
    """Open work of one worker or one queue."""

    key: str
    label: str
    open: int
    overdue: int
    due_this_week: int
    unassigned: int
    oldest_days: float


def workload(actor: User, now: datetime | None = None) -> tuple[list[Load], list[Load]]:
    """(per worker, per queue), the busiest first; only the queues the supervisor oversees."""
    scope = require(actor, "workload.view")
    now = now or utcnow()
    week = now + timedelta(days=7)
    queues = sorted(scope.queues)
    if not queues:
        return [], []
    per = (
        select(
            WorkItem.queue,
            WorkItem.assignee_id,
            func.count().label("open"),
            func.sum(_flag(WorkItem.due_at < now)).label("overdue"),
            func.sum(_flag((WorkItem.due_at >= now) & (WorkItem.due_at < week))).label("week"),
            func.min(WorkItem.created_at).label("oldest"),
        )
        .where(WorkItem.status == "open", WorkItem.queue.in_(queues))
        .group_by(WorkItem.queue, WorkItem.assignee_id)
        .subquery("per")
    )
    # One pass over the open work of the queues (an index holds all it reads), per queue and
    # worker, with the worker's name; added up per queue and per worker here.
    per_queue: dict[str, list] = {}
    per_worker: dict[int, list] = {}
    names: dict[int, str] = {}
    for queue, assignee_id, name, count, overdue, week_due, oldest in db.session.execute(
        select(per.c.queue, per.c.assignee_id, User.display_name, *list(per.c)[2:]).outerjoin(
            User, User.id == per.c.assignee_id
        )
    ):
        unassigned = count if assignee_id is None else 0
        _add(per_queue, queue, (count, overdue, week_due, unassigned, oldest))
        if assignee_id is not None:
            names[assignee_id] = name
            _add(per_worker, assignee_id, (count, overdue, week_due, 0, oldest))
    from app.services import overview

    queue_labels = overview.labels(queues)
    queue_rows = [
        _load(str(key), queue_labels.get(key, key), row, now) for key, row in per_queue.items()
    ]
    worker_rows = [
        _load(str(key), names.get(key) or "-", row, now) for key, row in per_worker.items()
    ]
    audit.record("workload.view", "work_item", None, actor, detail={"queues": len(queues)})
    audit.commit_read()
    return sorted(worker_rows, key=_busiest), sorted(queue_rows, key=_busiest)


def _busiest(load: Load) -> tuple[int, str]:
    return (-load.open, load.label)


def _add(totals: dict, key: object, row: tuple) -> None:
    """Add one group's counts to ``key``'s totals (the oldest: the earliest)."""
    found = totals.get(key)
    if found is None:
        totals[key] = list(row)
        return
    for index in range(4):
        found[index] = (found[index] or 0) + (row[index] or 0)
    if row[4] is not None and (found[4] is None or row[4] < found[4]):
        found[4] = row[4]


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """SQL: 1 where the condition holds, for summing."""
    return case((condition, 1), else_=0)


def _load(key: str, label: str, row: list, now: datetime) -> Load:
    count, overdue, week, unassigned, oldest = row
    return Load(
        key=key,
        label=label,
        open=int(count or 0),
        overdue=int(overdue or 0),
        due_this_week=int(week or 0),
        unassigned=int(unassigned or 0),
        oldest_days=round((now - oldest).total_seconds() / 86400, 1) if oldest else 0.0,
    )
