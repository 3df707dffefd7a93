"""The task page: the form rendered from its JSON Schema beside the case summary; draft and complete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.extensions import db
from app.models import Case, ProcessInstance, User, WorkItem
from app.services import queues, work_items
from app.services.errors import Conflict, InvalidInput
from app.web import form_render

bp = Blueprint("tasks", __name__)


def _schema(item: WorkItem) -> dict[str, Any]:
    instance = db.session.get(ProcessInstance, item.instance_id)
    return instance.definition.forms.get(item.form_key or "", {"type": "object", "properties": {}})


def _page(
    item: WorkItem, values: dict[str, Any], errors: dict[str, str], message: str | None = None
) -> str:
    schema = _schema(item)
    case = db.session.get(Case, item.case_id) if item.case_id else None
    assignee = db.session.get(User, item.assignee_id) if item.assignee_id else None
    completed_by = db.session.get(User, item.completed_by_id) if item.completed_by_id else None
    user = current_user._get_current_object()
    candidates: list[User] = []
    if user.role in work_items.SUPERVISOR_ROLES and item.status == "open":
        candidates = queues.members(item.queue)
    return render_template(
        "tasks/show.html",
        item=item,
        case=case,
        schema=schema,
        fields=form_render.fields(schema, values, errors),
        form_errors=form_render.form_errors(schema, errors),
        message=message,
        assignee=assignee,
        completed_by=completed_by,
        candidates=candidates,
    )


@bp.get("/tasks/<int:item_id>")
@login_required
def show(item_id: int) -> str:
    item = work_items.view(item_id, current_user._get_current_object())
    return _page(item, item.draft or {}, {})


@bp.post("/tasks/<int:item_id>")
@login_required
def submit(item_id: int) -> Response | tuple[str, int]:
    user = current_user._get_current_object()
    item = work_items.get(item_id, user)
    data = form_render.parse(_schema(item), request.form)
    try:
        if request.form.get("action") == "draft":
            work_items.save_draft(item.id, user, data)
            flash(gettext("下書きを保存しました。"), "ok")
            return redirect(url_for("tasks.show", item_id=item.id))
        work_items.complete(item.id, user, data)
    except InvalidInput as exc:
        return _page(item, data, exc.fields, exc.message), 422
    except Conflict as exc:
        db.session.refresh(item)
        return _page(item, data, {}, exc.message), 409
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
