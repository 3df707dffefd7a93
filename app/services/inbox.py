"""The inbox listing: a page of the work items an actor may open, filtered, sorted and counted,
read from the work-item table on the indexes of the actor's access branches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Integer, Select, and_, bindparam, func, or_, select, union_all
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Case, Person, User, WorkItem
from app.models.base import utcnow
from app.services import access, audit, case_list, forms, queues
from app.services.errors import InvalidInput, NotFound

STATUSES = {"open", "completed", "cancelled"}


@dataclass
class ItemFilter:
    """What an inbox or API listing asks for."""

    queue: str | None = None
    assignee: str | None = None  # "me", "none", or a username
    status: str = "open"
    overdue: bool | None = None
    stage: str | None = None
    q: str | None = None  # case number (prefix) or words of the case title
    sort: str = "due"
    page: int = 1
    per_page: int = 25


SORT_KEYS = {
    "due": ("id", "due_at"),
    "priority": ("id", "priority", "due_at"),
    "newest": ("id", "created_at"),
    "oldest": ("id", "created_at"),
}
# Each order as a function of the columns it sorts (the table's, or a merged subquery's).
SORTS: dict[str, Callable[[Any], tuple[Any, ...]]] = {
    "due": lambda c: (c.due_at.asc().nulls_last(), c.id),
    "priority": lambda c: (c.priority.desc(), c.due_at.asc().nulls_last(), c.id),
    "newest": lambda c: (c.created_at.desc(), c.id.desc()),
    "oldest": lambda c: (c.created_at, c.id),
}


@dataclass
class ItemPage:
    items: list[WorkItem]
    total: int
    page: int
    per_page: int


def listing(
    actor: User, flt: ItemFilter, now: datetime | None = None, *, open_total: int | None = None
) -> ItemPage:
    """A page of the work items the actor may see, filtered; reads only the work-item table.

    ``open_total``: how many open items the actor may open, when the caller has just counted them
    (``overview.glance``, for the inbox's queue tabs); a listing of all open work then takes its
    total from there instead of counting the same rows again.
    """
    now = now or utcnow()
    if flt.status not in STATUSES:
        raise InvalidInput(
            _("状態の指定が正しくありません。"),
            fields={"status": _("open / completed / cancelled のいずれかです。")},
        )
    if flt.page < 1 or not 1 <= flt.per_page <= 100:
        raise InvalidInput(
            _("ページの指定が正しくありません。"), fields={"page": _("1以上、件数は1〜100です。")}
        )
    if actor.role in access.NO_CASE_CONTENT:
        return ItemPage(items=[], total=0, page=flt.page, per_page=flt.per_page)
    if flt.queue is not None and flt.queue not in queues.queues_of(actor):
        audit.record_alone(
            "work_item.list",
            "queue",
            flt.queue,
            actor,
            outcome="denied",
            detail={"queue": flt.queue},
        )
        raise NotFound(_("指定されたキューは見つかりません。"))
    other_id = None
    if flt.assignee not in (None, "", "me", "none"):
        other = db.session.scalar(select(User).where(User.username == flt.assignee))
        other_id = other.id if other else -1

    branches = tuple(access.work_item_branches(actor))
    shape = _Shape(
        queue=bool(flt.queue),
        assignee="other" if other_id is not None else flt.assignee or None,
        overdue=flt.overdue,
        stage=bool(flt.stage),
        sort=flt.sort,
    )
    # A search builds its condition from the words searched for; every other listing reuses the
    # statements built for the actor's standing and the filter's shape, and binds the values.
    built = _built(branches, shape, flt.q) if flt.q else _cached(branches, shape)
    offset = (flt.page - 1) * flt.per_page
    values = {
        "status": flt.status,
        "queue": flt.queue,
        "me": actor.id,
        "other": other_id,
        "now": now,
        "stage": flt.stage,
        "first": offset + flt.per_page,
        "offset": offset,
        "limit": flt.per_page,
    }
    unfiltered = flt.status == "open" and not (
        flt.queue or flt.assignee or flt.overdue is not None or flt.stage or flt.q
    )
    if not built:
        total = 0
    elif unfiltered and open_total is not None:
        total = open_total
    else:
        total = db.session.scalar(built.count, values) or 0
    items = list(db.session.scalars(built.page, values)) if built else []
    # Listings show case numbers and titles (personal data); a search term is personal data too.
    detail = {"count": len(items), "page": flt.page, "queue": flt.queue}
    if flt.q:
        detail["query"] = forms.normalise_search(flt.q)
    audit.record(
        "work_item.search" if flt.q else "work_item.list", "work_item", None, actor, detail=detail
    )
    audit.commit_read()
    return ItemPage(items=items, total=total, page=flt.page, per_page=flt.per_page)


@dataclass(frozen=True)
class _Shape:
    """Which of a listing's filters are in use (their values are bound when the statements run)."""

    queue: bool
    assignee: str | None  # "me", "none", "other" (a named colleague) or None
    overdue: bool | None
    stage: bool
    sort: str


@dataclass(frozen=True)
class _Statements:
    count: Select[Any]
    page: Select[Any]


def _narrow(stmt: Select[Any], shape: _Shape, q: str | None) -> Select[Any]:
    """The listing's own filters on top of what the actor may open."""
    stmt = stmt.where(WorkItem.status == bindparam("status"))
    if shape.queue:
        stmt = stmt.where(WorkItem.queue == bindparam("queue"))
    if shape.assignee == "me":
        stmt = stmt.where(WorkItem.assignee_id == bindparam("me"))
    elif shape.assignee == "none":
        stmt = stmt.where(WorkItem.assignee_id.is_(None))
    elif shape.assignee == "other":
        stmt = stmt.where(WorkItem.assignee_id == bindparam("other"))
    if shape.overdue is True:
        stmt = stmt.where(and_(WorkItem.due_at.is_not(None), WorkItem.due_at < bindparam("now")))
    elif shape.overdue is False:
        stmt = stmt.where(or_(WorkItem.due_at.is_(None), WorkItem.due_at >= bindparam("now")))
    if shape.stage or q:
        stmt = stmt.join(Case, Case.id == WorkItem.case_id)
    if shape.stage:
        stmt = stmt.where(Case.stage == bindparam("stage"))
    if q:
        stmt = _search(stmt, q)
    return stmt


def _built(branches: tuple[Any, ...], shape: _Shape, q: str | None) -> _Statements | None:
    """The count and the page of a listing, over the actor's access branches.

    Counted branch by branch (disjoint), each on its own index. For the page, each branch gives
    its first ``offset + limit`` ids in the chosen order (on its own index), the page is taken from
    their union, and its rows come with their assignees in the same statement.
    """
    if not branches:
        return None
    counts = [
        select(func.count())
        .select_from(_narrow(select(WorkItem.id).where(branch), shape, q).subquery())
        .scalar_subquery()
        for branch in branches
    ]
    order = SORTS[shape.sort]
    keys = [getattr(WorkItem, name) for name in SORT_KEYS[shape.sort]]
    # Each branch's first rows, wrapped as a subquery (SQLite takes no ORDER BY inside a UNION).
    firsts = [
        _narrow(select(*keys).where(branch), shape, q)
        .order_by(*order(WorkItem))
        .limit(bindparam("first", type_=Integer))
        .subquery()
        for branch in branches
    ]
    merged = union_all(*[select(*first.c) for first in firsts]).subquery()
    chosen = (
        select(merged.c.id)
        .order_by(*order(merged.c))
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
        .subquery()
    )
    page = (
        select(WorkItem)
        .join(chosen, chosen.c.id == WorkItem.id)
        .options(joinedload(WorkItem.assignee))
        .order_by(*order(WorkItem))
    )
    return _Statements(count=select(sum(counts[1:], counts[0])), page=page)


@lru_cache(maxsize=512)
def _cached(branches: tuple[Any, ...], shape: _Shape) -> _Statements | None:
    """``_built`` once per standing and shape: building and keying these statements costs more
    than running them on the hot path (the branches are ``access``'s own cached objects)."""
    return _built(branches, shape, None)


def _search(stmt: Select[Any], query: str) -> Select[Any]:
    """Match a case number (prefix), words of the case title, or the person's name or kana."""
    condition = case_list.matches(query)
    if condition is None:
        return stmt
    return stmt.outerjoin(Person, Person.id == Case.person_id).where(condition)
