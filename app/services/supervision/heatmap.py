"""Where cases wait on the diagram, and which paths they took: per element of a process (every
version, called processes read on their own diagram), how many cases in the supervisor's scope wait
there now and for how long, and per sequence flow how many passed in a period.

Read from the work-item, waiting-event and path tables (indexed), never from engine state.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select

from app.extensions import db
from app.models import Case, PathStep, User, WaitingEvent
from app.models.base import utcnow
from app.services import access, audit
from app.services.errors import Forbidden
from app.services.supervision import scope as scopes
from app.services.supervision.stalled import Item, StalledFilter, in_scope

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


def _visible(actor: User, scope: scopes.Scope):  # noqa: ANN202 - SQL condition over Case
    return and_(access.case_filter(actor), in_scope(scope, StalledFilter()))


def waiting(actor: User, process_key: str, now: datetime | None = None) -> dict[str, ElementHeat]:
    """Per element of ``process_key``: the cases in scope waiting there now, with their ages."""
    scope = require(actor, "heatmap.view")
    now = now or utcnow()
    visible = _visible(actor, scope)
    heat: dict[str, ElementHeat] = {}
    items = (
        select(Item.element_id, Item.created_at, Item.due_at)
        .join(Case, Case.id == Item.case_id)
        .where(
            Item.status == "open",
            Item.queue.in_(sorted(scope.queues)),
            Item.process_key == process_key,
            visible,
        )
    )
    for element_id, created_at, due_at in db.session.execute(items):
        entry = heat.setdefault(element_id, ElementHeat())
        entry.ages.append(_days(now - created_at))
        entry.overdue += int(due_at is not None and due_at < now)
    events = (
        select(WaitingEvent.element_id, WaitingEvent.since, WaitingEvent.due_at)
        .join(Case, Case.id == WaitingEvent.case_id)
        .where(WaitingEvent.process_key == process_key, visible)
    )
    for element_id, since, due_at in db.session.execute(events):
        entry = heat.setdefault(element_id, ElementHeat())
        entry.ages.append(_days(now - since))
        entry.overdue += int(due_at is not None and due_at < now - timedelta(hours=1))
    for entry in heat.values():
        entry.count = len(entry.ages)
        entry.median_days = round(statistics.median(entry.ages), 1)
        entry.worst_days = max(entry.ages)
    audit.record("heatmap.view", "process", process_key, actor, detail={"elements": len(heat)})
    db.session.commit()
    return heat


def waiting_at(
    actor: User, process_key: str, element_id: str, now: datetime | None = None
) -> list[WaitingCase]:
    """The cases in scope waiting at one element, the longest first (a click on the diagram)."""
    scope = require(actor, "heatmap.cases")
    now = now or utcnow()
    visible = _visible(actor, scope)
    found: list[WaitingCase] = []
    items = (
        select(Item.id, Item.created_at, Item.due_at, Case.id, Case.number, Case.title)
        .join(Case, Case.id == Item.case_id)
        .where(
            Item.status == "open",
            Item.queue.in_(sorted(scope.queues)),
            Item.process_key == process_key,
            Item.element_id == element_id,
            visible,
        )
        .order_by(Item.created_at)
        .limit(500)
    )
    for item_id, created_at, due_at, case_id, number, title in db.session.execute(items):
        found.append(
            WaitingCase(
                case_id,
                number,
                title,
                created_at,
                _days(now - created_at),
                item_id,
                due_at is not None and due_at < now,
            )
        )
    events = (
        select(WaitingEvent.since, WaitingEvent.due_at, Case.id, Case.number, Case.title)
        .join(Case, Case.id == WaitingEvent.case_id)
        .where(
            WaitingEvent.process_key == process_key,
            WaitingEvent.element_id == element_id,
            visible,
        )
        .order_by(WaitingEvent.since)
        .limit(500)
    )
    for since, due_at, case_id, number, title in db.session.execute(events):
        found.append(
            WaitingCase(
                case_id,
                number,
                title,
                since,
                _days(now - since),
                None,
                due_at is not None and due_at < now,
            )
        )
    found.sort(key=lambda row: -row.days)
    audit.record(
        "heatmap.cases",
        "process",
        process_key,
        actor,
        detail={"element": element_id, "count": len(found)},
    )
    db.session.commit()
    return found


def throughput(
    actor: User, process_key: str, days: int, now: datetime | None = None
) -> dict[str, int]:
    """Per sequence flow ("source>target"): how many times cases in scope went along it in the
    last ``days`` days."""
    scope = require(actor, "heatmap.view")
    now = now or utcnow()
    stmt = (
        select(PathStep.source_id, PathStep.target_id, func.count())
        .join(Case, Case.id == PathStep.case_id)
        .where(
            PathStep.process_key == process_key,
            PathStep.taken_at >= now - timedelta(days=days),
            _visible(actor, scope),
        )
        .group_by(PathStep.source_id, PathStep.target_id)
    )
    return {f"{source}>{target}": count for source, target, count in db.session.execute(stmt)}


def _days(delta: timedelta) -> float:
    return round(delta.total_seconds() / 86400, 1)
