"""The stalled list's candidates: every possible stall of a case, per reason, with the moment it
becomes late (``stalled_at``), defined over the tables the steps write (open work, instances,
waiting events, the case's review date). They carry no "now": the list reads
``stalled_at <= now``, so time moving needs no rewrite. ``readmodel`` writes them into
``StallEntry`` (about work: with its queue's key; about a case: with its key set's) as each
change commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy import cast as sql_cast

from app.models import (
    AuditEvent,
    Case,
    ProcessInstance,
    StepLimit,
    User,
    WaitingEvent,
    WorkItem,
)
from app.models.base import UTCDateTime, days_after
from app.services import settings
from app.services.supervision.keys import item_key, of_cases, set_keys

# The settings that set a reason's limit (days after the wait began); the review reason is listed
# a whole day after its date plus the stall days.
LIMITS = {
    "unclaimed": ("unclaimed_after_days", 0),
    "message_wait": ("message_wait_days", 0),
    "no_activity": ("idle_after_days", 0),
    "review_overdue": ("stall_after_days", 1),
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


def limits(bind: Any = None) -> dict[str, int]:
    """Days per reason with a set limit, from the municipality's settings."""
    values = settings.current(bind)
    return {reason: int(values[key]) + extra for reason, (key, extra) in LIMITS.items()}


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
    """Every candidate of the cases (all cases: None): about a piece of work, once, with its
    queue's key; about a case as a whole, once, with the key of the case's key set."""
    work = union_all(
        *(reader(days, case_ids).add_columns(item_key().label("scope_key")) for reader in WORK)
    ).subquery("work")
    whole = union_all(*(reader(days, case_ids) for reader in WHOLE)).subquery("whole")
    keys = set_keys(case_ids).subquery("keys")
    return union_all(
        select(work.c.scope_key, *(work.c[name] for name in COLUMNS)),
        select(keys.c.scope_key, *(whole.c[name] for name in COLUMNS)).join(
            keys, keys.c.case_id == whole.c.case_id
        ),
    )


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
        *of_cases(WorkItem.case_id, case_ids),
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
        *of_cases(ProcessInstance.case_id, case_ids),
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
        *of_cases(ProcessInstance.case_id, case_ids),
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
        *of_cases(WaitingEvent.case_id, case_ids),
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
        *of_cases(ProcessInstance.case_id, case_ids),
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
        *of_cases(Case.id, case_ids),
    )


# Candidates about a piece of work, and about a case as a whole.
WORK = (overdue_steps, unclaimed)
WHOLE = (errors, held, message_waits, idle, reviews)
