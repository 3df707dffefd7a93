"""Which flows cases took, for the heatmap: per sequence flow, how many times the cases a
supervisor can see went along it in a period.

A year of steps is too many to count at every look, so the timer worker adds each supervisor's
steps up per day and per month in Japan (``FlowTally``, ``FlowTallyMonth``, to
``FlowTallyMark``: ``roll_up``), counting the steps of the cases that supervisor can see as it
adds them. A period is whole days (過去7日: today and
the six days before); a look adds the period's tallies to the steps after the mark (the last
minutes), counted as they are. A changed scope drops the supervisor's tallies; the next round counts
their whole history again, and until then every step is counted as it is read."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    delete,
    exists,
    false,
    func,
    literal,
    select,
    union,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Case, CaseKey, FlowTally, FlowTallyMark, FlowTallyMonth, PathStep, User
from app.models.base import local_day, month_start, utcnow
from app.services import access, clock
from app.services.supervision import keys, readmodel, view
from app.services.supervision import scope as scopes

# Path steps added to one supervisor's tallies in one transaction (a first round of a large
# history takes several).
BATCH = 200_000


def period_start(days: int, now: datetime) -> datetime:
    """The start of the last ``days`` days: midnight in Japan, ``days - 1`` days before today."""
    today = now.astimezone(clock.LOCAL).date()
    return datetime.combine(today - timedelta(days=days - 1), time(), tzinfo=clock.LOCAL)


def counted(
    actor: User, scope: scopes.Scope, process_key: str, days: int, now: datetime
) -> dict[str, int]:
    """Per flow ("source>target"): the times the cases in view went along it in the last
    ``days`` days (today and the days before, in Japan): the days tallied, plus the steps after
    the tally counted as they are."""
    readmodel.catch_up(db.session())  # the cases' keys as of every step committed before now
    start = period_start(days, now)
    mark = db.session.scalar(
        select(FlowTallyMark.last_step_id).where(FlowTallyMark.user_id == actor.id)
    )
    frame = view.Frame(actor=actor, scope=scope, now=now)
    later = [PathStep.process_key == process_key, PathStep.taken_at >= start]
    if mark is not None:
        # Driven by the few steps after the mark (as a plain range next to the process and the
        # period, SQLite would rather walk the whole period of the process on its index).
        newer = aliased(PathStep, name="newer")
        later.append(PathStep.id.in_(select(newer.id).where(newer.id > mark)))
    steps = union(*_seen(frame, *later)).subquery("steps")
    found: dict[str, int] = {}
    for source, target, taken in db.session.execute(
        select(steps.c.source_id, steps.c.target_id, func.count()).group_by(
            steps.c.source_id, steps.c.target_id
        )
    ):
        found[f"{source}>{target}"] = int(taken)
    if mark is None:
        return found
    # Whole months from the monthly tallies, the days before the first whole month from the daily.
    first_day = start.date()
    whole_from = first_day if first_day.day == 1 else _next_month(first_day)
    days = select(FlowTally.source_id, FlowTally.target_id, FlowTally.taken).where(
        FlowTally.user_id == actor.id,
        FlowTally.process_key == process_key,
        FlowTally.day >= first_day,
        FlowTally.day < whole_from,
    )
    months = select(FlowTallyMonth.source_id, FlowTallyMonth.target_id, FlowTallyMonth.taken).where(
        FlowTallyMonth.user_id == actor.id,
        FlowTallyMonth.process_key == process_key,
        FlowTallyMonth.month >= whole_from,
    )
    tallied = union_all(days, months).subquery("tallied")
    for source, target, taken in db.session.execute(
        select(tallied.c.source_id, tallied.c.target_id, func.sum(tallied.c.taken)).group_by(
            tallied.c.source_id, tallied.c.target_id
        )
    ):
        found[f"{source}>{target}"] = found.get(f"{source}>{target}", 0) + int(taken)
    return found


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _seen(frame: view.Frame, *conditions: Any) -> list[Select[Any]]:
    """The path steps (id, flow) of the cases in view, each step asked of its case's keys: for
    the few steps counted as they are (one SELECT per kind of key; a step may come twice, as a
    set of steps it counts once)."""
    found = keys.of_frame(frame)
    columns = (PathStep.id, PathStep.source_id, PathStep.target_id)

    def keyed(scope_keys: list[str]) -> Any:
        return exists().where(
            CaseKey.case_id == PathStep.case_id, CaseKey.scope_key.in_(scope_keys)
        )

    parts = []
    if found.case_plain:
        parts.append(select(*columns).where(*conditions, keyed(found.case_plain)))
    if found.asked:
        allowed = select(Case.id).where(
            Case.id == PathStep.case_id, access.case_filter(frame.actor)
        )
        parts.append(select(*columns).where(*conditions, keyed(found.asked), exists(allowed)))
    return parts or [select(*columns).where(false())]


def roll_up(now: datetime | None = None) -> int:
    """Add the new path steps to each active supervisor's daily tallies (the timer worker's
    round); returns how many path steps were gone through, over all supervisors. Two workers
    never add the
    same steps: each supervisor's mark is locked while their steps are added."""
    now = now or utcnow()
    readmodel.catch_up(db.session())  # steps are counted by their cases' keys as of now
    added = 0
    supervisors = list(
        db.session.scalars(
            select(User)
            .where(User.role == scopes.SUPERVISOR, User.active.is_(True))
            .order_by(User.id)
        )
    )
    last = db.session.scalar(select(func.max(PathStep.id))) or 0
    for supervisor in supervisors:
        added += _roll_up_one(supervisor, last, now)
    return added


