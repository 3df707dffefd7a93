"""The stalled list's read model (``StallEntry``): every possible stall of every case, with the
moment it becomes late, and the scope keys through which a supervisor may see it.

The candidates are defined here once, per reason, over the tables the steps write (open work,
instances, waiting events, the case's review date); they carry no "now": ``stalled_at`` is when
the thing *will* be late, so the list reads ``stalled_at <= now`` and time moving needs no
rewrite. A case's rows are rewritten in the same transaction as any change to its work, instances,
waits, agencies or plan dates (noted at each flush, rewritten as the transaction commits); a
changed limit moves ``stalled_at`` of every row of its reason (``retime``), a changed step limit
rewrites the cases waiting at that step."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    delete,
    event,
    exists,
    func,
    insert,
    inspect,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from app.models import (
    Agency,
    AuditEvent,
    Case,
    ProcessInstance,
    StallEntry,
    StepLimit,
    User,
    WaitingEvent,
    WorkItem,
)
from app.models.base import UTCDateTime, days_after
from app.services import queues, settings

# The settings that set a reason's limit (days after the wait began); the review reason is listed
# a whole day after its date plus the stall days.
LIMITS = {
    "unclaimed": ("unclaimed_after_days", 0),
    "message_wait": ("message_wait_days", 0),
    "no_activity": ("idle_after_days", 0),
    "review_overdue": ("stall_after_days", 1),
}
# The columns a change of which can change a case's stalls (a new or deleted row always can).
WATCHED: dict[type, tuple[str, ...] | None] = {
    WorkItem: ("status", "assignee_id", "queue", "due_at", "council_material", "title"),
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
COLUMNS = (
    "case_id",
    "reason",
    "source_id",
    "stalled_at",
    "since",
    "fresh_at",
    "place",
    "item_id",
    "queue",
    "assignee_id",
    "instance_id",
    "detail",
)
_PENDING = "kasane.stall_cases"
_PENDING_STEPS = "kasane.stall_steps"
_CHUNK = 500


def limits(bind: Any = None) -> dict[str, int]:
    """Days per reason with a set limit, from the municipality's settings."""
    values = settings.current(bind)
    return {reason: int(values[key]) + extra for reason, (key, extra) in LIMITS.items()}


def touch(session: Session, case_id: int | None) -> None:
    """Have the case's rows rewritten as the transaction commits (for changes made in SQL, which
    the flush does not see)."""
    if case_id is not None:
        session.info.setdefault(_PENDING, set()).add(case_id)


def refresh(bind: Any, case_ids: Iterable[int], days: dict[str, int] | None = None) -> None:
    """Rewrite the rows of these cases from what their tables say now."""
    ids = sorted(set(case_ids))
    days = days if days is not None else limits(bind)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        bind.execute(delete(StallEntry).where(StallEntry.case_id.in_(chunk)))
        bind.execute(insert(StallEntry).from_select(["scope_key", *COLUMNS], entries(days, chunk)))


def rebuild(bind: Any) -> None:
    """Rewrite every row (the migration that adds the model, a bulk load)."""
    bind.execute(delete(StallEntry))
    bind.execute(insert(StallEntry).from_select(["scope_key", *COLUMNS], entries(limits(bind))))


def retime(bind: Any, setting_key: str, value: int) -> None:
    """A limit changed: move ``stalled_at`` of every row of its reason."""
    for reason, (key, extra) in LIMITS.items():
        if key == setting_key:
            bind.execute(
                update(StallEntry)
                .where(StallEntry.reason == reason)
                .values(stalled_at=days_after(StallEntry.since, int(value) + extra))
            )


def waiting_at_step(process_key: str, element_id: str) -> Select[tuple[int]]:
    """The cases with open work at one step (a changed step limit rewrites them)."""
    return (
        select(WorkItem.case_id)
        .where(
            WorkItem.status == "open",
            WorkItem.process_key == process_key,
            WorkItem.element_id == element_id,
            WorkItem.case_id.is_not(None),
        )
        .distinct()
    )


def entries(days: dict[str, int], case_ids: Sequence[int] | None = None) -> Select[Any]:
    """Every candidate of the cases (all cases: None), once per scope key of its case."""
    parts = [reader(days, case_ids) for reader in CANDIDATES]
    found = parts[0].union_all(*parts[1:]).subquery("candidates")
    keys = scope_keys(case_ids)
    return select(keys.c.scope_key, *(found.c[name] for name in COLUMNS)).join(
        keys, keys.c.case_id == found.c.case_id
    )


