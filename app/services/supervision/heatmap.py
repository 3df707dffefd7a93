"""Where cases wait on the diagram, and which paths they took: per element of a process (every
version, called processes read on their own diagram), how many cases in the supervisor's scope wait
there now and for how long, and per sequence flow how many passed in a period.

Read from the work-item, waiting-event and path tables (indexed), never from engine state.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, or_, select, union_all
from sqlalchemy.dialects import postgresql

from app.extensions import db
from app.models import Case, User, WaitEntry
from app.models.base import UTCDateTime, utcnow
from app.services import audit, definitions
from app.services.errors import Forbidden
from app.services.supervision import flows, keys, readmodel, view
from app.services.supervision import scope as scopes

Wait = WaitEntry

PERIODS = (7, 30, 90, 365)
LISTED = 50  # cases listed per page for one element


@dataclass
class ElementHeat:
    """Cases waiting at one element now."""

    count: int = 0
    overdue: int = 0
    median_days: float = 0.0
    worst_days: float = 0.0

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


# Catch events are late an hour after they were due (a timer fires within the worker's round).
EVENT_LATE = bindparam("event_late", type_=UTCDateTime())
EVENT_GRACE = timedelta(hours=1)


def _bound(frame: view.Frame) -> dict[str, Any]:
    return {**keys.bound(frame), "event_late": frame.now - EVENT_GRACE}


def _waits(frame: view.Frame, process_key: str, element_id: str | None = None) -> Any:
    """Where cases in view wait in ``process_key`` now, each wait once (built once per standing,
    process and element; run with ``_bound``)."""
    boundaries = tuple(sorted(definitions.boundary_events(process_key)))
    shape = ("waits", keys.shape(frame), process_key, element_id, boundaries)
    return view.built(shape, lambda: _build_waits(frame, process_key, element_id, boundaries))


def _build_waits(
    frame: view.Frame, process_key: str, element_id: str | None, boundaries: tuple[str, ...]
) -> Any:
    """Open work in the supervisor's queues and catch events (element, since, overdue, work
    item, case), read from the wait entries kept at each step."""
    late = case(
        (Wait.kind == "item", Wait.due_at < view.NOW),
        else_=Wait.due_at < EVENT_LATE,
    )
    conditions = [Wait.process_key == process_key]
    if element_id is not None:
        conditions.append(Wait.element_id == element_id)
    if boundaries:
        conditions.append(or_(Wait.kind == "item", Wait.element_id.not_in(boundaries)))
    columns = [
        Wait.element_id,
        Wait.since,
        case((late, 1), else_=0).label("overdue"),
        Wait.item_id,
        Wait.case_id,
    ]
    work, whole = keys.keyed(frame, Wait, columns, *conditions)
    parts = work + whole  # each wait once: work by its queue's key, an event by its key set's
    return union_all(*parts).subquery("waits")


def waiting(actor: User, process_key: str, now: datetime | None = None) -> dict[str, ElementHeat]:
    """Per element of ``process_key``: how many cases in scope wait there now, how many are late,
    and the median and longest wait (aggregated in SQL: one row per element comes back, or two
    when the median falls between two waits)."""
    scope = require(actor, "heatmap.view")
    readmodel.catch_up(db.session())  # the rows of every step committed before this moment
    now = now or utcnow()
    frame = _frame(actor, scope, now)
    heat: dict[str, ElementHeat] = {}
    if _anything(frame):
        _fill(heat, frame, process_key)
    audit.record("heatmap.view", "process", process_key, actor, detail={"elements": len(heat)})
    audit.commit_read()
    return heat


def _anything(frame: view.Frame) -> bool:
    """Whether the supervisor oversees anything (with no key, nothing is in view)."""
    found = keys.of_frame(frame)
    return bool(found.case_plain or found.item_plain or found.asked)


def _fill(heat: dict[str, ElementHeat], frame: view.Frame, process_key: str) -> None:
    """Per element: the count, the late ones, the oldest and the middle one or two waits."""
    if db.engine.dialect.name == "postgresql":
        _fill_grouped(heat, frame, process_key)
        return
    # SQLite: counted per element in SQL, with every start there as a day number in one text
    # (thousands of rows would cost more as rows than as numbers), sorted here for the middle.
    waits = _waits(frame, process_key)

    def make() -> Any:
        started = func.julianday(waits.c.since)
        return select(
            waits.c.element_id,
            func.count(),
            func.sum(waits.c.overdue),
            func.min(started),
            func.group_concat(started),
        ).group_by(waits.c.element_id)

    stmt = view.built(("waits-days", keys.shape(frame), process_key), make)
    today = _julian(frame.now)
    for element_id, count, overdue, oldest, starts in db.session.execute(stmt, _bound(frame)):
        heat[element_id] = ElementHeat(
            count=int(count),
            overdue=int(overdue or 0),
            median_days=round(today - statistics.median(map(float, starts.split(","))), 1),
            worst_days=round(today - oldest, 1),
        )


def _julian(moment: datetime) -> float:
    """The Julian day number of a moment (SQLite's ``julianday``)."""
    return moment.timestamp() / 86400 + 2440587.5


# The lower and the upper middle of each element's waits, by start (their mean is the median):
# percentile_disc(f) is the value at position ceil(f * n), so 0.5 gives n/2 (n even) or the
# middle (n odd), and a hair above 0.5 gives n/2 + 1 (n even) or the same middle (n odd).
MIDDLES = (0.5, 0.5 + 1e-9)


def _fill_grouped(heat: dict[str, ElementHeat], frame: view.Frame, process_key: str) -> None:
    """The same on PostgreSQL, in one pass per element."""
    waits = _waits(frame, process_key)

    def make() -> Any:
        middles = func.percentile_disc(postgresql.array(MIDDLES)).within_group(waits.c.since)
        middles.type = postgresql.ARRAY(UTCDateTime())
        return select(
            waits.c.element_id,
            func.count(),
            func.sum(waits.c.overdue),
            func.min(waits.c.since),
            middles,
        ).group_by(waits.c.element_id)

    stmt = view.built(("waits-grouped", keys.shape(frame), process_key), make)
    now = frame.now
    for element_id, count, overdue, oldest, middle in db.session.execute(stmt, _bound(frame)):
        lower, upper = (now - moment for moment in middle)
        heat[element_id] = ElementHeat(
            count=int(count),
            overdue=int(overdue or 0),
            median_days=_days((lower + upper) / 2),
            worst_days=_days(now - oldest),
        )


def waiting_at(
    actor: User,
    process_key: str,
    element_id: str,
    now: datetime | None = None,
    page: int = 1,
) -> list[WaitingCase]:
    """The cases in scope waiting at one element, the longest first (a click on the diagram), a
    page of ``LISTED`` at a time."""
    scope = require(actor, "heatmap.cases")
    readmodel.catch_up(db.session())
    now = now or utcnow()
    frame = _frame(actor, scope, now)
    if not _anything(frame):
        return []
    waits = _waits(frame, process_key, element_id)
    stmt = view.built(
        ("waits-listed", keys.shape(frame), process_key, element_id),
        lambda: (
            select(
                waits.c.since, waits.c.overdue, waits.c.item_id, Case.id, Case.number, Case.title
            )
            .join(Case, Case.id == waits.c.case_id)
            .order_by(waits.c.since, Case.number)
            .limit(bindparam("listed"))
            .offset(bindparam("skip"))
        ),
    )
    found = [
        WaitingCase(case_id, number, title, since, _days(now - since), item_id, bool(overdue))
        for since, overdue, item_id, case_id, number, title in db.session.execute(
            stmt, {**_bound(frame), "listed": LISTED, "skip": (max(page, 1) - 1) * LISTED}
        )
    ]
    audit.record(
        "heatmap.cases",
        "process",
        process_key,
        actor,
        detail={"element": element_id, "page": page, "count": len(found)},
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
