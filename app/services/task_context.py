"""What a person needs beside a task to decide it: earlier records of the case shown read-only
(the plan a conference reviews, the revision points a new plan answers, the intake behind the first
assessment), and answers carried forward into the form.

Both are declared on the task in its diagram, never named here: ``showForms`` lists form keys whose
latest submission on the case is shown, ``prefillFrom`` names the forms whose latest answers start
the task's own form (the first that has a record), ``showOpenWork`` shows the case's other open tasks (what a supervisor checks
when a case stalls). The intake (the process's start form) is the case's 相談受付・申込票.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from app.extensions import db
from app.models import Agency, Case, FormSubmission, Group, ProcessInstance, User, WorkItem
from app.services import access, definitions, form_i18n, form_words, forms, queues

Row = tuple[str, Any]  # (label, text) or (label, list of rows)


@dataclass
class ShownRecord:
    """One earlier record of the case, as the task page shows it."""

    title: str
    at: Any
    rows: list[Row]


def _properties(item: WorkItem) -> dict[str, str]:
    return definitions.task_properties(item)


def _keys(value: str | None) -> list[str]:
    return [key.strip() for key in (value or "").split(",") if key.strip()]


def _latest(case: Case, form_key: str) -> tuple[dict[str, Any], dict[str, Any], Any] | None:
    """(schema, data, when) of the latest record of ``form_key`` on the case."""
    instance = db.session.scalar(
        select(ProcessInstance)
        .where(ProcessInstance.case_id == case.id)
        .order_by(ProcessInstance.id.desc())
        .limit(1)
    )
    if instance is None:
        return None
    start_form = instance.definition.start_form
    if form_key == start_form:
        schema = instance.definition.forms.get(form_key) or {}
        return forms.with_pickers(schema), dict(case.intake or {}), case.created_at
    # 支援会議 material is never shown beside another task, whatever a diagram declares.
    sub = db.session.scalar(
        select(FormSubmission)
        .outerjoin(WorkItem, WorkItem.id == FormSubmission.work_item_id)
        .where(
            FormSubmission.case_id == case.id,
            FormSubmission.form_key == form_key,
            or_(WorkItem.id.is_(None), WorkItem.council_material.is_(False)),
        )
        .order_by(FormSubmission.id.desc())
        .limit(1)
    )
    if sub is None:
        return None
    schema = forms.with_pickers(definitions.form_by_key(sub.definition_id, form_key))
    return schema, dict(sub.data or {}), sub.submitted_at


def shown(
    item: WorkItem, case: Case | None, viewer: User, language: str = "ja"
) -> list[ShownRecord]:
    """The records the task declares in ``showForms``, within what the viewer may see."""
    if case is None:
        return []
    # The 支援会議 (社会福祉法106条の6) is where what the windows know is shared without consent:
    # its chair (the only one who opens its task) sees what the task declares, consent or not.
    kinds = None if item.council_material else access.info_kinds_for(viewer, case)
    found = []
    for key in _keys(_properties(item).get("showForms")):
        latest = _latest(case, key)
        if latest is None:
            continue
        schema, data, at = latest
        schema = form_i18n.localized(schema, key, language)
        kind = schema.get("x-infoKind", "consultation")
        if kinds is not None and kind not in kinds:
            continue
        found.append(
            ShownRecord(str(schema.get("title") or key), at, form_words.summary(schema, data))
        )
    return found


@dataclass
class OpenWork:
    """Another open task of the case: what it is, when it was due, who holds it (in words)."""

    title: str
    due_at: datetime | None
    holder: str
    assigned: bool


def open_work(item: WorkItem, case: Case | None) -> list[OpenWork]:
    """The case's other open tasks, when the task declares ``showOpenWork`` (a stalled case)."""
    if case is None or _properties(item).get("showOpenWork") != "true":
        return []
    others = db.session.scalars(
        select(WorkItem)
        .where(
            WorkItem.case_id == case.id,
            WorkItem.status == "open",
            WorkItem.element_id != item.element_id,
        )
        .order_by(WorkItem.due_at.asc().nulls_last(), WorkItem.id)
    )
    return [
        OpenWork(
            other.title,
            other.due_at,
            other.assignee.display_name if other.assignee else _queue_name(other.queue),
            other.assignee is not None,
        )
        for other in others
    ]


def _queue_name(queue: str) -> str:
    """A work queue in words: the agency's or the group's name."""
    prefix = queues.agency_queue("")
    if queue.startswith(prefix):
        name = db.session.scalar(select(Agency.name).where(Agency.code == queue[len(prefix) :]))
    else:
        name = db.session.scalar(select(Group.name).where(Group.key == queue))
    return name or queue


def prefill(item: WorkItem, case: Case | None, schema: dict[str, Any]) -> dict[str, Any]:
    """Answers carried into the task's form from ``prefillFrom`` (fields of the same name): the
    first form listed that has a record on the case (a re-assessment starts from the last one)."""
    if case is None:
        return {}
    own = schema.get("properties") or {}
    for source in _keys(_properties(item).get("prefillFrom")):
        latest = _latest(case, source)
        if latest is not None:
            _, data, _ = latest
            return {key: value for key, value in data.items() if key in own}
    return {}
