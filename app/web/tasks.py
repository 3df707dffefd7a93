"""The task page: the form rendered from its JSON Schema beside the case summary; draft and complete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.extensions import db
from app.models import Case, ProcessInstance, User, WorkItem
from app.services import access, consent, form_i18n, task_context, work_items
from app.services.errors import Conflict, Forbidden, InvalidInput
from app.web import form_render
from app.web.i18n import language

bp = Blueprint("tasks", __name__)


def _schema(item: WorkItem) -> dict[str, Any]:
    return work_items.form_schema(item)


OVERRIDE_FIELDS = ("consent_override_basis", "consent_override_reason")
OVERRIDE_LABELS = {
    "support_council": lazy_gettext("支援会議（社会福祉法第106条の6）"),
    "life_protection": lazy_gettext("生命・身体の保護"),
}


def _override_from(form: Any) -> tuple[str, str] | None:
    basis = (form.get(OVERRIDE_FIELDS[0]) or "").strip()
    reason = (form.get(OVERRIDE_FIELDS[1]) or "").strip()
    return (basis, reason) if basis or reason else None


def _page(
    item: WorkItem,
    values: dict[str, Any],
    errors: dict[str, str],
    message: str | None = None,
    override: tuple[str, str] | None = None,
) -> str:
    schema = form_i18n.localized(_schema(item), item.form_key, language())
    case = db.session.get(Case, item.case_id) if item.case_id else None
    assignee = db.session.get(User, item.assignee_id) if item.assignee_id else None
    completed_by = db.session.get(User, item.completed_by_id) if item.completed_by_id else None
    user = current_user._get_current_object()
    candidates: list[User] = []
    if user.role in work_items.SUPERVISOR_ROLES and item.status == "open":
        candidates = work_items.candidates(item)
    instance = db.session.get(ProcessInstance, item.instance_id) if item.status == "open" else None
    in_form = set((schema.get("properties") or {}).keys())
    gaps = None
    if case is not None and item.status == "open" and not in_form & set(OVERRIDE_FIELDS):
        gaps = consent.unshared(case, item, schema)
        if gaps is None and errors.get(OVERRIDE_FIELDS[1]):
            gaps = []
    return render_template(
        "tasks/show.html",
        item=item,
        case=case,
        consent_gaps=gaps,
        may_override=access.may_override_consent(user),
        override_bases=OVERRIDE_LABELS,
        override=override or ("", ""),
        override_error=errors.get(OVERRIDE_FIELDS[1], "") if gaps is not None else "",
        case_link=case is not None and access.may_see_case(user, case),
        records=task_context.shown(item, case, user, language()) if item.status == "open" else [],
        open_work=task_context.open_work(item, case) if item.status == "open" else [],
        schema=schema,
        fields=form_render.fields(schema, values, errors),
        form_errors=form_render.form_errors(schema, errors),
        message=message,
        assignee=assignee,
        completed_by=completed_by,
        candidates=candidates,
        hold_reason=(instance.hold_reason or "-") if instance and instance.held_at else None,
    )


@bp.get("/tasks/<int:item_id>")
@login_required
def show(item_id: int) -> str:
    item = work_items.view(item_id, current_user._get_current_object())
    values = item.draft
    if values is None and item.status == "open":
        case = db.session.get(Case, item.case_id) if item.case_id else None
        values = task_context.prefill(item, case, _schema(item))
    return _page(item, values or {}, {})


@bp.post("/tasks/<int:item_id>")
@login_required
def submit(item_id: int) -> Response | tuple[str, int]:
    user = current_user._get_current_object()
    item = work_items.get(item_id, user)
    data = form_render.parse(_schema(item), request.form)
    override = _override_from(request.form)
    try:
        if request.form.get("action") == "draft":
            work_items.save_draft(item.id, user, data)
            flash(gettext("下書きを保存しました。"), "ok")
            return redirect(url_for("tasks.show", item_id=item.id))
        work_items.complete(item.id, user, data, override=override)
    except InvalidInput as exc:
        return _page(item, data, exc.fields, exc.message, override), 422
    except Forbidden as exc:
        # A share the consent does not cover: the page says what to do, and keeps what was typed.
        db.session.refresh(item)
        return _page(item, data, exc.fields, exc.message, override), 403
    except Conflict as exc:
        db.session.refresh(item)
        return _page(item, data, {}, exc.message, override), 409
    flash(gettext("「%(title)s」を完了しました。", title=item.title), "ok")
    return redirect(url_for("inbox.index"))


@bp.post("/tasks/<int:item_id>/reassign")
@login_required
def reassign(item_id: int) -> Response:
    item = work_items.reassign(
        item_id, current_user._get_current_object(), request.form.get("assignee", "")
    )
    flash(gettext("「%(title)s」の担当を変更しました。", title=item.title), "ok")
    return redirect(url_for("tasks.show", item_id=item.id))
