"""Parses and validates BPMN documents before deploy, and caches parsed specs by content hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from app.engine import namespaces
from app.engine.scripting import ScriptError, check_expression, check_script, make_script_engine

BPMN_NS = namespaces.BPMN
SPIFF_NS = namespaces.SPIFF
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
FORM_PROPERTY = "formJsonSchemaFilename"
UI_FORM_PROPERTY = "formUiSchemaFilename"


class DeployError(Exception):
    """A BPMN document that must not be deployed: which file, which element, what is wrong."""

    def __init__(self, file_name: str, element_id: str | None, problem: str) -> None:
        self.file_name = file_name
        self.element_id = element_id or "-"
        self.problem = problem
        super().__init__(f"{file_name}: 要素 {self.element_id}: {problem}")


@dataclass(frozen=True)
class Document:
    """A BPMN file's name and text."""

    file_name: str
    xml: str


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
    for doc in documents:
        root = _parse_xml(doc)
        _check_xsd(doc, root)
        _check_expressions(doc, root)
        infos.extend(_describe(doc, root))
    available = known_keys | {info.key for info in infos}
    parser = _parser_for(documents)
    for info in infos:
        for called in sorted(info.called_keys):
            if called not in available:
                raise DeployError(
                    info.file_name, called, f"呼び出すプロセス '{called}' が見つかりません"
                )
        try:
            parser.get_spec(info.key)
        except (ValidationException, SpiffWorkflowException) as exc:
            raise DeployError(info.file_name, getattr(exc, "id", None), str(exc)) from exc
        for task in info.user_tasks:
            _check_user_task(info, task, load_form)
        if info.start_form:
            _check_form(info, "start", info.start_form, load_form)
    return infos


def _parse_xml(doc: Document) -> Any:
    try:
        return etree.fromstring(doc.xml.encode("utf-8"))
    except etree.XMLSyntaxError as exc:
        raise DeployError(doc.file_name, None, f"XMLとして読めません: {exc}") from exc


def _check_xsd(doc: Document, root: Any) -> None:
    if not VALIDATOR.validator.validate(root):
        error = VALIDATOR.validator.error_log.last_error
        raise DeployError(
            doc.file_name, f"行 {error.line}", f"BPMNスキーマに適合しません: {error.message}"
        )


def _owner_id(node: Any) -> str | None:
    while node is not None:
        if node.get("id") and etree.QName(node).namespace == BPMN_NS:
            return node.get("id")
        node = node.getparent()
    return None


def _check_expressions(doc: Document, root: Any) -> None:
    """Conditions and timer expressions compile as expressions, scripts as statements, all restricted."""
    checks: list[tuple[str, Callable[[str], None]]] = [
        ("//bpmn:conditionExpression", check_expression),
        ("//bpmn:timeDuration|//bpmn:timeDate|//bpmn:timeCycle", check_expression),
        ("//bpmn:scriptTask/bpmn:script", check_script),
        ("//spiffworkflow:preScript|//spiffworkflow:postScript", check_script),
    ]
    for xpath, check in checks:
        for node in root.xpath(xpath, namespaces=NS):
            source = (node.text or "").strip()
            if not source:
                continue
            try:
                check(source)
            except ScriptError as exc:
                raise DeployError(
                    doc.file_name, _owner_id(node.getparent()), exc.message_ja
                ) from exc
    engine = make_script_engine()
    for node in root.xpath("//bpmn:timeDuration|//bpmn:timeDate|//bpmn:timeCycle", namespaces=NS):
        _check_timer(doc, node, engine)


def _check_timer(doc: Document, node: Any, engine: Any) -> None:
    element_id = _owner_id(node.getparent())
    source = (node.text or "").strip()
    if not source:
        raise DeployError(doc.file_name, element_id, "タイマーの式が空です")
    try:
        value = engine.environment.evaluate(source, {})
    except ScriptError as exc:
        if isinstance(exc.__cause__, NameError):
            return  # depends on case data; evaluated when the timer starts
        raise DeployError(
            doc.file_name, element_id, f"タイマーの式を評価できません: {exc.message_ja}"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - any failure of a designer's expression is a deploy error
        raise DeployError(
            doc.file_name, element_id, f"タイマーの式を評価できません: {exc}"
        ) from exc
    kind = etree.QName(node).localname
    try:
        if kind == "timeDuration":
            TimerEventDefinition.parse_iso_duration(value)
        elif kind == "timeDate":
            TimerEventDefinition.get_datetime(value)
        else:
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception as exc:  # noqa: BLE001 - the library raises assorted errors for bad ISO text
        raise DeployError(
            doc.file_name, element_id, f"タイマーの値 {value!r} はISO 8601として読めません"
        ) from exc


def _describe(doc: Document, root: Any) -> list[ProcessInfo]:
    infos = []
    for process in root.xpath("//bpmn:process", namespaces=NS):
        if process.get("isExecutable", "true").lower() != "true":
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

    if not task.lane:
        raise DeployError(info.file_name, task.element_id, "ユーザータスクがレーンに属していません")
    if task.properties.get("dueInDays") and not task.properties["dueInDays"].isdigit():
        raise DeployError(
            info.file_name, task.element_id, "dueInDays は0以上の整数で指定してください"
        )
    if task.properties.get("priority") and not task.properties["priority"].isdigit():
        raise DeployError(
            info.file_name, task.element_id, "priority は0以上の整数で指定してください"
        )
    if not task.form_key:
        raise DeployError(
            info.file_name, task.element_id, f"フォーム（{FORM_PROPERTY}）が指定されていません"
        )
    _check_form(info, task.element_id, task.form_key, load_form)
    ui_key = task.properties.get(UI_FORM_PROPERTY)
    if ui_key:
        _load_form(info, task.element_id, ui_key, load_form)


def _load_form(
    info: ProcessInfo, element_id: str, key: str, load_form: Callable[[str], dict]
) -> dict:
    try:
        return load_form(key)
    except KeyError as exc:
        raise DeployError(info.file_name, element_id, f"フォーム '{key}' が見つかりません") from exc
    except ValueError as exc:
        raise DeployError(
            info.file_name, element_id, f"フォーム '{key}' はJSONとして読めません"
        ) from exc


def _check_form(
    info: ProcessInfo, element_id: str, key: str, load_form: Callable[[str], dict]
) -> None:
    """The form exists, is JSON and is a valid Draft 2020-12 schema."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    schema = _load_form(info, element_id, key, load_form)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise DeployError(
            info.file_name,
            element_id,
            f"フォーム '{key}' はJSON Schemaとして正しくありません: {exc.message}",
        ) from exc


def _parser_for(documents: Iterable[Document]) -> SpiffBpmnParser:
    parser = SpiffBpmnParser()
    for doc in documents:
        parser.add_bpmn_str(doc.xml.encode("utf-8"), filename=doc.file_name)
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
