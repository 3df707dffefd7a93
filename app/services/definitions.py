"""Deploys BPMN files as versioned process definitions and hands out their parsed specs."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import load_only

from app.engine import bpmn_xml
from app.engine.specs import (
    DeployError,
    Document,
    ProcessInfo,
    SpecBundle,
    call_activities,
    declared_messages,
    inspect,
    load_bundle,
    read_document,
)
from app.extensions import db
from app.models import ProcessDefinition, ProcessInstance, User, WorkItem
from app.services import audit
from app.services.errors import NotFound


@dataclass
class DeployResult:
    """What a deploy did for one process key."""

    key: str
    version: int
    created: bool
    file_name: str


def collect_files(paths: list[str]) -> list[Path]:
    """BPMN files named directly or found (non-recursively) in the named folders."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.glob("*.bpmn") if p.is_file())
            if not found:
                raise DeployError(
                    str(path),
                    None,
                    "このフォルダに .bpmn ファイルがありません。BPMNファイルを指定してください",
                )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise DeployError(str(path), None, "ファイルが見つかりません。パスを確かめてください")
    return files


def _form_loader(forms_dir: str, overrides: dict[str, Any] | None = None) -> Any:
    """Reads a form by file name: from ``overrides`` (a draft's changed forms) or ``forms_dir``."""

    def load(name: str) -> dict[str, Any]:
        if overrides and name in overrides:
            return overrides[name]
        path = Path(forms_dir) / name
        if os.path.sep in name or name.startswith(".") or not path.is_file():
            raise KeyError(name)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(name) from exc

    return load


def deploy(
    paths: list[str], forms_dir: str, actor: User | None = None, actor_name: str = "cli"
) -> list[DeployResult]:
    """Validate every file as one batch, then add a version for each changed process; all or nothing."""
    files = collect_files(paths)
    documents = [read_document(f.name, _read_bytes(f)) for f in files]
    return deploy_documents(documents, forms_dir, actor=actor, actor_name=actor_name)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DeployError(
            path.name, None, "ファイルを読めません（権限などを確かめてください）"
        ) from exc


def check_documents(
    documents: list[Document], forms_dir: str, forms: dict[str, Any] | None = None
) -> list[ProcessInfo]:
    """What deploy checks before it stores anything; raises DeployError on the first problem.
    ``forms``: forms changed in a draft, read before ``forms_dir``."""
    known = set(db.session.scalars(select(ProcessDefinition.key).distinct()))
    load_form = _form_loader(forms_dir, forms)
    infos = inspect(documents, load_form, known)
    from app.services import hooks  # the hooks name services that read definitions
    from app.services.design import contract

    hooks.check(infos)
    contract.check(documents, infos, load_form)
    return infos


def deploy_documents(
    documents: list[Document],
    forms_dir: str,
    actor: User | None = None,
    actor_name: str = "cli",
    forms: dict[str, Any] | None = None,
) -> list[DeployResult]:
    infos = check_documents(documents, forms_dir, forms)
    load_form = _form_loader(forms_dir, forms)
    by_file = {doc.file_name: doc for doc in documents}
    by_key = {info.key: info for info in infos}
    results: dict[str, DeployResult] = {}
    rows: dict[str, ProcessDefinition] = {}

    def deploy_one(info: ProcessInfo, trail: tuple[str, ...]) -> ProcessDefinition:
        if info.key in rows:
            return rows[info.key]
        called_rows = []
        for called in sorted(info.called_keys):
            chain = (*trail, info.key)
            if called in chain:
                caller = call_activities(by_file[info.file_name].xml, info.key).get(called)
                loop = " → ".join((*chain[chain.index(called) :], called))
                raise DeployError(
                    info.file_name,
                    caller or called,
                    f"プロセスの呼び出しが循環しています（{loop}）。呼び出し関係を見直してください",
                )
            called_rows.append(
                deploy_one(by_key[called], (*trail, info.key))
                if called in by_key
                else latest(called)
            )
        forms = {key: load_form(key) for key in sorted(info.form_keys)}
        xml = by_file[info.file_name].xml
        content_hash = _hash(xml, forms, [r.content_hash for r in called_rows])
        current = latest(info.key, required=False)
        if current is not None and current.content_hash == content_hash:
            row, created = current, False
        else:
            row = ProcessDefinition(
                key=info.key,
                version=(current.version + 1) if current else 1,
                name=info.name,
                file_name=info.file_name,
                bpmn_xml=xml,
                forms=forms,
                start_form=info.start_form,
                called_definition_ids=[],
                call_activities=call_activities(xml, info.key),
                content_hash=content_hash,
                deployed_by=actor.username if actor else actor_name,
            )
            db.session.add(row)
            db.session.flush()
            row.called_definition_ids = [r.id for r in called_rows]
            created = True
            audit.record(
                "process.deploy",
                "process_definition",
                row.id,
                actor,
                actor_name=actor_name if actor is None else None,
                detail={"key": row.key, "version": row.version, "file": row.file_name},
            )
        rows[info.key] = row
        results[info.key] = DeployResult(info.key, row.version, created, info.file_name)
        return row

    try:
        for info in infos:
            deploy_one(info, ())
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return [results[info.key] for info in infos]


