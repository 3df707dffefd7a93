"""The supervisors' read model: per case, its scope keys (``CaseKey``), its possible stalls
(``StallEntry``, from ``stalls``) and where it waits (``WaitEntry``, from ``waits``): about a
piece of work, with its queue's key; about the case as a whole, with the key of the case's set of
keys (``KeySet``).

Each flush notes the cases whose work items, instances, waiting events, agencies, status or plan
dates changed (and the steps whose limit changed); as the transaction commits, those cases are
written down as pending (``ReadModelPending``, one multi-row insert: a person's step does not wait
for the rewrite). ``catch_up`` rewrites the pending cases' rows from what their tables say then,
many cases per statement: the timer worker runs it every second, and every view of these rows
runs it before it reads, so a view never reads rows older than the steps committed before it.
A changed limit setting moves ``stalled_at`` of every row of its reason at once."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from itertools import chain
from typing import Any

from sqlalchemy import bindparam, delete, event, exists, func, insert, inspect, select, update
from sqlalchemy.orm import Session

from app.models import (
    Case,
    CaseKey,
    ProcessInstance,
    ReadModelPending,
    StallEntry,
    StepLimit,
    WaitEntry,
    WaitingEvent,
    WorkItem,
)
from app.models.base import days_after, utcnow
from app.services import memo
from app.services.supervision import keys, stalls, waits
from app.services.supervision.keys import scope_keys

# The columns a change of which can change a case's rows (a new or deleted row always can).
WATCHED: dict[type, tuple[str, ...] | None] = {
    WorkItem: (
        "status",
        "assignee_id",
        "queue",
        "due_at",
        "council_material",
        "title",
        "process_key",
        "element_id",
    ),
    ProcessInstance: (
        "status",
        "error",
        "held_at",
        "held_by_id",
        "hold_reason",
        "last_progress_at",
    ),
    WaitingEvent: None,  # any change
    Case: ("intake_agency_id", "primary_agency_id", "status", "review_due_on", "last_recorded_at"),
}
# Written in SQL (not through the ORM: a statement run with parameters would be a bulk insert).
_TABLES = (CaseKey.__table__, StallEntry.__table__, WaitEntry.__table__)
_PENDING = "kasane.readmodel_cases"
_PENDING_STEPS = "kasane.readmodel_steps"
_CHUNK = 500
# The one catch-up at a time (PostgreSQL): two rewriting the same case at once could both insert.
_CATCH_UP_LOCK = 0x6B61_7361_6E65_0001


def touch(session: Session, case_id: int | None) -> None:
    """Have the case's rows rewritten as the transaction commits (for changes made in SQL, which
    the flush does not see)."""
    if case_id is not None:
        session.info.setdefault(_PENDING, set()).add(case_id)


def take_noted(session: Session) -> list[dict[str, Any]]:
    """The pending rows of the cases noted so far, for the caller to write (``touch`` again for
    a later change: the commit writes what is noted after this)."""
    ids = session.info.pop(_PENDING, None)
    now = utcnow()
    return [{"case_id": i, "noted_at": now} for i in sorted(ids or ())]


def touch_step(session: Session, process_key: str, element_id: str) -> None:
    """Have the cases waiting at a step rewritten as the transaction commits (its limit changed)."""
    session.info.setdefault(_PENDING_STEPS, set()).add((process_key, element_id))


def refresh(bind: Any, case_ids: Iterable[int], days: dict[str, int] | None = None) -> None:
    """Rewrite the rows of these cases from what their tables say now."""
    ids = sorted(set(case_ids))
    days = days if days is not None else stalls.limits(bind)
    first, then = _rewrite(tuple(sorted(days.items())))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for statement in first:
            bind.execute(statement, {"case_ids": chunk})
        keys.assign_sets(bind, chunk)
        for statement in then:
            bind.execute(statement, {"case_ids": chunk})
    memo.forget()  # key sets may be new: a view later in this request reads them again


def rebuild(bind: Any) -> None:
    """Rewrite every row (the migration that adds the model, a bulk load)."""
    for table in (CaseKey, StallEntry, WaitEntry):
        bind.execute(delete(table))
    bind.execute(_keys_insert(None))
    keys.assign_sets(bind, None)
    for statement in _entries_inserts(stalls.limits(bind), None):
        bind.execute(statement)


def _keys_insert(case_ids: Any) -> Any:
    return insert(CaseKey.__table__).from_select(["case_id", "scope_key"], scope_keys(case_ids))


def _entries_inserts(days: dict[str, int], case_ids: Any) -> list[Any]:
    return [
        insert(StallEntry.__table__).from_select(
            ["scope_key", *stalls.COLUMNS], stalls.entries(days, case_ids)
        ),
        insert(WaitEntry.__table__).from_select(
            ["scope_key", *waits.COLUMNS], waits.entries(case_ids)
        ),
    ]


@lru_cache(maxsize=8)
def _rewrite(days: tuple[tuple[str, int], ...]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """A case's rewrite, built once per set of limits (building these statements costs more
    than running them), the cases bound when it runs: its keys (then its key set is found, in
    Python), then its entries."""
    ids = bindparam("case_ids", expanding=True)
    deletes = [delete(table).where(table.c.case_id.in_(ids)) for table in _TABLES]
    return (*deletes, _keys_insert(ids)), tuple(_entries_inserts(dict(days), ids))


def retime(bind: Any, setting_key: str, value: int) -> None:
    """A limit changed: move ``stalled_at`` of every row of its reason."""
    for reason, (key, extra) in stalls.LIMITS.items():
        if key == setting_key:
            bind.execute(
                update(StallEntry)
                .where(StallEntry.reason == reason)
                .values(stalled_at=days_after(StallEntry.since, int(value) + extra))
            )


def _changed(obj: Any, watched: tuple[str, ...] | None) -> bool:
    if watched is None:
        return True
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in watched)


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, context: Any) -> None:
    """Note the cases whose rows this flush may have changed."""
    for obj in chain(session.new, session.dirty, session.deleted):
        kind = type(obj)
        if kind is StepLimit:
            touch_step(session, obj.process_key, obj.element_id)
            continue
        if kind not in WATCHED:
            continue
        if obj in session.dirty and not _changed(obj, WATCHED[kind]):
            continue
        touch(session, obj.id if kind is Case else obj.case_id)


@event.listens_for(Session, "before_commit")
def _note_pending(session: Session) -> None:
    """Write the noted cases down as pending as the transaction commits."""
    while True:
        session.flush()  # the commit would flush next anyway: its changes are noted here
        for step in session.info.pop(_PENDING_STEPS, None) or ():
            for case_id in session.scalars(stalls.waiting_at_step(*step)):
                touch(session, case_id)
        ids = session.info.pop(_PENDING, None)
        if not ids:
            return
        now = utcnow()
        session.execute(
            insert(ReadModelPending.__table__),
            [{"case_id": i, "noted_at": now} for i in sorted(ids)],
        )


def catch_up(session: Session) -> int:
    """Rewrite the rows of the pending cases and take them off the list, ``_CHUNK`` at a time,
    each chunk in a transaction of its own; returns how many pending rows were taken. When any
    is pending, the session's own transaction is committed first (a view calls this before it
    reads; the worker between its rounds): nothing of the caller's may be waiting in it."""
    taken = 0
    while session.scalar(select(exists().where(ReadModelPending.id.is_not(None)))):
        # The taking below is the first statement of its transaction (SQLite: a transaction that
        # read before it writes can lose its snapshot to another writer and fail).
        _commit_keeping(session)
        if session.get_bind().dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(_CATCH_UP_LOCK)))
        oldest = select(ReadModelPending.id).order_by(ReadModelPending.id).limit(_CHUNK)
        case_ids = session.scalars(
            delete(ReadModelPending)
            .where(ReadModelPending.id.in_(oldest.scalar_subquery()))
            .returning(ReadModelPending.case_id)
        ).all()
        if case_ids:
            refresh(session, case_ids)
        _commit_keeping(session)
        taken += len(case_ids)
        if len(case_ids) < _CHUNK:
            break
    return taken


def pending_count(session: Session) -> int:
    """How many rewrites are waiting (the worker's metric of how far behind the rows are)."""
    return session.scalar(select(func.count()).select_from(ReadModelPending)) or 0


def _commit_keeping(session: Session) -> None:
    """Commit without expiring what the session has loaded: only read-model rows were written."""
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


@event.listens_for(Session, "after_soft_rollback")
def _forget_noted(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_PENDING_STEPS, None)
