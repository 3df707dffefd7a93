"""The inbox: my tasks and my queues' tasks, filtered and sorted; claim and release."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.extensions import db
from app.models import Case
from app.models.base import utcnow
from app.services import case_progress, inbox, overview, work_items
from app.services.errors import InvalidInput

bp = Blueprint("inbox", __name__)

DUE_SOON = timedelta(days=2)
SORT_LABELS = {
    "due": lazy_gettext("期限が近い順"),
    "priority": lazy_gettext("優先度の高い順"),
    "newest": lazy_gettext("新しい順"),
    "oldest": lazy_gettext("古い順"),
}


def _filter_from(args: dict[str, str]) -> inbox.ItemFilter:
    def number(name: str, default: int) -> int:
        raw = args.get(name, "")
        if not raw:
            return default
        if not raw.isdigit():
            raise InvalidInput(
                gettext("ページの指定が正しくありません。"),
                fields={name: gettext("数字で指定してください。")},
            )
        return int(raw)

    overdue = {"yes": True, "no": False}.get(args.get("overdue", ""))
    return inbox.ItemFilter(
        queue=args.get("queue") or None,
        assignee=args.get("assignee") or None,
        overdue=overdue,
        stage=args.get("stage") or None,
        q=(args.get("q") or "").strip() or None,
        sort=args.get("sort") or "due",
        page=number("page", 1),
        per_page=number("per_page", 25),
    )


@bp.get("/inbox")
@login_required
def index() -> str:
    user = current_user._get_current_object()
    flt = _filter_from(request.args.to_dict())
    counts = overview.glance(user)
    page = inbox.listing(user, flt, open_total=counts.open_total)
    case_ids = {item.case_id for item in page.items if item.case_id}
    # Only what a row shows of its case, as plain rows (the page changes none of them).
    shown = select(Case.id, Case.number, Case.title, Case.stage).where(Case.id.in_(case_ids))
    cases = {c.id: c for c in db.session.execute(shown)} if case_ids else {}
    people = {item.assignee_id: item.assignee for item in page.items if item.assignee is not None}
    return render_template(
        "inbox.html",
        page=page,
        flt=flt,
        cases=cases,
        people=people,
        queue_counts=counts.queues,
        queue_labels={c.key: c.label for c in counts.queues},
        assigned_count=counts.assigned,
        stages=case_progress.stage_labels(),
        sorts={key: str(label) for key, label in SORT_LABELS.items()},
        now=utcnow(),
        due_soon=DUE_SOON,
        pages=max(1, -(-page.total // page.per_page)),
        args=request.args.to_dict(),
    )


def _back() -> Response:
    target = request.form.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("inbox.index")
    return redirect(target)


@bp.post("/work-items/<int:item_id>/claim")
@login_required
def claim(item_id: int) -> Response:
    item = work_items.claim(item_id, current_user._get_current_object())
    flash(gettext("「%(title)s」を担当しました。", title=item.title), "ok")
    return _back()


@bp.post("/work-items/<int:item_id>/release")
@login_required
def release(item_id: int) -> Response:
    item = work_items.release(item_id, current_user._get_current_object())
    flash(gettext("「%(title)s」の担当を外しました。", title=item.title), "ok")
    return _back()