def scope_keys(case_ids: Sequence[int] | None = None) -> Any:
    """(case, key) for each way into a supervisor's view: the agencies on the case, and the queues
    of its open work (``g:`` a group queue and no 支援会議 material, ``r:`` the rest)."""

    def agency(column: Any) -> Select[Any]:
        return select(
            Case.id.label("case_id"), (literal("a:") + sql_cast(column, String)).label("scope_key")
        ).where(column.is_not(None), *_of(Case.id, case_ids))

    asked = or_(
        WorkItem.queue.startswith(queues.agency_queue(""), autoescape=True),
        WorkItem.council_material.is_(True),
    )
    # Work in the queue of an agency on the case needs no key of its own: the agency's key
    # brings the case in for whoever oversees that agency (and so that queue).
    own_queue = (
        select(Agency.id)
        .where(
            Agency.id.in_((Case.intake_agency_id, Case.primary_agency_id)),
            WorkItem.queue == literal(queues.agency_queue("")) + Agency.code,
        )
        .exists()
    )
    work = (
        select(
            WorkItem.case_id, (case((asked, literal("r:")), else_=literal("g:")) + WorkItem.queue)
        )
        .join(Case, Case.id == WorkItem.case_id)
        .where(
            WorkItem.status == "open",
            *_of(WorkItem.case_id, case_ids),
            or_(WorkItem.council_material.is_(True), ~own_queue),
        )
    )
    return union(agency(Case.intake_agency_id), agency(Case.primary_agency_id), work).subquery(
        "keys"
    )


def _of(column: Any, case_ids: Sequence[int] | None) -> list[ColumnElement[bool]]:
    return [] if case_ids is None else [column.in_(case_ids)]


def _row(
    reason: str,
    source_id: Any,
    case_id: Any,
    stalled_at: Any,
    since: Any,
    place: Any = None,
    item: Any = None,
    instance_id: Any = None,
    detail: Any = None,
    fresh_at: Any = None,
) -> list[Any]:
    def nothing(kind: Any) -> Any:
        return sql_cast(null(), kind)

    return [
        case_id.label("case_id"),
        literal(reason, String(20)).label("reason"),
        source_id.label("source_id"),
        type_coerce(stalled_at, UTCDateTime()).label("stalled_at"),
        type_coerce(since, UTCDateTime()).label("since"),
        (fresh_at if fresh_at is not None else nothing(UTCDateTime())).label("fresh_at"),
        (place if place is not None else nothing(String(255))).label("place"),
        (item.id if item is not None else nothing(WorkItem.id.type)).label("item_id"),
        (item.queue if item is not None else nothing(String(80))).label("queue"),
        (item.assignee_id if item is not None else nothing(WorkItem.id.type)).label("assignee_id"),
        (instance_id if instance_id is not None else nothing(WorkItem.id.type)).label(
            "instance_id"
        ),
        (detail if detail is not None else nothing(String(1000))).label("detail"),
    ]


def _held() -> Select[tuple[int]]:
    """Held instances: their work and waits are listed as held, not as late."""
    return select(ProcessInstance.id).where(ProcessInstance.held_at.is_not(None))


def _open_work(case_ids: Sequence[int] | None) -> list[ColumnElement[bool]]:
    return [
        WorkItem.status == "open",
        WorkItem.case_id.is_not(None),
        WorkItem.instance_id.not_in(_held()),
        *_of(WorkItem.case_id, case_ids),
    ]


def overdue_steps(days: dict[str, int], case_ids: Sequence[int] | None) -> Select[Any]:
    """Open work past its limit: the municipality's step limit, else the task's due date."""
    deadline = case(
        (StepLimit.days.is_not(None), days_after(WorkItem.created_at, StepLimit.days)),
        else_=WorkItem.due_at,
    )
    return (
        select(
            *_row(
                "overdue_step",
                WorkItem.id,
                WorkItem.case_id,
                deadline,
                WorkItem.created_at,
                WorkItem.title,
                WorkItem,
                WorkItem.instance_id,
            )
        )
        .select_from(WorkItem)
        .outerjoin(
            StepLimit,
            and_(
                StepLimit.process_key == WorkItem.process_key,
                StepLimit.element_id == WorkItem.element_id,
            ),
        )
        .where(
            *_open_work(case_ids), or_(StepLimit.days.is_not(None), WorkItem.due_at.is_not(None))
        )
    )


def unclaimed(days: dict[str, int], case_ids: Sequence[int] | None) -> Select[Any]:
    return select(
        *_row(
            "unclaimed",
            WorkItem.id,
            WorkItem.case_id,
            days_after(WorkItem.created_at, days["unclaimed"]),
            WorkItem.created_at,
            WorkItem.title,
            WorkItem,
            WorkItem.instance_id,
        )
    ).where(*_open_work(case_ids), WorkItem.assignee_id.is_(None))


