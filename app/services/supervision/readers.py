"""The SQL of the stalled list: one statement lists a page of every reason in lateness order
together with the counts per reason.

The rows come from the read model ``stalls`` keeps (``StallEntry``: what is or will be late, per
scope key of its case), read on one covering index by the keys the supervisor oversees and
``stalled_at <= now``; rows whose case is in scope only through an agency's queue or 支援会議
material are asked of ``access.case_filter``. Escalations (one supervisor to another) are read as
they are, for the cases the receiver may open. Only what the counts and the order need is
gathered for every row; the page's own rows are then joined to the rest."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Select,
    String,
    case,
    false,
    func,
    literal,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Case, Escalation, StallEntry, User, WorkItem
from app.services import access, memo
from app.services.supervision import keys
from app.services.supervision.view import NEW_SINCE, NOW, Frame, built

REASONS = (
    "error",
    "held",
    "escalated",
    "overdue_step",
    "unclaimed",
    "message_wait",
    "review_overdue",
    "no_activity",
)
# Reasons about one piece of work (the rest are about a case as a whole, and have no worker).
ITEM_REASONS = ("overdue_step", "unclaimed")
Entry = StallEntry
# The escalation's work item, if it named one.
EscalatedItem = aliased(WorkItem, name="escalated_item")


def _fresh(condition: Any) -> Any:
    """Whether it became stuck in the last 24 hours (the daily digest, the page's 「新しく」)."""
    return case((condition, 1), else_=0)


def _stalls(frame: Frame) -> tuple[list[Select[Any]], list[Select[Any]]]:
    """The read model's rows in view and late now, each once: (about work, about a case as a
    whole)."""
    fresh = case(
        (Entry.reason == "held", false()),
        (Entry.reason == "error", Entry.fresh_at > NEW_SINCE),
        else_=Entry.stalled_at > NEW_SINCE,
    )
    columns = [
        Entry.reason,
        Entry.source_id,
        Entry.case_id,
        Entry.stalled_at,
        Entry.item_id,
        _fresh(fresh).label("fresh"),
        Entry.id.label("entry_id"),
    ]
    conditions = [Entry.stalled_at <= NOW]
    if frame.worker_id is not None:
        conditions += [Entry.reason.in_(ITEM_REASONS), Entry.assignee_id == frame.worker_id]
    return keys.keyed(frame, Entry, columns, *conditions)


def escalated(frame: Frame) -> Select[Any]:
    """Cases other supervisors handed to this one, not yet marked dealt with (of the cases the
    receiver may open)."""
    conditions = [
        Escalation.to_user_id == frame.actor.id,
        Escalation.resolved_at.is_(None),
        Escalation.case_id.in_(select(Case.id).where(access.case_filter(frame.actor))),
    ]
    if frame.worker_id is not None:
        conditions.append(EscalatedItem.assignee_id == frame.worker_id)
    return (
        select(
            literal("escalated", String(20)).label("reason"),
            Escalation.id.label("source_id"),
            Escalation.case_id,
            Escalation.created_at.label("stalled_at"),
            Escalation.work_item_id.label("item_id"),
            _fresh(Escalation.created_at > NEW_SINCE).label("fresh"),
            sql_cast(null(), Entry.id.type).label("entry_id"),
        )
        .outerjoin(EscalatedItem, EscalatedItem.id == Escalation.work_item_id)
        .where(*conditions)
    )


def statement(
    frame: Frame, chosen: list[str], stage: str | None, first: int, last: int
) -> tuple[Select[Any], dict[str, Any]]:
    """The statement for a page of the list and the counts above it, with its parameters. Built
    once per standing of the supervisor (what ``access`` and their scope depend on) and filter
    shape: building it costs more than running it."""
    handed = _handed_to(frame.actor.id)
    shape = ("stalled", keys.shape(frame), handed, tuple(chosen), stage, first, last)
    stmt = built(shape, lambda: _build(frame, chosen, stage, first, last, handed))
    return stmt, keys.bound(frame)


def _at_stage(stmt: Select[Any], rows: Any, stage: str | None) -> Select[Any]:
    """Narrowed to the cases at one stage, when a stage is chosen."""
    if not stage:
        return stmt
    return stmt.where(rows.c.case_id.in_(select(Case.id).where(Case.stage == stage)))


def _handed_to(user_id: int) -> bool:
    """Whether another supervisor has handed this one a case not yet dealt with (without any, the
    statement leaves that part, with its access conditions, out)."""
    return memo.remembered(
        ("handed to", user_id),
        lambda: (
            db.session.scalar(
                select(Escalation.id)
                .where(Escalation.to_user_id == user_id, Escalation.resolved_at.is_(None))
                .limit(1)
            )
            is not None
        ),
        Escalation,
    )


def _build(
    frame: Frame, chosen: list[str], stage: str | None, first: int, last: int, handed: bool
) -> Select[Any]:
    """One statement for a page of the list and the counts above it. The stalls in view are
    gathered once, each once (every row carries one key); from them come one row of counts
    (``n_<reason>`` per reason, ``fresh_count``) and, joined to it, the rows ``first``..``last``
    of the chosen reasons in lateness order (none: one row of counts alone)."""
    work, whole = _stalls(frame)
    arms = [*work, *whole]
    if handed or not arms:
        arms.append(escalated(frame))
    once = union_all(*arms).subquery("once")
    each = _at_stage(select(once), once, stage)
    if frame.new_only:
        each = each.where(once.c.fresh == 1)
    listed = each.cte("stalled").prefix_with("MATERIALIZED")
    counts = select(
        *(func.count().filter(listed.c.reason == key).label(f"n_{key}") for key in REASONS),
        func.coalesce(func.sum(listed.c.fresh), 0).label("fresh_count"),
    ).subquery("counts")
    top = (
        select(listed)
        .where(listed.c.reason.in_(chosen))
        .order_by(listed.c.stalled_at, listed.c.case_id, listed.c.item_id)
        .limit(last - first + 1)
        .offset(first - 1)
        .subquery("top")
    )
    return (
        select(counts, *_page_columns(top))
        .select_from(counts.outerjoin(_page(top), true()))
        .order_by(top.c.stalled_at, top.c.case_id, top.c.item_id)
    )


# The page's rows, joined to what they show: the entry (or escalation), the case, the worker.
_escalation = aliased(Escalation, name="page_escalation")
_escalated_item = aliased(WorkItem, name="page_escalated_item")
_sender = aliased(User, name="sender")
_assignee = aliased(User, name="assignee")
_entry = aliased(StallEntry, name="page_entry")


def _page(top: Any) -> Any:
    return (
        top.join(Case, Case.id == top.c.case_id)
        .outerjoin(_entry, _entry.id == top.c.entry_id)
        .outerjoin(_escalation, (top.c.reason == "escalated") & (_escalation.id == top.c.source_id))
        .outerjoin(_escalated_item, _escalated_item.id == _escalation.work_item_id)
        .outerjoin(_sender, _sender.id == _escalation.from_user_id)
        .outerjoin(
            _assignee,
            _assignee.id == func.coalesce(_entry.assignee_id, _escalated_item.assignee_id),
        )
    )


def _page_columns(top: Any) -> list[Any]:
    return [
        top.c.reason,
        top.c.case_id,
        top.c.stalled_at,
        func.coalesce(_entry.since, _escalation.created_at).label("since"),
        func.coalesce(_entry.place, _escalated_item.title).label("place"),
        top.c.item_id,
        func.coalesce(_entry.queue, _escalated_item.queue).label("queue"),
        func.coalesce(_entry.assignee_id, _escalated_item.assignee_id).label("assignee_id"),
        func.coalesce(_entry.instance_id, _escalated_item.instance_id).label("instance_id"),
        func.coalesce(
            _entry.detail, _sender.display_name + literal(": ") + _escalation.reason
        ).label("detail"),
        _escalation.id.label("ref_id"),
        top.c.fresh,
        Case.number,
        Case.title,
        Case.stage,
        _assignee.display_name,
    ]
