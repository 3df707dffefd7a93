"""What a person needs beside a task to decide it: earlier records of the case shown read-only
(the plan a conference reviews, the revision points a new plan answers, the intake behind the first
assessment), and answers carried forward into the form.

Both are declared on the task in its diagram, never named here: ``showForms`` lists form keys whose
latest submission on the case is shown, ``prefillFrom`` names the form whose latest answers start
the task's own form. The intake (the process's start form) is the case's 相談受付・申込票.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from app.extensions import db
from app.models import Case, FormSubmission, ProcessInstance, User, WorkItem
from app.services import access, definitions, form_i18n, form_words, forms

Row = tuple[str, Any]  # (label, text) or (label, list of rows)


@dataclass
class ShownRecord:
    """One earlier record of the case, as the task page shows it."""

    title: str
    at: Any
    rows: list[Row]


def _properties(item: WorkItem) -> dict[str, str]:
    instance = db.session.get(ProcessInstance, item.instance_id)
    bundle = definitions.bundle(instance.definition)
    return bundle.properties(item.element_id, item.process_key)


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
    kinds = access.info_kinds_for(viewer, case)
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


def prefill(item: WorkItem, case: Case | None, schema: dict[str, Any]) -> dict[str, Any]:
    """Answers carried into the task's form from ``prefillFrom`` (fields of the same name)."""
    source = _properties(item).get("prefillFrom")
    if case is None or not source:
        return {}
    latest = _latest(case, source)
    if latest is None:
        return {}
    _, data, _ = latest
    own = schema.get("properties") or {}
    return {key: value for key, value in data.items() if key in own}
