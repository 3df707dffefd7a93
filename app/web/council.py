"""支援会議 pages: a member's meetings, the pledge, the material (read-only), the chair's member list."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.extensions import db
from app.models import Case, User
from app.services import council

bp = Blueprint("council", __name__)


@bp.get("/council")
@login_required
def index() -> str:
    return render_template(
        "council/index.html", meetings=council.my_meetings(current_user._get_current_object())
    )


@bp.get("/council/<int:meeting_id>")
@login_required
def show(meeting_id: int) -> str:
    user = current_user._get_current_object()
    try:
        shown = council.material(meeting_id, user)
    except council.PledgeRequired as exc:
        return render_template("council/pledge.html", meeting=exc.meeting)
    numbers = {
        c.id: c.number
        for c in db.session.scalars(
            select(Case).where(Case.id.in_([a.case_id for a in shown["agenda"]]))
        )
    }
    members = list(
        db.session.scalars(
            select(User)
            .where(User.active.is_(True), User.role.in_(council.MEMBER_ROLES))
            .order_by(User.display_name)
        )
    )
    return render_template("council/show.html", shown=shown, numbers=numbers, candidates=members)


@bp.post("/council/<int:meeting_id>/pledge")
@login_required
def pledge(meeting_id: int) -> Response:
    council.sign_pledge(meeting_id, current_user._get_current_object())
    flash(gettext("守秘義務の誓約を記録しました。"), "ok")
    return redirect(url_for("council.show", meeting_id=meeting_id))


@bp.post("/council/<int:meeting_id>/members")
@login_required
def members(meeting_id: int) -> Response:
    council.select_members(
        meeting_id, current_user._get_current_object(), request.form.getlist("member")
    )
    flash(gettext("構成員を選びました。各構成員が誓約すると資料を閲覧できます。"), "ok")
    return redirect(url_for("council.show", meeting_id=meeting_id))