def _roll_up_one(supervisor: User, last: int, now: datetime) -> int:
    user_id = supervisor.id
    # The mark's row is written first: the lock that keeps a second worker out until commit.
    locked = db.session.execute(
        update(FlowTallyMark)
        .where(FlowTallyMark.user_id == user_id)
        .values(last_step_id=FlowTallyMark.last_step_id)
    )
    if locked.rowcount == 0:
        try:
            db.session.add(FlowTallyMark(user_id=user_id, last_step_id=0))
            db.session.flush()
        except IntegrityError:  # another worker made it just now: its round counts these
            db.session.rollback()
            return 0
    mark = db.session.scalar(
        select(FlowTallyMark.last_step_id).where(FlowTallyMark.user_id == user_id)
    )
    upto = min(last, mark + BATCH)
    if upto <= mark:
        db.session.commit()
        return 0
    scope = scopes.of(supervisor)
    frame = view.Frame(actor=supervisor, scope=scope, now=now)
    visible = keys.visible(frame, keys.bound(frame))
    day = local_day(PathStep.taken_at)
    steps = (
        select(
            PathStep.process_key,
            day.label("day"),
            PathStep.source_id,
            PathStep.target_id,
            func.count().label("taken"),
        )
        .where(PathStep.id > mark, PathStep.id <= upto, PathStep.case_id.in_(visible))
        .group_by(PathStep.process_key, day, PathStep.source_id, PathStep.target_id)
        .subquery("steps")
    )
    # Added to the days and to the months (the months' sums of the same days).
    for table, period in ((FlowTally, steps.c.day), (FlowTallyMonth, month_start(steps.c.day))):
        _add(table, user_id, steps, period)
    db.session.execute(
        update(FlowTallyMark).where(FlowTallyMark.user_id == user_id).values(last_step_id=upto)
    )
    db.session.commit()
    return upto - mark


def _add(table: Any, user_id: int, steps: Any, period: Any) -> None:
    """Add the steps, per ``period`` (a day or a month) and flow, to ``table``'s tallies."""
    period_column = "day" if table is FlowTally else "month"
    rows = (
        select(
            literal(user_id, Integer).label("user_id"),
            steps.c.process_key,
            period.label(period_column),
            steps.c.source_id,
            steps.c.target_id,
            func.sum(steps.c.taken).label("taken"),
        )
        .where(steps.c.taken > 0)
        .group_by(steps.c.process_key, period, steps.c.source_id, steps.c.target_id)
    )
    key = ["user_id", "process_key", period_column, "source_id", "target_id"]
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    add = dialect.insert(table).from_select([*key, "taken"], rows)
    add = add.on_conflict_do_update(
        index_elements=key, set_={"taken": table.taken + add.excluded.taken}
    )
    db.session.execute(add)


def forget(user_id: int) -> None:
    """Drop a supervisor's tallies (their scope changed: the next round counts again)."""
    db.session.execute(delete(FlowTally).where(FlowTally.user_id == user_id))
    db.session.execute(delete(FlowTallyMonth).where(FlowTallyMonth.user_id == user_id))
    db.session.execute(delete(FlowTallyMark).where(FlowTallyMark.user_id == user_id))
