"""Case pages: summary, plan versions, decisions, timeline and the position on the diagram; new intakes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from app.extensions import db
from app.models import Agency, Case, User
from app.services import (
    access,
    case_list,
    case_progress,
    case_view,
    cases,
    clock,
    consent,
    events,
    form_i18n,
)
from app.services.errors import InvalidInput
from app.web import form_render
from app.web.i18n import language

bp = Blueprint("cases", __name__)


@bp.get("/cases")
@login_required
def index() -> str:
    """My window's cases (and those I hold or held tasks on), searchable."""
    args = request.args
    raw_page = args.get("page", "1")
    if not raw_page.isdigit():
        raise InvalidInput(
            gettext("ページの指定が正しくありません。"),
            fields={"page": gettext("数字で指定してください。")},
        )
    q = (args.get("q") or "").strip()
    status = args.get("status") or None
    actor = current_user._get_current_object()
    stages = case_progress.stage_labels()
    agencies, workers = _narrowing_choices(actor)
    narrowing = case_list.Narrowing(
        stage=args.get("stage") if args.get("stage") in stages else None,
        agency_id=next((a.id for a in agencies if a.code == args.get("agency")), None),
        worker_id=next((w.id for w in workers if w.username == args.get("worker")), None),
    )
    listing = case_list.listing(actor, q, status, int(raw_page), narrowing=narrowing)
    return render_template(
        "cases/index.html",
        listing=listing,
        q=q,
        status=status,
        stage_labels=stages,
        narrowing=narrowing,
        agencies=agencies,
        workers=workers,
        args=args,
        pages=max(1, -(-listing.total // listing.per_page)),
    )


def _narrowing_choices(actor):  # noqa: ANN001, ANN202 - (agencies, workers) a supervisor may pick
    """A supervisor narrows the list by agency (any: the list also holds cases another rule lets
    them open, held by agencies outside their scope) and by the workers they oversee."""
    if actor.role != "supervisor":
        return [], []
    from sqlalchemy import select

    from app.services.supervision import actions

    agencies = list(db.session.scalars(select(Agency).order_by(Agency.kind, Agency.name)))
    return agencies, actions.candidates(actor)


@bp.get("/cases/<int:case_id>")
@login_required
def show(case_id: int) -> str:
    viewer = current_user._get_current_object()
    return _page(cases.get(case_id, viewer), viewer)


def _page(
    case: Case,
    viewer: User,
    *,
    consent_values: dict[str, Any] | None = None,
    consent_errors: dict[str, str] | None = None,
    withdraw: tuple[int, str, str] | None = None,
    message: str | None = None,
) -> str:
    """The case page; after a refused form, with the message beside the form and what was typed."""
    schema = consent.record_form(cases.intake_form())
    return render_template(
        "cases/show.html",
        view=case_view.build(case, viewer),
        case=case,
        stage_labels=case_progress.stage_labels(),
        decision_labels=case_view.DECISION_LABELS,
        person_labels=case_view.PERSON_LABELS,
        referral_labels=case_view.REFERRAL_LABELS,
        consent_fields=form_render.fields(
            form_i18n.localized(schema, cases.intake_form_key(), language()),
            consent_values or {"consent_date": clock.today().isoformat()},
            consent_errors or {},
        ),
        consent_open=consent_errors is not None,
        withdraw=withdraw or (0, "", ""),
        message=message,
    )


@bp.post("/cases/<int:case_id>/now/<element_id>")
@login_required
def act_now(case_id: int, element_id: str) -> Response:
    """「今すぐ始める」: a dated step (or awaited news) brought forward by the person responsible."""
    actor = current_user._get_current_object()
    case = cases.get(case_id, actor)
    row = events.act_now(case, element_id[:120], actor)
    flash(gettext("「%(name)s」を今すぐ始めました。", name=row.name), "ok")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.post("/cases/<int:case_id>/consents")
@login_required
def record_consent(case_id: int) -> Response | tuple[str, int]:
    actor = current_user._get_current_object()
    case = cases.get(case_id, actor)
    schema = consent.record_form(cases.intake_form())
    data = form_render.parse(schema, request.form)
    try:
        consent.record_obtained(case, actor, data, schema)
    except InvalidInput as exc:
        page = _page(
            case, actor, consent_values=data, consent_errors=exc.fields, message=exc.message
        )
        return page, 422
    flash(gettext("本人の同意を記録しました。"), "ok")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.get("/cases/<int:case_id>/diagram.bpmn")
@login_required
def diagram(case_id: int) -> Response:
    case = cases.get(case_id, current_user._get_current_object())
    xml = cases.diagram_xml(case, request.args.get("process") or None)
    if xml is None:
        return Response("", status=404)
    return Response(xml, mimetype="application/xml")


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def new() -> Response | str | tuple[str, int]:
    """Record a 相談受付・申込票 at the user's window (or a chosen one) and start the support flow."""
    user = current_user._get_current_object()
    agencies = list(db.session.scalars(db.select(Agency).order_by(Agency.id)))
    schema = cases.intake_form() or {"type": "object", "properties": {}}
    if request.method == "GET":
        # Most consultations are written down the day they come in: 受付日 starts as today.
        today = {"received_on": clock.today().isoformat()}
        start = today if "received_on" in (schema.get("properties") or {}) else {}
        return _new_page(user, agencies, schema, {"title": "", "agency": ""}, start, {})
    head = {
        "title": request.form.get("title", "").strip(),
        "agency": request.form.get("agency", ""),
    }
    intake = form_render.parse(schema, request.form)
    try:
        case = cases.open_case(user, head["title"], intake, head["agency"] or None)
    except InvalidInput as exc:
        return _new_page(user, agencies, schema, head, intake, exc.fields, exc.message), 422
    if not access.may_see_case(user, case):
        # Taken in for another window: that window works it; the case is not this person's to open.
        agency = case.intake_agency.name if case.intake_agency else ""
        flash(
            gettext(
                "ケース %(number)s を受け付け、%(agency)s に渡しました（このケースはその窓口が扱います）。",
                number=case.number,
                agency=agency,
            ),
            "ok",
        )
        return redirect(url_for("inbox.index"))
    flash(gettext("ケース %(number)s を受け付けました。", number=case.number), "ok")
    return redirect(url_for("cases.show", case_id=case.id))


def _new_page(
    user: object,
    agencies: list[Agency],
    schema: dict,
    head: dict[str, str],
    values: dict,
    errors: dict[str, str],
    message: str | None = None,
) -> str:
    return render_template(
        "cases/new.html",
        user=user,
        agencies=agencies,
        head=head,
        errors=errors,
        message=message,
        fields=form_render.fields(
            form_i18n.localized(schema, cases.intake_form_key(), language()), values, errors
        ),
        form_errors=[e for k, e in errors.items() if k in ("_form", "agency")],
    )


@bp.post("/cases/<int:case_id>/reopen")
@login_required
def reopen(case_id: int) -> Response:
    case = cases.reopen(case_id, current_user._get_current_object(), request.form.get("reason", ""))
    flash(
        gettext(
            "ケース %(number)s を再開しました（第%(cycle)s期）。",
            number=case.number,
            cycle=case.cycle,
        ),
        "ok",
    )
    return redirect(url_for("cases.show", case_id=case.id))


@bp.post("/cases/<int:case_id>/consents/<int:consent_id>/withdraw")
@login_required
def withdraw_consent(case_id: int, consent_id: int) -> Response | tuple[str, int]:
    actor = current_user._get_current_object()
    case = cases.get(case_id, actor)
    reason = request.form.get("reason", "")
    try:
        consent.withdraw(case, consent_id, actor, reason)
    except InvalidInput as exc:
        error = exc.fields.get("reason", exc.message)
        return _page(case, actor, withdraw=(consent_id, reason, error), message=exc.message), 422
    flash(gettext("同意の撤回を記録しました。以後、同意による共有は行われません。"), "ok")
    return redirect(url_for("cases.show", case_id=case_id))
