"""Drafts of process diagrams: designers edit them in the browser, check them against what deploy
accepts, and deploy them as a new version (after a supervisor's approval where the municipality
asks for one). Nothing in a draft is live until it is deployed; running cases stay on their version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from app.engine import bpmn_xml, diff
from app.engine.specs import DeployError, Document, read_document
from app.extensions import db
from app.models import ProcessDefinition, ProcessDraft, User
from app.models.base import utcnow
from app.services import audit, definitions, settings
from app.services.errors import Conflict, Forbidden, InvalidInput, NotFound

DESIGNER = "process_designer"
APPROVER = "supervisor"
# A diagram is text a person draws; far beyond any real one, and small enough to keep in a row.
MAX_XML_BYTES = 2 * 1024 * 1024
# Someone who opened the modeler this recently is shown as editing the draft.
EDITING_WINDOW = timedelta(minutes=15)
OPEN = ("editing", "awaiting_approval")


class DraftRefused(InvalidInput):
    """Deploy's refusal of a draft, naming the element the designer must fix (when there is one)."""

    def __init__(self, error: DeployError) -> None:
        super().__init__(error.describe())
        self.element_id = error.element


@dataclass(frozen=True)
class Problem:
    """Why deploy would refuse the draft: the element (or None) and what to do."""

    element_id: str | None
    message: str


def may_design(actor: User) -> bool:
    """Designers edit and deploy; administrators only where the municipality allows it."""
    if not actor.active:
        return False
    if actor.role == DESIGNER:
        return True
    return actor.role == "admin" and bool(settings.current()["admins_may_design"])


def may_review(actor: User) -> bool:
    """Who may open drafts: designers, and supervisors (who approve versions)."""
    return may_design(actor) or (actor.active and actor.role == APPROVER)


def require_design(actor: User, action: str, object_id: object | None = None) -> None:
    if not may_design(actor):
        audit.record_alone(action, "process_draft", object_id, actor, outcome="denied")
        raise Forbidden(_("プロセスを編集できるのはプロセス設計者だけです。"))


def require_review(actor: User, action: str, object_id: object | None = None) -> None:
    if not may_review(actor):
        audit.record_alone(action, "process_draft", object_id, actor, outcome="denied")
        raise Forbidden(_("プロセス設計の画面を使えるのはプロセス設計者と係長・課長だけです。"))


def listing(actor: User) -> list[ProcessDraft]:
    """Open drafts (being edited or awaiting approval), newest change first."""
    require_review(actor, "draft.list")
    return list(
        db.session.scalars(
            select(ProcessDraft)
            .where(ProcessDraft.status.in_(OPEN))
            .order_by(ProcessDraft.updated_at.desc(), ProcessDraft.id.desc())
        )
    )


def get(draft_id: int, actor: User) -> ProcessDraft:
    draft = db.session.get(ProcessDraft, draft_id)
    if draft is None or not may_review(actor):
        if draft is not None:
            audit.record_alone("draft.view", "process_draft", draft_id, actor, outcome="denied")
        raise NotFound(_("下書きが見つかりません。"))
    return draft


def editing_now(draft: ProcessDraft) -> User | None:
    """Who has the draft open in the modeler now, if anyone."""
    if draft.editor is None or draft.editor_seen_at is None:
        return None
    return draft.editor if utcnow() - draft.editor_seen_at < EDITING_WINDOW else None


def start_from_version(definition_id: int, actor: User) -> ProcessDraft:
    """A new draft holding a deployed version's diagram."""
    require_design(actor, "draft.create")
    row = db.session.get(ProcessDefinition, definition_id)
    if row is None:
        raise NotFound(_("プロセスの版が見つかりません。"))
    return _create(actor, row.name, row.file_name, row.bpmn_xml, based_on=row)


def start_from_upload(file_name: str, data: bytes, actor: User) -> ProcessDraft:
    """A new draft from an uploaded .bpmn file (checked to be a BPMN document first)."""
    require_design(actor, "draft.create")
    document = _document(file_name or "diagram.bpmn", data)
    return _create(actor, _title_of(document), document.file_name, document.xml, based_on=None)


