"""Supervisors' pages: the stalled cases in their scope, and acting on many at once."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from app.extensions import db
from app.models import Agency, User
from app.services import case_progress, cases, definitions, overview, settings
from app.services.errors import InvalidInput
from app.services.supervision import actions, escalations, holds, stalled
from app.services.supervision import heatmap as heat
from app.services.supervision import scope as scopes
from app.services.supervision import workload as load

WORKERS_SHOWN = 50  # workers listed on the workload page before "show everyone"
bp = Blueprint("supervision", __name__)


def _filter(args: dict[str, str], scope: scopes.Scope) -> stalled.StalledFilter:
    """The page's filters; a value that names nothing in scope is dropped, never an error."""
    reason = args.get("reason") or None
    agency_id = None
    if args.get("agency"):
        agency_id = db.session.scalar(select(Agency.id).where(Agency.code == args["agency"]))
    worker_id = None
    if args.get("worker"):
        worker_id = db.session.scalar(select(User.id).where(User.username == args["worker"]))
    return stalled.StalledFilter(
        reason=reason if reason in stalled.REASONS else None,
        queue=args.get("queue") if args.get("queue") in scope.queues else None,
        agency_id=agency_id if agency_id in scope.agency_ids else None,
        stage=args.get("stage") if args.get("stage") in case_progress.stage_labels() else None,
        worker_id=worker_id if worker_id is not None else (-1 if args.get("worker") else None),
        new_only=args.get("new") == "1",
    )


@bp.get("/supervision/stalled")
@login_required
def stalled_cases() -> str:
    return _list_page(request.args)


def _list_page(
    args: MultiDict[str, str],
    message: str | None = None,
    chosen: set[int] | None = None,
    typed: MultiDict[str, str] | None = None,
    chosen_cases: set[int] | None = None,
) -> str:
    """The stalled list for these filters; after a refused bulk action, with the refusal above it
    and the items ticked and the words typed as they were."""
    actor = current_user._get_current_object()
    scope = scopes.of(actor)
    flt = _filter(args.to_dict(), scope)
    number = args.get("page", "1")
    page = stalled.listing(actor, flt, page=int(number) if number.isdigit() else 1)
    agencies = (
        list(
            db.session.scalars(
                select(Agency).where(Agency.id.in_(scope.agency_ids)).order_by(Agency.name)
            )
        )
        if scope.agency_ids
        else []
    )
    return render_template(
        "supervision/stalled.html",
        page=page,
        flt=flt,
        args=args,
        # Translated once for the page (each row names its reason).
        reasons={key: str(label) for key, label in stalled.REASONS.items()},
        stages=case_progress.stage_labels(),
        agencies=agencies,
        people=actions.candidates(actor),
        supervisors=escalations.receivers(actor),
        query=args.to_dict(),
        scope_names=sorted(a.name for a in agencies),
        # The agencies' own queues are named by the agencies above.
        scope_queues=sorted(overview.labels(sorted(scope.group_queues)).values()),
        limits=settings.current(),
        message=message,
        chosen=chosen or set(),
        chosen_cases=chosen_cases or set(),
        typed=typed or MultiDict(),
        back=_list_path(),
    )


def _list_path() -> str:
    """Where the list the action came from is (its filters), from the form's ``next``."""
    back = request.form.get("next", "") if request.method == "POST" else request.full_path
    return back if back.startswith("/supervision/stalled") else url_for("supervision.stalled_cases")


def _chosen(field: str = "item_id") -> list[int]:
    """The ticked rows: work items, or (``case_id``) cases listed as a whole."""
    return [int(raw) for raw in request.form.getlist(field) if raw.isdigit() and len(raw) < 10]


def _cases() -> list[int]:
    return _chosen("case_id")


SUMMARIES = {
    "reassign": lazy_gettext("%(done)d件を割り振りました（%(total)d件中）。"),
    "due": lazy_gettext("%(done)d件の期限を変えました（%(total)d件中）。"),
    "note": lazy_gettext("%(done)d件のケースにメモを残しました（%(total)d件中）。"),
    "end": lazy_gettext("%(done)d件のケースの処理を終了しました（%(total)d件中）。"),
    "hold": lazy_gettext("%(done)d件のケースの処理を一時停止しました（%(total)d件中）。"),
    "escalate": lazy_gettext("%(done)d件をほかの係長・課長に回しました（%(total)d件中）。"),
}


def _acting(action: str, run: Callable[[], list[actions.ItemResult]]) -> Response:
    """Do a bulk action; a refusal of the whole (nothing chosen, no reason, nobody to hand to) is
    said above the same list, never on an error page of its own."""
    try:
        results = run()
    except InvalidInput as exc:
        args = MultiDict(parse_qsl(urlsplit(_list_path()).query))
        page = _list_page(args, exc.message, set(_chosen()), request.form, set(_cases()))
        return make_response(page, 422)
    return _report(results, action)


def _report(results: list[actions.ItemResult], action: str) -> Response:
    """A line for the whole action and one per item, then back to the same filtered list."""
    done = sum(1 for result in results if result.ok)
    flash(
        str(SUMMARIES[action]) % {"done": done, "total": len(results)},
        "ok" if done == len(results) else ("warn" if done else "error"),
    )
    for result in results:
        flash(f"{result.title or result.item_id}: {result.message}", "ok" if result.ok else "warn")
    return _back_to_list()


