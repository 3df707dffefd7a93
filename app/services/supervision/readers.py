"""The SQL of the stalled list: one SELECT per reason, all with the same columns, so that one
statement lists a page of every reason in lateness order together with the counts per reason.

Each reader reads its own candidates on an index (open work in the supervisor's queues, instances by
progress, waiting events by kind and time, cases by review date, holds, escalations) and gives, per
row, the moment it became stuck (``stalled_at``). Which of those rows the supervisor may see is
decided once for the statement, by ``in_view`` (the cases of their scope that ``access`` lets them
open)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import aliased

from app.models import (
    AuditEvent,
    Case,
    Escalation,
    ProcessInstance,
    StepLimit,
    User,
    WaitingEvent,
    WorkItem,
)
from app.models.base import UTCDateTime, days_after
from app.services.supervision.view import Frame, Item, in_view

# The listed work item, apart from the work items the scope conditions look into.


def _columns(
    frame: Frame,
    reason: str,
    case_id: Any,
    stalled_at: Any,
    since: Any,
    where: Any = None,
    item: Any = None,
    instance_id: Any = None,
    detail: Any = None,
    ref_id: Any = None,
    fresh: Any = None,
) -> list[Any]:
    def nothing(kind: Any) -> Any:
        return sql_cast(null(), kind)

    return [
        literal(reason, String(20)).label("reason"),
        case_id.label("case_id"),
        type_coerce(stalled_at, UTCDateTime()).label("stalled_at"),
        type_coerce(since, UTCDateTime()).label("since"),
        (where if where is not None else nothing(String(255))).label("place"),
        (item.id if item is not None else nothing(WorkItem.id.type)).label("item_id"),
        (item.queue if item is not None else nothing(String(80))).label("queue"),
        (item.assignee_id if item is not None else nothing(WorkItem.id.type)).label("assignee_id"),
        (instance_id if instance_id is not None else nothing(WorkItem.id.type)).label(
            "instance_id"
        ),
        (detail if detail is not None else nothing(String(1000))).label("detail"),
        (ref_id if ref_id is not None else nothing(WorkItem.id.type)).label("ref_id"),
        # Whether it became stuck in the last 24 hours (the daily digest, the page's 「新しく」).
        case((fresh if fresh is not None else stalled_at > frame.new_since, 1), else_=0).label(
            "fresh"
        ),
    ]


def _queues(frame: Frame) -> ColumnElement[bool]:
    """Work in the queues the supervisor oversees (the ones they can act on), or the filter's one."""
    if frame.queue:
        return Item.queue == frame.queue
    return Item.queue.in_(sorted(frame.scope.queues)) if frame.scope.queues else Item.id.is_(None)


