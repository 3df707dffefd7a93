"""Where cases wait on the diagram, and which paths they took: per element of a process (every
version, called processes read on their own diagram), how many cases in the supervisor's scope wait
there now and for how long, and per sequence flow how many passed in a period.

Read from the work-item, waiting-event and path tables (indexed), never from engine state.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select, union_all

from app.extensions import db
from app.models import Case, User, WaitEntry
from app.models.base import utcnow
from app.services import audit, definitions
from app.services.errors import Forbidden
from app.services.supervision import flows, keys, view
from app.services.supervision import scope as scopes

Wait = WaitEntry

PERIODS = (7, 30, 90, 365)


@dataclass
class ElementHeat:
    """Cases waiting at one element now."""

    count: int = 0
    overdue: int = 0
    median_days: float = 0.0
    worst_days: float = 0.0
    ages: list[float] = field(default_factory=list, repr=False)

    @property
    def level(self) -> str:
        """How the element is drawn: late (something overdue), waiting, or quiet."""
        if self.overdue:
            return "late"
        return "waiting" if self.count else "quiet"


@dataclass
class WaitingCase:
    case_id: int
    case_number: str
    case_title: str
    since: datetime
    days: float
    item_id: int | None
    overdue: bool


def require(actor: User, action: str) -> scopes.Scope:
    if actor.role != scopes.SUPERVISOR or not actor.active:
        audit.record_alone(action, "process", None, actor, outcome="denied")
        from flask_babel import gettext as _

        raise Forbidden(_("この画面は係長・課長だけが使えます。"))
    return scopes.of(actor)


def _frame(actor: User, scope: scopes.Scope, now: datetime) -> view.Frame:
    return view.Frame(actor=actor, scope=scope, now=now)


def _waits(frame: view.Frame, process_key: str, element_id: str | None = None) -> Any:
    """Where cases in view wait in ``process_key`` now, each wait once: open work in the
    supervisor's queues and catch events (element, since, overdue, work item, case), read from
    the wait entries kept at each step."""
    late = case(
        (Wait.kind == "item", Wait.due_at < frame.now),
        else_=Wait.due_at < frame.now - timedelta(hours=1),
    )
    conditions = [Wait.process_key == process_key]
    if element_id is not None:
        conditions.append(Wait.element_id == element_id)
    boundaries = sorted(definitions.boundary_events(process_key))
    if boundaries:
        conditions.append(or_(Wait.kind == "item", Wait.element_id.not_in(boundaries)))
    columns = [
        Wait.kind,
        Wait.source_id,
        Wait.element_id,
        Wait.since,
        case((late, 1), else_=0).label("overdue"),
        Wait.item_id,
        Wait.case_id,
    ]
    work, whole = keys.keyed(frame, Wait, columns, *conditions)
    parts = []
    if work:  # open work comes once each
        once = union_all(*work).subquery("once")
        parts.append(
            select(once.c.element_id, once.c.since, once.c.overdue, once.c.item_id, once.c.case_id)
        )
    if whole:  # a catch event once per key of its case: counted once
        rows = union_all(*whole).subquery("keyed")
        parts.append(
            select(
                func.min(rows.c.element_id).label("element_id"),
                func.min(rows.c.since).label("since"),
                func.max(rows.c.overdue).label("overdue"),
                func.min(rows.c.item_id).label("item_id"),
                func.min(rows.c.case_id).label("case_id"),
            ).group_by(rows.c.kind, rows.c.source_id)
        )
    return union_all(*parts).subquery("waits")


def waiting(actor: User, process_key: str, now: datetime | None = None) -> dict[str, ElementHeat]:
    """Per element of ``process_key``: how many cases in scope wait there now, how many are late,
    and the median and longest wait (aggregated in SQL: one row per element comes back, or two
    when the median falls between two waits)."""
    scope = require(actor, "heatmap.view")
    now = now or utcnow()
    frame = _frame(actor, scope, now)
    heat: dict[str, ElementHeat] = {}
    if _anything(frame):
        _fill(heat, _waits(frame, process_key), now)
    audit.record("heatmap.view", "process", process_key, actor, detail={"elements": len(heat)})
    audit.commit_read()
    return heat


def _anything(frame: view.Frame) -> bool:
    """Whether the supervisor oversees anything (with no key, nothing is in view)."""
    found = keys.of_frame(frame)
    return bool(found.case_plain or found.item_plain or found.asked)


def _fill(heat: dict[str, ElementHeat], waits: Any, now: datetime) -> None:
    """Per element: the count, the late ones, the oldest and the middle one or two waits."""
    if db.engine.dialect.name == "postgresql":
        _fill_grouped(heat, waits, now)
        return
    # The waits once (materialized), counted per element, and numbered in order per element:
    # the middle one or two are those numbered half the count.
    once = select(waits).cte("once").prefix_with("MATERIALIZED")
    per = (
        select(
            once.c.element_id,
            func.count().label("count"),
            func.sum(once.c.overdue).label("overdue"),
            func.min(once.c.since).label("oldest"),
        )
        .group_by(once.c.element_id)
        .subquery("per")
    )
    ranked = select(
        once.c.element_id,
        once.c.since,
        func.row_number().over(partition_by=once.c.element_id, order_by=once.c.since).label("n"),
    ).subquery("ranked")
    # Odd count c: the ((c + 1) / 2)th; even: the (c / 2)th and the (c / 2 + 1)th.
    middle = (ranked.c.n * 2).in_((per.c.count, per.c.count + 1, per.c.count + 2))
    for element_id, since, count, overdue, oldest in db.session.execute(
        select(ranked.c.element_id, ranked.c.since, per.c.count, per.c.overdue, per.c.oldest)
        .join(per, per.c.element_id == ranked.c.element_id)
        .where(middle)
    ):
        entry = heat.setdefault(element_id, ElementHeat())
        entry.count, entry.overdue = int(count), int(overdue or 0)
        entry.worst_days = _days(now - oldest)
        entry.ages.append(_days(now - since))
    for entry in heat.values():
        entry.median_days = round(statistics.mean(entry.ages), 1)


def _fill_grouped(heat: dict[str, ElementHeat], waits: Any, now: datetime) -> None:
    """The same on PostgreSQL, in one pass per element: the median wait is the continuous
    percentile of the start times (the middle one, or the mean of the middle two)."""
    started = func.extract("epoch", waits.c.since)
    stmt = select(
        waits.c.element_id,
        func.count(),
        func.sum(waits.c.overdue),
        func.min(waits.c.since),
        func.percentile_cont(0.5).within_group(started),
    ).group_by(waits.c.element_id)
    moment = now.timestamp()
    for element_id, count, overdue, oldest, middle in db.session.execute(stmt):
        heat[element_id] = ElementHeat(
            count=int(count),
            overdue=int(overdue or 0),
            median_days=round((moment - float(middle)) / 86400, 1),
            worst_days=_days(now - oldest),
        )


def waiting_at(
    actor: User, process_key: str, element_id: str, now: datetime | None = None
) -> list[WaitingCase]:
    """The cases in scope waiting at one element, the longest first (a click on the diagram)."""
    scope = require(actor, "heatmap.cases")
    now = now or utcnow()
    frame = _frame(actor, scope, now)
    if not _anything(frame):
        return []
    waits = _waits(frame, process_key, element_id)
    stmt = (
        select(waits.c.since, waits.c.overdue, waits.c.item_id, Case.id, Case.number, Case.title)
        .join(Case, Case.id == waits.c.case_id)
        .order_by(waits.c.since, Case.number)
        .limit(500)
    )
    found = [
        WaitingCase(case_id, number, title, since, _days(now - since), item_id, bool(overdue))
        for since, overdue, item_id, case_id, number, title in db.session.execute(stmt)
    ]
    audit.record(
        "heatmap.cases",
        "process",
        process_key,
        actor,
        detail={"element": element_id, "count": len(found)},
    )
    audit.commit_read()
    return found


def throughput(
    actor: User, process_key: str, days: int, now: datetime | None = None
) -> dict[str, int]:
    """Per sequence flow ("source>target"): how many times cases in scope went along it in the
    last ``days`` days (``flows``: tallied per day by the timer worker, the rest counted now)."""
    scope = require(actor, "heatmap.view")
    return flows.counted(actor, scope, process_key, days, now or utcnow())


def _days(delta: timedelta) -> float:
    return round(delta.total_seconds() / 86400, 1)