def _said(result: actions.ItemResult) -> str:
    """One case's result, naming the case."""
    return f"{result.title}: {result.message}" if result.title else result.message


@bp.post("/supervision/reassign")
@login_required
def reassign() -> Response:
    actor = current_user._get_current_object()
    return _acting(
        "reassign",
        lambda: actions.reassign_many(
            _chosen(), request.form.get("assignee", ""), actor, case_ids=_cases()
        ),
    )


@bp.post("/supervision/due")
@login_required
def change_due() -> Response:
    actor = current_user._get_current_object()
    return _acting(
        "due",
        lambda: actions.change_due_many(
            _chosen(),
            request.form.get("due_on", ""),
            request.form.get("reason", ""),
            actor,
            case_ids=_cases(),
        ),
    )


@bp.post("/supervision/note")
@login_required
def note() -> Response:
    actor = current_user._get_current_object()
    return _acting(
        "note",
        lambda: actions.note_many(
            _chosen(), request.form.get("note", ""), actor, case_ids=_cases()
        ),
    )


@bp.post("/supervision/end")
@login_required
def end() -> Response:
    actor = current_user._get_current_object()
    return _acting(
        "end",
        lambda: holds.end_many(
            _chosen(), request.form.get("end_reason", ""), actor, case_ids=_cases()
        ),
    )


@bp.post("/supervision/hold")
@login_required
def hold() -> Response:
    actor = current_user._get_current_object()
    return _acting(
        "hold",
        lambda: holds.hold_many(
            _chosen(), request.form.get("hold_reason", ""), actor, case_ids=_cases()
        ),
    )


@bp.post("/supervision/resume/<int:instance_id>")
@login_required
def resume(instance_id: int) -> Response:
    result = holds.release(instance_id, current_user._get_current_object())
    flash(_said(result), "ok" if result.ok else "warn")
    return _back_to_list()


@bp.post("/supervision/escalate")
@login_required
def escalate() -> Response:
    actor = current_user._get_current_object()
    return _acting(
        "escalate",
        lambda: escalations.escalate_many(
            _chosen(),
            request.form.get("escalate_to", ""),
            request.form.get("escalate_reason", ""),
            actor,
            case_ids=_cases(),
        ),
    )


@bp.post("/supervision/escalations/<int:escalation_id>/resolve")
@login_required
def resolve(escalation_id: int) -> Response:
    result = escalations.resolve(escalation_id, current_user._get_current_object())
    flash(result.message, "ok")
    return _back_to_list()


@bp.post("/supervision/retry/<int:instance_id>")
@login_required
def retry(instance_id: int) -> Response:
    result = actions.retry(instance_id, current_user._get_current_object())
    flash(_said(result), "ok" if result.ok else "warn")
    return _back_to_list()


def _back_to_list() -> Response:
    """Back to the stalled list the action was taken from, with its filters (never elsewhere)."""
    return redirect(_list_path())


@bp.get("/supervision/heatmap")
@login_required
def heatmap() -> str:
    actor = current_user._get_current_object()
    latest = definitions.latest_versions()
    key = request.args.get("process", "")
    if key not in latest:
        main = cases.case_process_key()
        key = main if main in latest else next(iter(sorted(latest)), "")
    days = request.args.get("days", "30")
    period = int(days) if days.isdigit() and int(days) in heat.PERIODS else 30
    names = definitions.element_names(latest[key]) if key else {}
    element = request.args.get("element", "")[:120]
    if element not in names:
        element = ""  # not a step of this diagram: nothing to list
    waiting = heat.waiting(actor, key) if key else {}
    drawn = {
        element_id: {
            "count": entry.count,
            "level": entry.level,
            "label": gettext(
                "%(count)s件・中央値%(median)s日・最長%(worst)s日",
                count=entry.count,
                median=entry.median_days,
                worst=entry.worst_days,
            ),
        }
        for element_id, entry in waiting.items()
    }
    # The cases waiting at the chosen element, a page at a time (the count is the element's).
    total = waiting[element].count if element in waiting else 0
    pages = max(1, -(-total // heat.LISTED))
    page = request.args.get("page", "1")
    page_no = min(int(page), pages) if page.isdigit() and int(page) > 0 else 1
    return render_template(
        "supervision/heatmap.html",
        processes=latest,
        key=key,
        period=period,
        periods=heat.PERIODS,
        waiting=waiting,
        heat=drawn,
        flows=heat.throughput(actor, key, period) if key else {},
        element=element,
        cases=heat.waiting_at(actor, key, element, page=page_no) if key and element else [],
        names=names,
        listed={
            "page": page_no,
            "pages": pages,
            "total": total,
            "first": (page_no - 1) * heat.LISTED + 1,
        },
    )


@bp.get("/supervision/workload")
@login_required
def workload() -> str:
    workers, queues = load.workload(current_user._get_current_object())
    most = max([row.open for row in workers + queues] or [1])
    # The busiest first; the rest on request (a scope of many agencies has hundreds of workers).
    everyone = request.args.get("all") == "1"
    return render_template(
        "supervision/workload.html",
        workers=workers if everyone else workers[:WORKERS_SHOWN],
        hidden=0 if everyone else max(0, len(workers) - WORKERS_SHOWN),
        total_workers=len(workers),
        queues=queues,
        most=most,
    )
