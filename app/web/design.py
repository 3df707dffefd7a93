"""The process designer's room: drafts of diagrams edited in the modeler, checked, and deployed as
new versions (approved by a supervisor where the municipality asks for it). No case content here."""

from __future__ import annotations

from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext, lazy_gettext
from flask_login import current_user, login_required

from app.extensions import db
from app.models import ProcessDefinition
from app.services import definitions, forms, settings
from app.services.design import drafts, form_drafts
from app.services.design.vocabulary import PROPERTIES, vocabulary
from app.services.errors import InvalidInput, NotFound, ServiceError
from app.web import form_render

bp = Blueprint("design", __name__)


@bp.app_context_processor
def design_menu() -> dict[str, object]:
    """The header shows 「プロセス設計」 to those who may open it (read only when a page asks)."""

    def may_open() -> bool:
        return current_user.is_authenticated and drafts.may_review(current_user)

    return {"may_open_design": may_open}


def _actor():  # noqa: ANN202 - the logged-in User
    return current_user._get_current_object()


def _forms_dir() -> str:
    return current_app.config["KASANE_FORMS_DIR"]


@bp.get("/design")
@login_required
def index() -> str:
    actor = _actor()
    rows = drafts.listing(actor)
    return render_template(
        "design/index.html",
        drafts=rows,
        editing={row.id: drafts.editing_now(row) for row in rows},
        versions=definitions.versions(),
        may_design=drafts.may_design(actor),
        approval_required=settings.current()["deploy_requires_approval"],
    )


@bp.post("/design/drafts")
@login_required
def create() -> Response:
    actor = _actor()
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        draft = drafts.start_from_upload(upload.filename, upload.read(), actor)
    else:
        raw = request.form.get("definition_id", "")
        if not raw.isdigit():
            raise InvalidInput(gettext("元にする版か、取り込む .bpmn ファイルを選んでください。"))
        draft = drafts.start_from_version(int(raw), actor)
    flash(gettext("下書き「%(title)s」を作りました。", title=draft.title), "ok")
    for problem in drafts.problems(draft, _forms_dir()):
        flash(gettext("このままでは本番に反映できません：%(why)s", why=problem.message), "warn")
    return redirect(url_for("design.edit", draft_id=draft.id))


@bp.get("/design/drafts/<int:draft_id>")
@login_required
def edit(draft_id: int) -> str:
    actor = _actor()
    draft = drafts.get(draft_id, actor)
    other = drafts.editing_now(draft)
    drafts.mark_editing(draft, actor)
    return render_template(
        "design/edit.html",
        draft=draft,
        other_editor=other if other is not None and other.id != actor.id else None,
        problems=drafts.problems(draft, _forms_dir()),
        form_names=form_drafts.names(draft, _forms_dir()),
        may_design=drafts.may_design(actor),
        may_approve=actor.role == drafts.APPROVER,
        approval_required=settings.current()["deploy_requires_approval"],
    )


@bp.get("/design/drafts/<int:draft_id>/diagram.bpmn")
@login_required
def diagram(draft_id: int) -> Response:
    draft = drafts.get(draft_id, _actor())
    return Response(draft.bpmn_xml, mimetype="application/xml")


@bp.post("/design/drafts/<int:draft_id>/diagram")
@login_required
def save(draft_id: int) -> tuple[Response, int] | Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("xml"), str):
        return _json_error(422, gettext("図の内容が送られていません。"))
    lock = body.get("lock_version")
    try:
        draft = drafts.save(
            draft_id, body["xml"], lock if isinstance(lock, int) else None, _actor()
        )
    except ServiceError as exc:
        return _json_error(exc.status, exc.message, getattr(exc, "element_id", None))
    found = drafts.problems(draft, _forms_dir())
    return jsonify(
        {
            "lock_version": draft.lock_version,
            "saved_at": draft.updated_at.isoformat(),
            "message": gettext("保存しました"),
            "problems": [{"element_id": p.element_id, "message": p.message} for p in found],
        }
    )


@bp.get("/design/vocabulary.json")
@login_required
def words() -> Response:
    drafts.require_review(_actor(), "design.vocabulary")
    return jsonify(vocabulary(_forms_dir()))


@bp.post("/design/drafts/<int:draft_id>/deploy")
@login_required
def deploy(draft_id: int) -> Response:
    draft = drafts.deploy(draft_id, _forms_dir(), _actor())
    if draft.status == "awaiting_approval":
        flash(gettext("係長・課長の承認を待っています。承認されると本番に反映されます。"), "ok")
        return redirect(url_for("design.edit", draft_id=draft.id))
    return _deployed(draft)


@bp.post("/design/drafts/<int:draft_id>/approve")
@login_required
def approve(draft_id: int) -> Response:
    return _deployed(drafts.approve(draft_id, _forms_dir(), _actor()))


@bp.post("/design/drafts/<int:draft_id>/send-back")
@login_required
def send_back(draft_id: int) -> Response:
    drafts.send_back(draft_id, request.form.get("reason", ""), _actor())
    flash(gettext("下書きを差し戻しました。"), "ok")
    return redirect(url_for("design.index"))