def _create(
    actor: User, title: str, file_name: str, xml: str, based_on: ProcessDefinition | None
) -> ProcessDraft:
    now = utcnow()
    draft = ProcessDraft(
        title=title[:200] or file_name,
        file_name=file_name[:255],
        bpmn_xml=xml,
        forms={},
        based_on=based_on,
        created_by_id=actor.id,
        updated_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(draft)
    db.session.flush()
    audit.record(
        "draft.create",
        "process_draft",
        draft.id,
        actor,
        detail={"file": draft.file_name, "based_on": based_on.id if based_on else None},
    )
    db.session.commit()
    return draft


def mark_editing(draft: ProcessDraft, actor: User) -> None:
    """Note that ``actor`` has the draft open in the modeler (others see it on the list)."""
    if not may_design(actor) or draft.status != "editing":
        return
    draft.editor_id = actor.id
    draft.editor_seen_at = utcnow()
    db.session.commit()


def save(draft_id: int, xml: str, lock_version: int | None, actor: User) -> ProcessDraft:
    """Store the modeler's XML; refused when someone else saved since ``lock_version``."""
    require_design(actor, "draft.save", draft_id)
    draft = _editable(draft_id)
    if lock_version is not None and lock_version != draft.lock_version:
        who = draft.updated_by.display_name if draft.updated_by else ""
        raise Conflict(
            _(
                "%(name)s さんが先に保存しました。ページを読み込み直してから編集してください。",
                name=who,
            )
        )
    document = _document(draft.file_name, xml.encode("utf-8"))
    draft.bpmn_xml = document.xml
    draft.updated_by_id = actor.id
    draft.updated_at = utcnow()
    draft.editor_id = actor.id
    draft.editor_seen_at = draft.updated_at
    audit.record("draft.save", "process_draft", draft.id, actor, detail={"bytes": len(xml)})
    db.session.commit()
    return draft


def problems(draft: ProcessDraft, forms_dir: str) -> list[Problem]:
    """What deploy would refuse in the draft (nothing is deployed or stored)."""
    try:
        definitions.check_documents(batch(draft), forms_dir, draft.forms)
    except DeployError as exc:
        return [Problem(exc.element, exc.describe())]
    return []


def deploy(draft_id: int, forms_dir: str, actor: User) -> ProcessDraft:
    """Deploy the draft as a new version, or send it for approval where the setting asks."""
    require_design(actor, "draft.deploy", draft_id)
    draft = _editable(draft_id)
    try:
        definitions.check_documents(batch(draft), forms_dir, draft.forms)
    except DeployError as exc:
        raise DraftRefused(exc) from exc
    if settings.current()["deploy_requires_approval"]:
        draft.status = "awaiting_approval"
        draft.submitted_by_id = actor.id
        draft.submitted_at = utcnow()
        draft.editor_id = None
        audit.record("draft.submit", "process_draft", draft.id, actor)
        db.session.commit()
        return draft
    return _go_live(draft, forms_dir, actor)


def approve(draft_id: int, forms_dir: str, actor: User) -> ProcessDraft:
    """A supervisor puts a submitted draft live."""
    draft = _awaiting(draft_id, actor, "draft.approve")
    return _go_live(draft, forms_dir, actor)


def send_back(draft_id: int, reason: str, actor: User) -> ProcessDraft:
    """A supervisor returns a submitted draft to the designers with a reason."""
    draft = _awaiting(draft_id, actor, "draft.send_back")
    reason = (reason or "").strip()
    if not reason or len(reason) > 1000 or "\x00" in reason:
        raise InvalidInput(
            _("差し戻す理由を入力してください（1000文字以内）。"),
            fields={"reason": _("理由を入力してください。")},
        )
    draft.status = "editing"
    audit.record("draft.send_back", "process_draft", draft.id, actor, detail={"reason": reason})
    db.session.commit()
    return draft


def discard(draft_id: int, actor: User) -> None:
    require_design(actor, "draft.discard", draft_id)
    draft = get(draft_id, actor)
    if draft.status not in OPEN:
        raise Conflict(_("この下書きはもう閉じられています。"))
    draft.status = "discarded"
    audit.record("draft.discard", "process_draft", draft.id, actor)
    db.session.commit()


def _go_live(draft: ProcessDraft, forms_dir: str, actor: User) -> ProcessDraft:
    try:
        results = definitions.deploy_documents(
            batch(draft), forms_dir, actor=actor, forms=draft.forms
        )
    except DeployError as exc:
        raise DraftRefused(exc) from exc
    draft = db.session.get(ProcessDraft, draft.id)
    own = {key for key, _ in bpmn_xml.processes(draft.bpmn_xml)}
    mine = [result for result in results if result.key in own]
    created = [result for result in mine if result.created]
    if not created:
        raise InvalidInput(
            _(
                "本番の版と同じ内容です。図を変えてから反映してください（新しい版は作っていません）。"
            )
        )
    first = created[0]
    draft.deployed_id = db.session.scalar(
        select(ProcessDefinition.id).where(
            ProcessDefinition.key == first.key, ProcessDefinition.version == first.version
        )
    )
    draft.status = "deployed"
    draft.editor_id = None
    audit.record(
        "draft.deploy",
        "process_draft",
        draft.id,
        actor,
        detail={"key": first.key, "version": first.version, "new": first.created},
    )
    db.session.commit()
    return draft


def _editable(draft_id: int) -> ProcessDraft:
    draft = db.session.get(ProcessDraft, draft_id)
    if draft is None:
        raise NotFound(_("下書きが見つかりません。"))
    if draft.status != "editing":
        raise Conflict(
            _("この下書きは編集中ではありません（承認待ち、反映済み、または破棄済み）。")
        )
    return draft


def _awaiting(draft_id: int, actor: User, action: str) -> ProcessDraft:
    if not (actor.active and actor.role == APPROVER):
        audit.record_alone(action, "process_draft", draft_id, actor, outcome="denied")
        raise Forbidden(_("新しい版を承認できるのは係長・課長だけです。"))
    draft = db.session.get(ProcessDraft, draft_id)
    if draft is None:
        raise NotFound(_("下書きが見つかりません。"))
    if draft.status != "awaiting_approval":
        raise Conflict(_("この下書きは承認待ちではありません。"))
    return draft


def _document(file_name: str, data: bytes) -> Document:
    if len(data) > MAX_XML_BYTES:
        raise InvalidInput(_("図が大きすぎます（2MBまで）。"))
    try:
        return read_document(file_name, data)
    except DeployError as exc:
        raise DraftRefused(exc) from exc


def _title_of(document: Document) -> str:
    names = [name for _, name in bpmn_xml.processes(document.xml) if name]
    return names[0] if names else document.file_name


def batch(draft: ProcessDraft) -> list[Document]:
    """The draft with the running version of every other process, which it may call: deploy
    checks them as one batch and adds a version only for what the draft changed."""
    own = {key for key, _ in bpmn_xml.processes(draft.bpmn_xml)}
    batch = [Document(draft.file_name, draft.bpmn_xml)]
    seen = {draft.file_name}
    for key in sorted(set(db.session.scalars(select(ProcessDefinition.key).distinct())) - own):
        row = definitions.latest(key)
        if row.file_name not in seen:
            seen.add(row.file_name)
            batch.append(Document(row.file_name, row.bpmn_xml))
    return batch


def replaced_version(draft: ProcessDraft) -> ProcessDefinition | None:
    """The running version the draft would replace: the newest of its main process."""
    keys = [key for key, _ in bpmn_xml.processes(draft.bpmn_xml)]
    if draft.based_on is not None:
        keys.insert(0, draft.based_on.key)
    for key in keys:
        row = definitions.latest(key, required=False)
        if row is not None:
            return row
    return None


def changes(draft: ProcessDraft, running: ProcessDefinition | None) -> list[diff.Change]:
    """Element by element, what the draft changes against ``running`` (all added when new)."""
    return diff.diff(running.bpmn_xml if running else _EMPTY, draft.bpmn_xml)


_EMPTY = (
    '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="empty"'
    ' targetNamespace="http://kasane.example/empty"/>'
)
