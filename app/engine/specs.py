"""Parses and validates BPMN documents before deploy, and caches parsed specs by content hash."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from app.engine import bpmn_xml, checks, namespaces
from app.engine.refusal import DeployError, refuse

BPMN_NS = namespaces.BPMN
SPIFF_NS = namespaces.SPIFF
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
FORM_PROPERTY = "formJsonSchemaFilename"
UI_FORM_PROPERTY = "formUiSchemaFilename"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Document:
    """A BPMN file's name and text."""

    file_name: str
    xml: str


def read_document(file_name: str, data: bytes) -> Document:
    """A BPMN file's bytes as a Document: decoded as its XML declaration (or byte-order mark)
    says, or a DeployError when the file is not XML, not BPMN, or not in the encoding it declares."""
    root = bpmn_xml.parse(file_name, data)
    return Document(file_name=file_name, xml=bpmn_xml.decode(data, root))


@dataclass
class UserTaskInfo:
    """What deploy and the work queue need to know about a user task."""

    element_id: str
    name: str
    lane: str | None
    form_key: str | None
    properties: dict[str, str]


@dataclass
class ProcessInfo:
    """One executable process found in a document."""

    key: str
    name: str
    file_name: str
    called_keys: set[str] = field(default_factory=set)
    user_tasks: list[UserTaskInfo] = field(default_factory=list)
    start_form: str | None = None

    @property
    def form_keys(self) -> set[str]:
        keys: set[str] = {self.start_form} if self.start_form else set()
        for task in self.user_tasks:
            keys.update(
                v for k, v in task.properties.items() if k in (FORM_PROPERTY, UI_FORM_PROPERTY)
            )
        return keys


def inspect(
    documents: Iterable[Document],
    load_form: Callable[[str], dict[str, Any]],
    known_keys: set[str],
) -> list[ProcessInfo]:
    """Validate documents as one batch and describe their processes; raise DeployError on the first problem.

    ``load_form`` returns a form schema by file name (raising KeyError when absent, ValueError when
    not JSON); ``known_keys`` are process keys already deployed, which call activities may use.
    """
    documents = list(documents)
    infos: list[ProcessInfo] = []
    roots: dict[str, Any] = {}
    seen_processes: dict[str, str] = {}
    for doc in documents:
        root = _parse_xml(doc)
        roots[doc.file_name] = root
        checks.check_runnable(doc.file_name, root)
        bpmn_xml.check_ids(doc.file_name, root)
        bpmn_xml.check_schema(doc.file_name, root)
        checks.check_document(doc.file_name, root)
        _check_unique_processes(doc, root, seen_processes)
        infos.extend(_describe(doc, root))
    available = known_keys | {info.key for info in infos}
    parser = _engine_parse(documents, roots)
    for info in infos:
        root = roots[info.file_name]
        for called in sorted(info.called_keys):
            if called not in available:
                caller = root.xpath(
                    "//bpmn:callActivity[@calledElement=$key]", namespaces=NS, key=called
                )
                raise refuse(
                    info.file_name,
                    caller[0] if caller else None,
                    f"呼び出すプロセス「{called}」が見つかりません。"
                    "そのプロセスを先に（または一緒に）デプロイするか、呼び出し先を選び直してください",
                )
        _engine_spec(parser, info, root)
        for task in info.user_tasks:
            _check_user_task(info, task, load_form)
        if info.start_form:
            _check_form(info, _start_event(root, info.key), info.start_form, load_form)
    return infos


def _parse_xml(doc: Document) -> Any:
    return bpmn_xml.parse(doc.file_name, doc.xml.encode("utf-8"))


def _check_unique_processes(doc: Document, root: Any, seen: dict[str, str]) -> None:
    """Process ids are unique within the batch (the engine keys every process by its id)."""
    for process in root.xpath("//bpmn:process", namespaces=NS):
        key = process.get("id")
        if key in seen:
            where = (
                "同じファイルの中"
                if seen[key] == doc.file_name
                else f"{seen[key]} と {doc.file_name}"
            )
            raise refuse(
                doc.file_name,
                process,
                f"プロセスID「{key}」が{where}で重複しています。どちらかのプロセスのIDを変えてください",
            )
        seen[key] = doc.file_name