@bp.post("/design/drafts/<int:draft_id>/discard")
@login_required
def discard(draft_id: int) -> Response:
    drafts.discard(draft_id, _actor())
    flash(gettext("下書きを破棄しました。"), "ok")
    return redirect(url_for("design.index"))


@bp.get("/design/versions/<int:definition_id>.bpmn")
@login_required
def download(definition_id: int) -> Response:
    drafts.require_review(_actor(), "process.download", definition_id)
    row = db.session.get(ProcessDefinition, definition_id)
    if row is None:
        raise NotFound(gettext("プロセスの版が見つかりません。"))
    name = f"{row.key}-v{row.version}.bpmn"
    return Response(
        row.bpmn_xml,
        mimetype="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _deployed(draft) -> Response:  # noqa: ANN001 - a ProcessDraft
    row = draft.deployed
    flash(
        gettext(
            "「%(name)s」を第%(version)s版として本番に反映しました。新しいケースはこの版で始まります。",
            name=row.name,
            version=row.version,
        ),
        "ok",
    )
    return redirect(url_for("design.index"))


def _json_error(status: int, message: str, element_id: str | None = None) -> tuple[Response, int]:
    return jsonify({"error": {"message": message, "element_id": element_id}}), status


@bp.route("/design/drafts/<int:draft_id>/forms/<form_name>", methods=["GET", "POST"])
@login_required
def form(draft_id: int, form_name: str) -> str | Response | tuple[str, int]:
    actor = _actor()
    draft = drafts.get(draft_id, actor)
    error = ""
    if request.method == "POST":
        text = request.form.get("schema", "")
        try:
            form_drafts.save(draft.id, form_name, text, actor)
        except InvalidInput as exc:
            error = exc.message
        else:
            flash(gettext("フォーム「%(name)s」を下書きに保存しました。", name=form_name), "ok")
            return redirect(url_for("design.form", draft_id=draft.id, form_name=form_name))
    else:
        text = form_drafts.text_of(draft, form_name, _forms_dir())
    page = render_template(
        "design/form.html",
        draft=draft,
        form_name=form_name,
        text=text,
        error=error,
        preview=_preview(text),
        may_design=drafts.may_design(actor) and draft.status == "editing",
    )
    return (page, 422) if error else page


@bp.get("/design/drafts/<int:draft_id>/new-form")
@login_required
def new_form(draft_id: int) -> Response:
    name = request.args.get("name", "").strip()
    if not form_drafts.FORM_NAME.fullmatch(name):
        raise InvalidInput(
            gettext("フォームのファイル名は英小文字・数字・_ と .schema.json で付けてください。")
        )
    return redirect(url_for("design.form", draft_id=draft_id, form_name=name))


@bp.post("/design/form-preview")
@login_required
def form_preview() -> Response | tuple[Response, int]:
    drafts.require_review(_actor(), "design.form_preview")
    body = request.get_json(silent=True)
    text = body.get("schema") if isinstance(body, dict) else None
    if not isinstance(text, str):
        return _json_error(422, gettext("フォームの定義が送られていません。"))
    preview = _preview(text)
    if preview.error:
        return _json_error(422, preview.error)
    return jsonify({"html": preview.html})


@dataclass
class _Preview:
    html: str = ""
    error: str = ""


def _preview(text: str) -> _Preview:
    """The form as staff will see it, drawn by the same renderer as the task page."""
    try:
        schema = form_drafts.parse(text)
    except InvalidInput as exc:
        return _Preview(error=exc.message)
    shown = forms.with_pickers(schema)
    return _Preview(
        html=render_template("design/_preview.html", fields=form_render.fields(shown, {}, {}))
    )


@bp.get("/design/drafts/<int:draft_id>/changes")
@login_required
def changes(draft_id: int) -> str:
    """What the draft changes against the version it would replace, marked on the diagram."""
    actor = _actor()
    draft = drafts.get(draft_id, actor)
    running = drafts.replaced_version(draft)
    found = drafts.changes(draft, running)
    return render_template(
        "design/changes.html",
        draft=draft,
        running=running,
        changes=found,
        added=" ".join(c.element_id for c in found if c.change == "added"),
        changed=" ".join(c.element_id for c in found if c.change == "changed"),
        words=CHANGE_WORDS,
        labels={name: label for name, label, *_ in PROPERTIES},
    )


CHANGE_WORDS = {
    "added": lazy_gettext("追加"),
    "removed": lazy_gettext("削除"),
    "changed": lazy_gettext("変更"),
    "name": lazy_gettext("名前"),
    "type": lazy_gettext("要素の種類"),
    "condition": lazy_gettext("条件式"),
    "script": lazy_gettext("スクリプト"),
    "timer": lazy_gettext("タイマー"),
    "lane": lazy_gettext("レーンに含む要素"),
    "extensions": lazy_gettext("その他の拡張要素"),
    "sourceRef": lazy_gettext("接続元"),
    "targetRef": lazy_gettext("接続先"),
    "default": lazy_gettext("既定のフロー"),
    "calledElement": lazy_gettext("呼び出すプロセス"),
    "messageRef": lazy_gettext("メッセージ"),
}


# The routes that run things (migration, sandbox) live beside these, on the same blueprint.
from app.web import design_runs  # noqa: E402, F401
