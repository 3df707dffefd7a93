"""Auditors' pages: search the audit trail; download a person's record with its disclosure history."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext
from flask_login import current_user, login_required

from app.services import disclosure
from app.services.errors import InvalidInput

bp = Blueprint("audit", __name__)


def _date(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput(
            gettext("日付の形式が正しくありません。"),
            fields={name: gettext("YYYY-MM-DD で入力してください。")},
        ) from exc


@bp.get("/audit")
@login_required
def search() -> str:
    raw_person = request.args.get("person", "").strip()
    if raw_person and not raw_person.isdigit():
        raise InvalidInput(
            gettext("本人の番号は数字で指定してください。"),
            fields={"person": gettext("数字で入力してください。")},
        )
    query = disclosure.AuditQuery(
        person_id=int(raw_person) if raw_person else None,
        username=request.args.get("user", "").strip() or None,
        since=_date("since"),
        until=_date("until"),
    )
    events = disclosure.search(current_user._get_current_object(), query)
    return render_template("audit/search.html", events=events, args=request.args)


@bp.get("/audit/persons/<int:person_id>/disclosure.json")
@login_required
def person_record(person_id: int) -> Response:
    document = disclosure.person_record(current_user._get_current_object(), person_id)
    return Response(
        document,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="disclosure-person-{person_id}.json"'
        },
    )
