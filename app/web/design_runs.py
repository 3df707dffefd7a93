"""The designer's pages that run things: moving running cases onto a new version (preview in
counts, then the move with a progress bar) and trying a draft in a sandbox with sample data."""

from __future__ import annotations

import json

from flask import Response, jsonify, render_template, request
from flask_babel import gettext
from flask_login import login_required

from app.services import cases, definitions
from app.services.design import drafts, migration, tryout
from app.services.design.vocabulary import PROPERTIES
from app.services.errors import InvalidInput
from app.web.design import _actor, _forms_dir, bp


@bp.get("/design/migrations")
@login_required
def migrations() -> str:
    """Pick two versions of a process; see, in counts, what moving its running cases would do."""
    actor = _actor()
    drafts.require_review(actor, "design.migrations")
    rows = definitions.versions()
    keys = sorted({row.key for row in rows})
    key = request.args.get("process", "")
    if key not in keys:
        main = cases.case_process_key()
        key = main if main in keys else (keys[0] if keys else "")
    versions = [row for row in rows if row.key == key]
    by_id = {row.id: row for row in versions}
    newest = versions[0] if versions else None
    to_id = _int_arg("to", newest.id if newest else 0)
    from_id = _int_arg("from", versions[1].id if len(versions) > 1 else 0)
    preview = None
    if from_id in by_id and to_id in by_id and from_id != to_id and migration.may_migrate(actor):
        preview = migration.preview(from_id, to_id, actor)
    return render_template(
        "design/migrations.html",
        processes={row.key: row.name for row in rows},
        key=key,
        versions=versions,
        from_id=from_id,
        to_id=to_id,
        preview=preview,
        may_migrate=migration.may_migrate(actor),
        reasons=migration.REASONS,
        change_labels={
            **{name: label for name, label, *_ in PROPERTIES},
            **migration.CHANGE_LABELS,
        },
    )


@bp.post("/design/migrations")
@login_required
def migrate() -> str | Response | tuple[Response, int]:
    """Move the chosen instances; as JSON for the page's progress bar, or a result page."""
    actor = _actor()
    body = request.get_json(silent=True) if request.is_json else None
    source = body if isinstance(body, dict) else request.form
    raw_ids = (
        source.get("instance_ids") if isinstance(body, dict) else source.getlist("instance_id")
    )
    ids = [int(v) for v in raw_ids or [] if str(v).isdigit() and len(str(v)) < 10]
    target = str(source.get("to", ""))
    if not target.isdigit() or len(target) > 9:
        raise InvalidInput(gettext("移行先の版を選んでください。"))
    report = migration.migrate(ids, int(target), actor)
    results = [
        {
            "instance_id": r.instance_id,
            "outcome": r.outcome,
            "message": r.message,
            "from_version": r.from_version,
        }
        for r in report.results
    ]
    if isinstance(body, dict):
        return jsonify({"results": results, "moved": report.count(migration.MOVED)})
    return render_template(
        "design/migrated.html", report=report, results=results, moved=migration.MOVED
    )


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else default


SAMPLE = {
    "decision": "coordination",
    "consent": "given",
    "coordination_decision": "accept",
    "messages": [],
}


@bp.route("/design/drafts/<int:draft_id>/try", methods=["GET", "POST"])
@login_required
def try_draft(draft_id: int) -> str | tuple[str, int]:
    """Run the draft in a sandbox with sample data up to a chosen task (no real case is touched)."""
    actor = _actor()
    draft = drafts.get(draft_id, actor)
    choices = tryout.targets(draft)
    target = request.form.get("target", choices[0][0] if choices else "")
    text = request.form.get("sample", json.dumps(SAMPLE, ensure_ascii=False, indent=2))
    result, error = None, ""
    if request.method == "POST":
        try:
            sample = json.loads(text)
        except ValueError:
            error = gettext(
                "見本データをJSONとして読めません。括弧・引用符・カンマを確かめてください。"
            )
        else:
            try:
                result = tryout.try_run(draft.id, target, sample, actor, _forms_dir())
            except InvalidInput as exc:
                error = exc.message
    page = render_template(
        "design/try.html",
        draft=draft,
        choices=choices,
        target=target,
        text=text,
        result=result,
        error=error,
        passed=" ".join(e.element_id for e in result.path) if result else "",
    )
    return (page, 422) if error else page