def _engine_parse(documents: list[Document], roots: dict[str, Any]) -> SpiffBpmnParser:
    """The engine's parser over the batch; its errors become DeployErrors on the element."""
    parser = SpiffBpmnParser()
    for doc in documents:
        try:
            parser.add_bpmn_xml(roots[doc.file_name], filename=doc.file_name)
        except Exception as exc:  # noqa: BLE001 - any engine failure on a designer's file is a refusal
            _log.info("engine refused %s", doc.file_name, exc_info=exc)
            raise checks.engine_refusal(doc.file_name, exc, roots.get(doc.file_name)) from exc
    return parser


def _engine_spec(parser: SpiffBpmnParser, info: ProcessInfo, root: Any) -> None:
    """The engine parses the process and everything it contains or calls (embedded subprocesses
    are separate specs, so a problem inside one only shows in ``get_subprocess_specs``)."""
    try:
        parser.get_spec(info.key)
        parser.get_subprocess_specs(info.key)
    except Exception as exc:  # noqa: BLE001 - any engine failure on a designer's file is a refusal
        _log.info("engine refused %s in %s", info.key, info.file_name, exc_info=exc)
        file_name = getattr(exc, "file_name", None) or info.file_name
        raise checks.engine_refusal(
            file_name, exc, root if file_name == info.file_name else None
        ) from exc


def _describe(doc: Document, root: Any) -> list[ProcessInfo]:
    infos = []
    for process in root.xpath("//bpmn:process", namespaces=NS):
        if not checks.executable(process):
            continue
        lanes = {
            ref.text.strip(): lane.get("name") or lane.get("id")
            for lane in process.xpath(".//bpmn:lane", namespaces=NS)
            for ref in lane.xpath("bpmn:flowNodeRef", namespaces=NS)
            if ref.text
        }
        info = ProcessInfo(
            key=process.get("id"),
            name=process.get("name") or process.get("id"),
            file_name=doc.file_name,
        )
        for start in process.xpath("bpmn:startEvent", namespaces=NS):
            info.start_form = (
                start.xpath(
                    f"string(bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property[@name='{FORM_PROPERTY}']/@value)",
                    namespaces=NS,
                )
                or info.start_form
            )
        for call in process.xpath(".//bpmn:callActivity", namespaces=NS):
            info.called_keys.add(call.get("calledElement") or "")
        for task in process.xpath(".//bpmn:userTask|.//bpmn:manualTask", namespaces=NS):
            props = {
                p.get("name"): p.get("value")
                for p in task.xpath(
                    "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property",
                    namespaces=NS,
                )
            }
            info.user_tasks.append(
                UserTaskInfo(
                    element_id=task.get("id"),
                    name=task.get("name") or task.get("id"),
                    lane=lanes.get(task.get("id")),
                    form_key=props.get(FORM_PROPERTY),
                    properties=props,
                )
            )
        infos.append(info)
    return infos


def _check_user_task(
    info: ProcessInfo, task: UserTaskInfo, load_form: Callable[[str], dict]
) -> None:
    def refused(problem: str) -> DeployError:
        return DeployError(info.file_name, task.element_id, problem, task.name)

    if not task.lane:
        raise refused(
            "ユーザータスクがレーンに属していません。担当の窓口（キュー）を決めるレーンの中に置いてください"
        )
    for number in ("dueInDays", "priority"):
        if task.properties.get(number) and not task.properties[number].isdigit():
            raise refused(
                f"{number} は0以上の整数で指定してください（今は「{task.properties[number]}」）"
            )
    if not task.form_key:
        raise refused(
            f"フォーム（{FORM_PROPERTY}）が指定されていません。forms/ にあるフォームのファイル名を指定してください"
        )
    _check_form(info, (task.element_id, task.name), task.form_key, load_form)
    ui_key = task.properties.get(UI_FORM_PROPERTY)
    if ui_key:
        _load_form(info, (task.element_id, task.name), ui_key, load_form)