def _items(frame: Frame, *conditions: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    found = [
        Item.status == "open",
        _queues(frame),
        Item.instance_id.not_in(_held()),
        *conditions,
    ]
    if frame.worker_id is not None:
        found.append(Item.assignee_id == frame.worker_id)
    return found


def _held() -> Select[tuple[int]]:
    """The instances a supervisor holds: their work and waits are listed as held, not as late."""
    return select(ProcessInstance.id).where(ProcessInstance.held_at.is_not(None))


def overdue_steps(frame: Frame) -> Select[Any]:
    """Open work past its limit: the municipality's step limit, else the task's due date."""
    deadline = case(
        (StepLimit.days.is_not(None), days_after(Item.created_at, StepLimit.days)),
        else_=Item.due_at,
    )
    return (
        select(
            *_columns(
                frame,
                "overdue_step",
                Item.case_id,
                deadline,
                Item.created_at,
                Item.title,
                Item,
                Item.instance_id,
            )
        )
        .select_from(Item)
        .outerjoin(
            StepLimit,
            and_(
                StepLimit.process_key == Item.process_key,
                StepLimit.element_id == Item.element_id,
            ),
        )
        .where(*_items(frame, deadline < frame.now))
    )


def unclaimed(frame: Frame) -> Select[Any]:
    days = frame.limits["unclaimed"]
    return select(
        *_columns(
            frame,
            "unclaimed",
            Item.case_id,
            days_after(Item.created_at, days),
            Item.created_at,
            Item.title,
            Item,
            Item.instance_id,
        )
    ).where(
        *_items(
            frame, Item.assignee_id.is_(None), Item.created_at < frame.now - timedelta(days=days)
        ),
    )


def escalated(frame: Frame) -> Select[Any]:
    """Cases other supervisors handed to this one, not yet marked dealt with."""
    sender = aliased(User, name="sender")
    conditions = [
        Escalation.to_user_id == frame.actor.id,
        Escalation.resolved_at.is_(None),
    ]
    if frame.worker_id is not None:
        conditions.append(Item.assignee_id == frame.worker_id)
    return (
        select(
            *_columns(
                frame,
                "escalated",
                Escalation.case_id,
                Escalation.created_at,
                Escalation.created_at,
                Item.title,
                Item,
                Item.instance_id,
                sender.display_name + literal(": ") + Escalation.reason,
                Escalation.id,
            )
        )
        .join(sender, sender.id == Escalation.from_user_id)
        .outerjoin(Item, Item.id == Escalation.work_item_id)
        .where(*conditions)
    )


def _case_level(frame: Frame) -> bool:
    """Reasons about a case as a whole have no worker: a worker filter leaves them out."""
    return frame.worker_id is None


def errors(frame: Frame) -> Select[Any] | None:
    if not _case_level(frame):
        return None
    failed = [
        ProcessInstance.error.is_not(None),
        ProcessInstance.status != "completed",
    ]
    # An error is new when the engine last failed on it lately (its progress time does not move).
    fresh = exists().where(
        AuditEvent.action == "process.error",
        AuditEvent.object_type == "process_instance",
        AuditEvent.object_id == sql_cast(ProcessInstance.id, String),
        AuditEvent.at > frame.new_since,
    )
    return select(
        *_columns(
            frame,
            "error",
            ProcessInstance.case_id,
            ProcessInstance.last_progress_at,
            ProcessInstance.last_progress_at,
            instance_id=ProcessInstance.id,
            detail=ProcessInstance.error,
            fresh=fresh,
        )
    ).where(*failed)


def held(frame: Frame) -> Select[Any] | None:
    if not _case_level(frame):
        return None
    holder = aliased(User, name="holder")
    return (
        select(
            *_columns(
                frame,
                "held",
                ProcessInstance.case_id,
                ProcessInstance.held_at,
                ProcessInstance.held_at,
                ProcessInstance.hold_reason,
                instance_id=ProcessInstance.id,
                detail=holder.display_name,
                fresh=false(),  # a supervisor's own decision, never a new stall
            )
        )
        .outerjoin(holder, holder.id == ProcessInstance.held_by_id)
        .where(
            ProcessInstance.held_at.is_not(None),
            ProcessInstance.status != "completed",
        )
    )


def message_waits(frame: Frame) -> Select[Any] | None:
    if not _case_level(frame):
        return None
    days = frame.limits["message"]
    return select(
        *_columns(
            frame,
            "message_wait",
            WaitingEvent.case_id,
            days_after(WaitingEvent.since, days),
            WaitingEvent.since,
            WaitingEvent.name,
            instance_id=WaitingEvent.instance_id,
        )
    ).where(
        WaitingEvent.kind == "message",
        WaitingEvent.since < frame.now - timedelta(days=days),
        WaitingEvent.instance_id.not_in(_held()),
    )


def idle(frame: Frame) -> Select[Any] | None:
    """Open cases whose process has not moved for the idle days (errors and holds are their own)."""
    if not _case_level(frame):
        return None
    days = frame.limits["idle"]
    progress = ProcessInstance.last_progress_at
    return select(
        *_columns(
            frame,
            "no_activity",
            ProcessInstance.case_id,
            days_after(progress, days),
            progress,
            instance_id=ProcessInstance.id,
        )
    ).where(
        ProcessInstance.status.in_(("running", "waiting")),
        progress < frame.now - timedelta(days=days),
        ProcessInstance.error.is_(None),
        ProcessInstance.held_at.is_(None),
        # Of an open case: asked as "none of the few others" (on the status index), which
        # reads far fewer rows than joining every open case.
        ~exists().where(
            Case.id == ProcessInstance.case_id, Case.status.in_(("interrupted", "closed"))
        ),
    )


def reviews(frame: Frame) -> Select[Any] | None:
    """The latest plan's review date passed (by the stall days) with nothing recorded since: both
    kept on the case (``review_due_on``, ``last_recorded_at``), read on the review date's index."""
    if not _case_level(frame):
        return None
    days = frame.limits["stall"] + 1  # listed a whole day after the review date plus the stall days
    cutoff = (frame.now - timedelta(days=days - 1)).date()
    review_began = days_after(Case.review_due_on, 0)
    return select(
        *_columns(
            frame,
            "review_overdue",
            Case.id,
            days_after(Case.review_due_on, days),
            review_began,
        )
    ).where(
        Case.review_due_on < cutoff,
        Case.status == "open",
        or_(Case.last_recorded_at.is_(None), Case.last_recorded_at < review_began),
    )


READERS = {
    "error": errors,
    "held": held,
    "escalated": escalated,
    "overdue_step": overdue_steps,
    "unclaimed": unclaimed,
    "message_wait": message_waits,
    "review_overdue": reviews,
    "no_activity": idle,
}


def statement(
    frame: Frame, chosen: list[str], stage: str | None, first: int, last: int
) -> Select[Any]:
    """One statement for a page of the list and the counts above it. Every reason's rows in view
    are gathered once (the set of cases in view computed once, joined once); from them come one
    row of counts (``n_<reason>`` per reason, ``fresh_count``) and, joined to it, the rows
    ``first``..``last`` of the chosen reasons in lateness order (none: one row of counts alone)."""
    view = in_view(frame).cte("in_view").prefix_with("MATERIALIZED")
    parts = [stmt for key in READERS if (stmt := READERS[key](frame)) is not None]
    union_of = parts[0] if len(parts) == 1 else parts[0].union_all(*parts[1:])
    rows = union_of.subquery("candidates")
    conditions = []
    if frame.new_only:
        conditions.append(rows.c.fresh == 1)
    if stage:
        conditions.append(
            rows.c.case_id.in_(
                select(Case.id).where(Case.id == rows.c.case_id, Case.stage == stage)
            )
        )
    listed = (
        select(rows)
        .join(view, view.c[0] == rows.c.case_id)
        .where(*conditions)
        .cte("stalled")
        .prefix_with("MATERIALIZED")
    )
    counts = select(
        *(func.count().filter(listed.c.reason == key).label(f"n_{key}") for key in READERS),
        func.coalesce(func.sum(listed.c.fresh), 0).label("fresh_count"),
    ).subquery("counts")
    assignee = aliased(User, name="assignee")
    order = (listed.c.stalled_at, listed.c.case_id, listed.c.item_id)
    top = (
        select(listed)
        .where(listed.c.reason.in_(chosen))
        .order_by(*order)
        .limit(last - first + 1)
        .offset(first - 1)
        .subquery("top")
    )
    # The page's own rows only are joined to their case and worker.
    page = (
        select(top, Case.number, Case.title, Case.stage, assignee.display_name)
        .join(Case, Case.id == top.c.case_id)
        .outerjoin(assignee, assignee.id == top.c.assignee_id)
        .subquery("page")
    )
    return (
        select(counts, page)
        .select_from(counts.outerjoin(page, true()))
        .order_by(page.c.stalled_at, page.c.case_id, page.c.item_id)
    )
