"""The work queue: list, claim, release, reassign, save drafts and complete work items."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Integer, Select, and_, bindparam, func, or_, select, union_all, update
from sqlalchemy.orm import joinedload

from app.engine.runtime import TaskNotReady
from app.extensions import db
from app.models import Case, FormSubmission, Person, ProcessInstance, User, WorkItem
from app.models.base import utcnow
from app.services import (
    access,
    audit,
    case_list,
    case_progress,
    consent,
    definitions,
    form_words,
    forms,
    instances,
    metrics,
    queues,
)
from app.services.errors import Conflict, Forbidden, InvalidInput, NotFound, ProcessFailure

SUPERVISOR_ROLES = {"supervisor"}
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


def get(item_id: int, actor: User) -> WorkItem:
    """A work item the actor may see; others get NotFound (no hint that it exists)."""
    item = db.session.get(WorkItem, item_id)
    if item is None or not access.may_work_on(actor, item):
        known = item.case_id if item is not None else None
        audit.record_alone(
            "work_item.view", "work_item", item_id, actor, outcome="denied", case_id=known
        )
        raise NotFound(_("指定されたタスクは見つかりません。"))
    return item


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


def view(item_id: int, actor: User) -> WorkItem:
    """Open a work item to read it (its case's title and any draft are personal data): audited."""
    item = get(item_id, actor)
    audit.record("work_item.view", "work_item", item.id, actor, case_id=item.case_id)
    audit.commit_read()
    return item


def _search(stmt: Select[Any], query: str) -> Select[Any]:
    """Match a case number (prefix), words of the case title, or the person's name or kana."""
    condition = case_list.matches(query)
    if condition is None:
        return stmt
    return stmt.outerjoin(Person, Person.id == Case.person_id).where(condition)


def claim(item_id: int, actor: User) -> WorkItem:
    """Take an open item; a second person claiming it gets a Conflict."""
    item = get(item_id, actor)
    _require_open(item)
    if item.assignee_id == actor.id:
        return item
    taken = db.session.execute(
        update(WorkItem)
        .where(WorkItem.id == item.id, WorkItem.status == "open", WorkItem.assignee_id.is_(None))
        .values(assignee_id=actor.id, claimed_at=utcnow())
    )
    if taken.rowcount != 1:
        db.session.rollback()
        raise Conflict(_("このタスクはすでに他の職員が担当しています。"))
    audit.record("work_item.claim", "work_item", item.id, actor, case_id=item.case_id)
    db.session.commit()
    db.session.refresh(item)
    return item


def release(item_id: int, actor: User) -> WorkItem:
    """Give an item back to its queue (its assignee or a supervisor)."""
    item = get(item_id, actor)
    _require_open(item)
    if item.assignee_id != actor.id and actor.role not in SUPERVISOR_ROLES:
        _refuse("work_item.release", item, actor)
        raise Forbidden(_("担当者本人かスーパーバイザーだけが担当を外せます。"))
    item.assignee_id = None
    item.claimed_at = None
    audit.record("work_item.release", "work_item", item.id, actor, case_id=item.case_id)
    db.session.commit()
    return item


def reassign(item_id: int, actor: User, username: str) -> WorkItem:
    """A supervisor hands an item to a named member of its queue."""
    item = get(item_id, actor)
    _require_open(item)
    if actor.role not in SUPERVISOR_ROLES:
        _refuse("work_item.reassign", item, actor)
        raise Forbidden(_("担当の割り振りはスーパーバイザーだけが行えます。"))
    target = db.session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if target is None or not access.may_work_on(target, item):
        _refuse("work_item.reassign", item, actor, {"to": username})
        raise InvalidInput(
            _("割り振り先の職員が見つからないか、このキューの担当ではありません。"),
            fields={"assignee": _("職員を選び直してください。")},
        )
    before = item.assignee_id
    item.assignee_id = target.id
    item.claimed_at = utcnow()
    audit.record(
        "work_item.reassign",
        "work_item",
        item.id,
        actor,
        case_id=item.case_id,
        detail={"from": before, "to": target.id},
    )
    db.session.commit()
    return item


def candidates(item: WorkItem) -> list[User]:
    """Who a supervisor may hand the item to: members of its queue who could open it."""
    return [user for user in queues.members(item.queue) if access.may_work_on(user, item)]


def save_draft(item_id: int, actor: User, data: dict[str, Any]) -> WorkItem:
    """Keep what the user typed without validating it or advancing the process."""
    item = get(item_id, actor)
    _require_open(item)
    _require_workable(item, actor)
    forms.validate_draft(form_schema(item), data)
    item.draft = data
    db.session.commit()
    return item


def complete(
    item_id: int,
    actor: User,
    data: dict[str, Any],
    now: datetime | None = None,
    override: tuple[str, str] | None = None,
) -> WorkItem:
    """Validate the form data, complete the engine task and run on; all in one transaction."""
    now = now or utcnow()
    item = get(item_id, actor)
    _require_open(item)
    _require_workable(item, actor)
    instance = db.session.get(ProcessInstance, item.instance_id)
    instances.require_not_held(instance)
    schema = form_schema(item)
    forms.validate(schema, data)
    case = db.session.get(Case, item.case_id) if item.case_id is not None else None
    if case is not None:
        consent.check_share(case, item, data, actor, schema, override)
    run = instances.resume(instance)
    try:
        with instances.engine_errors():
            try:
                run.complete(item.task_id, data)
            except TaskNotReady as exc:
                db.session.rollback()
                raise Conflict(_("このタスクはすでに完了しているか、取り消されています。")) from exc
    except ProcessFailure as exc:
        # The step after this task failed in the engine: nothing advanced, what was typed is kept
        # as the task's draft, and the instance is marked in error for supervisors to see.
        instances.mark_failed(instance.id, exc.message, draft=(item.id, data), actor=actor)
        raise ProcessFailure(
            _("%(why)s 入力は下書きとして残し、係長・課長に知らせました。", why=exc.message)
        ) from exc
    with instances.saving():
        item.status = "completed"
        item.completed_at = now
        item.completed_by_id = actor.id
        item.assignee_id = item.assignee_id or actor.id
        item.draft = None
        db.session.add(
            FormSubmission(
                work_item_id=item.id,
                instance_id=instance.id,
                case_id=item.case_id,
                definition_id=instance.definition_id,
                element_id=item.element_id,
                form_key=item.form_key,
                data=data,
                submitted_by_id=actor.id,
                submitted_at=now,
            )
        )
        if case is not None:
            properties = run.properties_of(item.element_id, item.process_key)
            words = form_words.choice_labels(schema, data)
            case_progress.on_submission(case, item.element_id, data, properties, actor, words)
        instances.persist(instance, run, now=now)
        if case is not None:  # last, so that one UPDATE of the case carries it with the stage
            case.last_recorded_at = max(filter(None, (case.last_recorded_at, now)))
        audit.record(
            "work_item.complete",
            "work_item",
            item.id,
            actor,
            case_id=item.case_id,
            detail={"element": item.element_id},
        )
    metrics.COMPLETIONS.labels(item.element_id).inc()
    return item


def _refuse(action: str, item: WorkItem, actor: User, detail: dict[str, Any] | None = None) -> None:
    audit.record_alone(
        action, "work_item", item.id, actor, outcome="denied", case_id=item.case_id, detail=detail
    )


def form_schema(item: WorkItem) -> dict[str, Any]:
    """The JSON Schema of the item's form, from the definition version its instance runs."""
    instance = db.session.get(ProcessInstance, item.instance_id)
    return forms.with_pickers(definitions.form_of(instance, item))


def _require_open(item: WorkItem) -> None:
    if item.status == "completed":
        raise Conflict(_("このタスクはすでに完了しています。"))
    if item.status != "open":
        raise Conflict(_("このタスクは取り消されています。"))


def _require_workable(item: WorkItem, actor: User) -> None:
    if item.assignee_id is not None and item.assignee_id != actor.id:
        name = db.session.get(User, item.assignee_id)
        if name is None:
            raise Conflict(_("このタスクはすでに他の職員が担当しています。"))
        raise Conflict(_("このタスクは%(name)sさんが担当しています。", name=name.display_name))
