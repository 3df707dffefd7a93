"""The work queue: open, claim, release, reassign, save drafts and complete work items (the inbox
listing is ``inbox``)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, NoReturn

from flask_babel import gettext as _
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import defer, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.engine.runtime import TaskNotReady
from app.extensions import db
from app.models import Case, FormSubmission, ProcessDefinition, ProcessInstance, User, WorkItem
from app.models.base import utcnow
from app.sent_together import Together
from app.services import (
    access,
    audit,
    case_progress,
    consent,
    definitions,
    form_words,
    forms,
    instance_batch,
    instances,
    metrics,
    queues,
)
from app.services.errors import Conflict, Forbidden, InvalidInput, NotFound, ProcessFailure
from app.services.supervision import readmodel

_BOUND = ("completed_at", "completed_by_id", "assignee_id")
_SUBMISSION_INSERT = insert(FormSubmission.__table__).inline()
_ITEM = WorkItem.__table__
# Completing an item changes it only if it is still open: two hands completing it at once, the
# second changes nothing (a Conflict).
_MARK_COMPLETED = (
    update(_ITEM)
    .where(_ITEM.c.id == bindparam("b_id"), _ITEM.c.status == "open")
    .values(
        status="completed",
        completed_at=bindparam("b_completed_at"),
        completed_by_id=bindparam("b_completed_by_id"),
        assignee_id=bindparam("b_assignee_id"),
        draft=None,
    )
)

SUPERVISOR_ROLES = {"supervisor"}


def get(item_id: int, actor: User) -> WorkItem:
    """A work item the actor may see; others get NotFound (no hint that it exists)."""
    item, allowed = access.work_item_and_access(actor, item_id)
    if item is None or not allowed:
        _unseen(item_id, item, actor)
    return item


def _unseen(item_id: int, item: WorkItem | None, actor: User) -> NoReturn:
    known = item.case_id if item is not None else None
    audit.record_alone(
        "work_item.view", "work_item", item_id, actor, outcome="denied", case_id=known
    )
    raise NotFound(_("指定されたタスクは見つかりません。"))


@lru_cache(maxsize=512)
def _for_step(standing: access.Standing | None) -> Any:
    """An item with whether an actor of this standing may open it (``access.may_open_item``),
    its instance with the instance's definition (without its diagram and forms: the parsed
    diagram and the forms' texts are cached by content; the columns are read only when the cache
    lacks them) and the item's case, in one statement (built once a standing)."""
    return (
        select(WorkItem, access.may_open_item(standing), ProcessInstance, Case)
        .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
        .outerjoin(Case, Case.id == WorkItem.case_id)
        .where(WorkItem.id == bindparam("item_id"))
        .options(
            joinedload(ProcessInstance.definition).options(
                defer(ProcessDefinition.bpmn_xml), defer(ProcessDefinition.forms)
            )
        )
    )


def view(item_id: int, actor: User) -> WorkItem:
    """Open a work item to read it (its case's title and any draft are personal data): audited."""
    item = get(item_id, actor)
    audit.record("work_item.view", "work_item", item.id, actor, case_id=item.case_id)
    audit.commit_read()
    return item


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
    readmodel.touch(db.session, item.case_id)  # no longer unclaimed (set in SQL, not by the flush)
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
    row = db.session.execute(_for_step(access.standing_of(actor)), {"item_id": item_id}).first()
    if row is None or not row[1]:
        _unseen(item_id, row[0] if row is not None else None, actor)
    item, _allowed, instance, case = row
    _require_open(item)
    _require_workable(item, actor)
    instances.require_not_held(instance)
    schema = form_schema(item, data)
    forms.validate(schema, data)
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
    with instances.saving(keep_loaded=True):  # the answer shows the item as completed
        # What nothing reads back in this request is written as rows, one statement a table,
        # sent together at the end: first the item itself, completed only if still open.
        writes = instance_batch.Loaded()
        _mark_completed(item, actor, now, writes.together)
        submission = {
            "work_item_id": item.id,
            "instance_id": instance.id,
            "case_id": item.case_id,
            "definition_id": instance.definition_id,
            "element_id": item.element_id,
            "form_key": item.form_key,
            "data": data,
            "submitted_by_id": actor.id,
            "submitted_at": now,
        }
        writes.together.add(_SUBMISSION_INSERT, [submission])
        if case is not None:
            properties = run.properties_of(item.element_id, item.process_key)
            words = form_words.choice_labels(schema, data)
            case_progress.on_submission(case, item.element_id, data, properties, actor, words)
        instances.persist(instance, run, now=now, done_task=item.task_id, writes=writes)
        if case is not None:  # last, so that one UPDATE of the case carries it with the stage
            case.last_recorded_at = max(filter(None, (case.last_recorded_at, now)))
            writes.together.update_loaded(case)
        audit.record(
            "work_item.complete",
            "work_item",
            item.id,
            actor,
            case_id=item.case_id,
            detail={"element": item.element_id},
            into=writes.audits,
        )
        instance_batch.write(writes)
    metrics.COMPLETIONS.labels(item.element_id).inc()
    return item


def _mark_completed(item: WorkItem, actor: User, now: datetime, together: Together) -> None:
    """Queue the item's completion, which changes it only if it is still open (otherwise the
    whole is a Conflict, nothing saved); the object shows it completed from now on, as if loaded
    so (the flush does not write it again, and a read of the instance's open items before the
    writes are sent tells it apart by its status)."""
    done = {
        "status": "completed",
        "completed_at": now,
        "completed_by_id": actor.id,
        "assignee_id": item.assignee_id or actor.id,
        "draft": None,
    }
    row = {"b_id": item.id} | {f"b_{name}": done[name] for name in _BOUND}
    together.add(_MARK_COMPLETED, [row], expect=1)
    for name, value in done.items():
        set_committed_value(item, name, value)
    readmodel.touch(db.session, item.case_id)  # the flush does not see this change


def _refuse(action: str, item: WorkItem, actor: User, detail: dict[str, Any] | None = None) -> None:
    audit.record_alone(
        action, "work_item", item.id, actor, outcome="denied", case_id=item.case_id, detail=detail
    )


def form_schema(item: WorkItem, data: Any = None) -> dict[str, Any]:
    """The JSON Schema of the item's form, from the definition version its instance runs.
    ``data``: the schema is for checking this submission (choices only for the fields it has)."""
    instance = db.session.get(ProcessInstance, item.instance_id)
    present = forms.keys_in(data) if isinstance(data, dict) else None
    return forms.with_pickers(definitions.form_of(instance, item), present)


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