def errors(days: dict[str, int], case_ids: Sequence[int] | None) -> Select[Any]:
    # New when the engine last failed on it lately (its progress time does not move).
    failed_at = (
        select(func.max(AuditEvent.at))
        .where(
            AuditEvent.action == "process.error",
            AuditEvent.object_type == "process_instance",
            AuditEvent.object_id == sql_cast(ProcessInstance.id, String),
        )
        .scalar_subquery()
    )
    return select(
        *_row(
            "error",
            ProcessInstance.id,
            ProcessInstance.case_id,
            ProcessInstance.last_progress_at,
            ProcessInstance.last_progress_at,
            instance_id=ProcessInstance.id,
            detail=ProcessInstance.error,
            fresh_at=failed_at,
        )
    ).where(
        ProcessInstance.error.is_not(None),
        ProcessInstance.status != "completed",
        ProcessInstance.case_id.is_not(None),
        *_of(ProcessInstance.case_id, case_ids),
    )


def held(days: dict[str, int], case_ids: Sequence[int] | None) -> Select[Any]:
    holder = select(User.display_name).where(User.id == ProcessInstance.held_by_id)
    return select(
        *_row(
            "held",
            ProcessInstance.id,
            ProcessInstance.case_id,
            ProcessInstance.held_at,
            ProcessInstance.held_at,
            ProcessInstance.hold_reason,
            instance_id=ProcessInstance.id,
            detail=holder.scalar_subquery(),
        )
    ).where(
        ProcessInstance.held_at.is_not(None),
        ProcessInstance.status != "completed",
        ProcessInstance.case_id.is_not(None),
        *_of(ProcessInstance.case_id, case_ids),
    )


def message_waits(days: dict[str, int], case_ids: Sequence[int] | None) -> Select[Any]:
    return select(
        *_row(
            "message_wait",
            WaitingEvent.id,
            WaitingEvent.case_id,
            days_after(WaitingEvent.since, days["message_wait"]),
            WaitingEvent.since,
            WaitingEvent.name,
            instance_id=WaitingEvent.instance_id,
        )
    ).where(
        WaitingEvent.kind == "message",
        WaitingEvent.case_id.is_not(None),
        WaitingEvent.instance_id.not_in(_held()),
        *_of(WaitingEvent.case_id, case_ids),
    )


def idle(days: dict[str, int], case_ids: Sequence[int] | None) -> Select[Any]:
    """Open cases whose process has not moved (errors and holds are their own reasons)."""
    progress = ProcessInstance.last_progress_at
    return select(
        *_row(
            "no_activity",
            ProcessInstance.id,
            ProcessInstance.case_id,
            days_after(progress, days["no_activity"]),
            progress,
            instance_id=ProcessInstance.id,
        )
    ).where(
        ProcessInstance.status.in_(("running", "waiting")),
        ProcessInstance.error.is_(None),
        ProcessInstance.held_at.is_(None),
        ProcessInstance.case_id.is_not(None),
        ~exists().where(
            Case.id == ProcessInstance.case_id, Case.status.in_(("interrupted", "closed"))
        ),
        *_of(ProcessInstance.case_id, case_ids),
    )


def reviews(days: dict[str, int], case_ids: Sequence[int] | None) -> Select[Any]:
    """The latest plan's review date, with nothing recorded since (both kept on the case)."""
    review_began = days_after(Case.review_due_on, 0)
    return select(
        *_row(
            "review_overdue",
            Case.id,
            Case.id,
            days_after(Case.review_due_on, days["review_overdue"]),
            review_began,
        )
    ).where(
        Case.review_due_on.is_not(None),
        Case.status == "open",
        or_(Case.last_recorded_at.is_(None), Case.last_recorded_at < review_began),
        *_of(Case.id, case_ids),
    )


CANDIDATES = (overdue_steps, unclaimed, errors, held, message_waits, idle, reviews)


def _changed(obj: Any, watched: tuple[str, ...] | None) -> bool:
    if watched is None:
        return True
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in watched)


def touch_step(session: Session, process_key: str, element_id: str) -> None:
    """Have the cases waiting at a step rewritten as the transaction commits (its limit changed)."""
    session.info.setdefault(_PENDING_STEPS, set()).add((process_key, element_id))


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, context: Any) -> None:
    """Note the cases whose stalls this flush may have changed."""
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
def _rewrite_noted(session: Session) -> None:
    """Rewrite the noted cases' rows as the transaction commits."""
    days: dict[str, int] | None = None
    while True:
        session.flush()  # the commit would flush next anyway: its changes are noted here
        for step in session.info.pop(_PENDING_STEPS, None) or ():
            for case_id in session.scalars(waiting_at_step(*step)):
                touch(session, case_id)
        ids = session.info.pop(_PENDING, None)
        if not ids:
            return
        days = days or limits(session)
        refresh(session, ids, days)


@event.listens_for(Session, "after_soft_rollback")
def _forget_noted(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_PENDING_STEPS, None)