def _load_form(
    info: ProcessInfo, element: tuple[str, str | None], key: str, load_form: Callable[[str], dict]
) -> dict:
    try:
        return load_form(key)
    except KeyError as exc:
        raise DeployError(
            info.file_name,
            element[0],
            f"フォーム '{key}' が見つかりません。forms/ に置くか、ファイル名を直してください",
            element[1],
        ) from exc
    except ValueError as exc:
        raise DeployError(
            info.file_name,
            element[0],
            f"フォーム '{key}' はJSONとして読めません。forms/ のファイルを直してください",
            element[1],
        ) from exc


def _check_form(
    info: ProcessInfo, element: tuple[str, str | None], key: str, load_form: Callable[[str], dict]
) -> None:
    """The form exists, is JSON and is a valid Draft 2020-12 schema."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    schema = _load_form(info, element, key, load_form)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise DeployError(
            info.file_name,
            element[0],
            f"フォーム '{key}' はJSON Schemaとして正しくありません（{exc.json_path} の値）。"
            "forms/ のファイルを Draft 2020-12 の書き方に直してください",
            element[1],
        ) from exc


def _start_event(root: Any, key: str) -> tuple[str, str | None]:
    found = root.xpath("//bpmn:process[@id=$key]/bpmn:startEvent", namespaces=NS, key=key)
    return (found[0].get("id"), found[0].get("name")) if found else ("start", None)


def _parser_for(documents: Iterable[Document]) -> SpiffBpmnParser:
    parser = SpiffBpmnParser()
    for doc in documents:
        parser.add_bpmn_xml(_parse_xml(doc), filename=doc.file_name)
    return parser


def bundle_hash(documents: Iterable[Document]) -> str:
    """A stable hash of a set of documents, used as the spec cache key."""
    digest = hashlib.sha256()
    for doc in sorted(documents, key=lambda d: d.file_name):
        digest.update(json.dumps([doc.file_name, doc.xml]).encode("utf-8"))
    return digest.hexdigest()


@dataclass(frozen=True)
class SpecBundle:
    """A parsed process with every process it calls, ready to run."""

    key: str
    spec: Any
    subprocess_specs: dict[str, Any]

    def properties(self, element_id: str, process_key: str | None = None) -> dict[str, str]:
        """The Kasane properties declared on an element (``stage``, ``showForms`` …), by id."""
        spec = self.spec
        if process_key and process_key != spec.name:
            spec = self.subprocess_specs.get(process_key, spec)
        task_spec = spec.task_specs.get(element_id)
        extensions = getattr(task_spec, "extensions", None) or {}
        return dict(extensions.get("properties", {}))


_BUNDLES: dict[tuple[str, str], SpecBundle] = {}
_BUNDLE_CACHE_SIZE = 256


def load_bundle(
    content_hash: str, key: str, documents: Callable[[], Iterable[Document]]
) -> SpecBundle:
    """The parsed process ``key``; ``documents`` is only read on a cache miss."""
    cached = _BUNDLES.get((content_hash, key))
    if cached is not None:
        return cached
    parser = _parser_for(documents())
    bundle = SpecBundle(
        key=key, spec=parser.get_spec(key), subprocess_specs=parser.get_subprocess_specs(key)
    )
    if len(_BUNDLES) >= _BUNDLE_CACHE_SIZE:
        _BUNDLES.pop(next(iter(_BUNDLES)))
    _BUNDLES[(content_hash, key)] = bundle
    return bundle


def declared_messages(xml: str) -> set[str]:
    """The names of the messages a BPMN document declares (what its catch events can receive)."""
    try:
        root = etree.fromstring(xml.encode("utf-8"))
    except etree.XMLSyntaxError:
        return set()
    return {
        name
        for node in root.iter(f"{{{BPMN_NS}}}message")
        if (name := node.get("name") or node.get("id"))
    }


def call_activities(xml: str, key: str) -> dict[str, str]:
    """Called process key → the id of the call activity that calls it, in process ``key``
    (computed at deploy and stored with the version: a called process's waits and tasks are
    shown on the calling diagram at that activity)."""
    try:
        root = etree.fromstring(xml.encode("utf-8"))
    except etree.XMLSyntaxError:
        return {}
    found: dict[str, str] = {}
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        if process.get("id") != key:
            continue
        for node in process.iter(f"{{{BPMN_NS}}}callActivity"):
            if node.get("calledElement") and node.get("id"):
                found.setdefault(node.get("calledElement"), node.get("id"))
    return found