def _hash(xml: str, forms: dict[str, Any], called_hashes: list[str]) -> str:
    payload = json.dumps([xml, forms, called_hashes], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def latest(key: str, required: bool = True) -> ProcessDefinition | None:
    """The newest version of a process."""
    row = db.session.scalars(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    ).first()
    if row is None and required:
        raise NotFound(f"プロセス '{key}' はまだ登録されていません。")
    return row


def versions() -> list[ProcessDefinition]:
    """Every deployed version, newest first per key."""
    return list(
        db.session.scalars(
            select(ProcessDefinition).order_by(
                ProcessDefinition.key, ProcessDefinition.version.desc()
            )
        )
    )


def latest_versions() -> dict[str, ProcessDefinition]:
    """The newest version of each key, without their documents (read when asked for)."""
    latest: dict[str, ProcessDefinition] = {}
    rows = db.session.scalars(
        select(ProcessDefinition)
        .options(
            load_only(
                ProcessDefinition.key,
                ProcessDefinition.version,
                ProcessDefinition.name,
                ProcessDefinition.content_hash,
            )
        )
        .order_by(ProcessDefinition.key, ProcessDefinition.version.desc())
    )
    for row in rows:
        latest.setdefault(row.key, row)
    return latest


def count() -> int:
    return db.session.scalar(select(func.count(ProcessDefinition.id))) or 0


def bundle(definition: ProcessDefinition) -> SpecBundle:
    """The parsed spec of a definition together with every process it calls (cached by content hash)."""

    def documents() -> list[Document]:
        docs: dict[str, Document] = {}
        seen: set[int] = set()
        pending = [definition]
        while pending:
            row = pending.pop()
            if row.id in seen:
                continue
            seen.add(row.id)
            docs.setdefault(row.bpmn_xml, Document(file_name=row.file_name, xml=row.bpmn_xml))
            pending.extend(db.session.get(ProcessDefinition, i) for i in row.called_definition_ids)
        return list(docs.values())

    return load_bundle(definition.content_hash, definition.key, documents)


EMPTY_FORM: dict[str, Any] = {"type": "object", "properties": {}}


def form_of(instance: ProcessInstance, item: WorkItem) -> dict[str, Any]:
    """The JSON Schema of a work item's form: from the version its instance runs, or from the called
    process version the task belongs to (a task inside 参加支援 uses the participation forms)."""
    if not item.form_key:
        return EMPTY_FORM
    # The instance's own relationship: it keeps the version loaded for the rest of the request.
    return form_by_key(instance.definition_id, item.form_key, instance.definition)


def form_by_key(
    definition_id: int, form_key: str, definition: ProcessDefinition | None = None
) -> dict[str, Any]:
    """A form of a definition version or of the processes it calls (a submission's own version)."""
    seen: set[int] = set()
    pending = [definition or db.session.get(ProcessDefinition, definition_id)]
    while pending:
        row = pending.pop(0)
        if row is None or row.id in seen:
            continue
        seen.add(row.id)
        texts = _form_texts(row)
        if form_key in texts:
            return json.loads(texts[form_key])  # a fresh copy: callers may change what they get
        pending.extend(db.session.get(ProcessDefinition, i) for i in row.called_definition_ids)
    return EMPTY_FORM


def _form_texts(row: ProcessDefinition) -> dict[str, str]:
    """A version's forms as JSON texts by key, read from the row once per content (the content
    hash covers the forms): a completion reads one form of a version whose forms are 30 KB."""
    return _parsed("forms", row.content_hash, row.key, lambda: row.forms or {}, _as_texts, dict)


def _as_texts(forms: dict[str, Any], _key: str) -> dict[str, str]:
    return {name: json.dumps(schema, ensure_ascii=False) for name, schema in forms.items()}


def all_forms(instance: ProcessInstance) -> list[dict[str, Any]]:
    """Every form of an instance's version and of the processes it calls."""
    found: list[dict[str, Any]] = []
    seen: set[int] = set()
    pending = [instance.definition]
    while pending:
        row = pending.pop(0)
        if row is None or row.id in seen:
            continue
        seen.add(row.id)
        found.extend((row.forms or {}).values())
        pending.extend(db.session.get(ProcessDefinition, i) for i in row.called_definition_ids)
    return found


def called_definition(definition: ProcessDefinition, key: str) -> ProcessDefinition | None:
    """The version of process ``key`` that ``definition`` calls (directly or further down)."""
    seen: set[int] = set()
    pending = [definition]
    while pending:
        row = pending.pop(0)
        if row is None or row.id in seen:
            continue
        seen.add(row.id)
        if row.key == key and row is not definition:
            return row
        pending.extend(db.session.get(ProcessDefinition, i) for i in row.called_definition_ids)
    return None


def task_properties(item: WorkItem) -> dict[str, str]:
    """The Kasane properties the diagram declares on a work item's task (in its version)."""
    instance = db.session.get(ProcessInstance, item.instance_id)
    if instance is None:
        return {}
    return bundle(instance.definition).properties(item.element_id, item.process_key)


def boundary_events(key: str) -> frozenset[str]:
    """The boundary events of a process's newest version (see ``bpmn_xml.boundary_events``)."""
    found = db.session.execute(
        select(ProcessDefinition.id, ProcessDefinition.content_hash)
        .where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    ).first()
    if found is None:
        return frozenset()
    definition_id, content_hash = found

    def xml() -> str:
        return (
            db.session.scalar(
                select(ProcessDefinition.bpmn_xml).where(ProcessDefinition.id == definition_id)
            )
            or ""
        )

    return _parsed("boundaries", content_hash, key, xml, bpmn_xml.boundary_events, frozenset)


def element_names(definition: ProcessDefinition) -> dict[str, str]:
    """The names of a version's elements, by id."""
    return dict(
        _parsed(
            "names",
            definition.content_hash,
            definition.key,
            lambda: definition.bpmn_xml,
            bpmn_xml.element_names,
            dict,
        )
    )


def _parsed(
    what: str,
    content_hash: str,
    key: str,
    xml: Callable[[], Any],
    parse: Callable[[Any, str], Any],
    kept: Callable[[Any], Any],
) -> Any:
    """What ``parse`` reads from one process of a document (or a version's forms), once per
    content (the document itself is read only then: ``xml``)."""
    wanted = (what, content_hash, key)
    found = _PARSED.get(wanted)
    if found is None:
        if len(_PARSED) >= 128:
            _PARSED.clear()
        found = _PARSED[wanted] = kept(parse(xml(), key))
    return found


_PARSED: dict[tuple[str, str, str], Any] = {}


def message_names() -> set[str]:
    """Every message name a deployed process (any version still in use) can receive."""
    names: set[str] = set()
    for content_hash, xml in db.session.execute(
        select(ProcessDefinition.content_hash, ProcessDefinition.bpmn_xml).distinct()
    ):
        names |= _messages_of(content_hash, xml)
    return names


@lru_cache(maxsize=256)
def _messages_of(content_hash: str, xml: str) -> frozenset[str]:
    return frozenset(declared_messages(xml))
