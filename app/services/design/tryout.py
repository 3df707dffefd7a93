"""Try it: run a designer's draft with sample data up to a chosen user task, in a sandbox.

The run lives only in memory: no process instance, work item, case or submission is made, and
the only row written is the audit event "draft.try". The sample is one dict of form field
names and values; each user task on the way is completed with the sample's values for its
form's fields, timers fire at once (a sandbox may skip time), and the messages the sample
lists under ``"messages"`` are delivered when the run waits for them, each listed one once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from lxml import etree

from app.engine import checks, namespaces
from app.engine.runtime import EngineError, ReadyTask
from app.engine.specs import FORM_PROPERTY, DeployError, Document, bundle_hash, load_bundle
from app.engine.tryout import Element, Sandbox, element_of
from app.extensions import db
from app.models import ProcessDraft, User
from app.services import audit, cases, definitions, settings
from app.services.design import drafts
from app.services.errors import InvalidInput, NotFound

MAX_STEPS = 200
MESSAGES = "messages"
OUTCOMES = ("reached", "ended", "waiting_message", "error", "loop", "refused")
_NS = {"bpmn": namespaces.BPMN, "spiffworkflow": namespaces.SPIFF}


@dataclass(frozen=True)
class TryResult:
    """How a try ended: ``outcome`` (one of OUTCOMES), a Japanese ``message``, the ``path`` of
    elements passed in order, where it stopped, and the end data (sample and setting keys only)."""

    outcome: str
    message: str
    path: list[Element] = field(default_factory=list)
    stopped_at: Element | None = None
    data: dict[str, Any] = field(default_factory=dict)
    steps: int = 0


@dataclass
class _Outline:
    """What a try needs to know of one executable process in the batch."""

    key: str
    user_tasks: list[tuple[str, str]] = field(default_factory=list)
    called: list[str] = field(default_factory=list)
    start_form: bool = False


def try_run(
    draft_id: int,
    target_element_id: str,
    sample: dict[str, Any],
    actor: User,
    forms_dir: str,
) -> TryResult:
    """Run the draft's case process with the settings' process variables and ``sample`` until
    the user task ``target_element_id`` is READY, or the run ends, waits, fails or circles."""
    drafts.require_design(actor, "draft.try", draft_id)
    draft = db.session.get(ProcessDraft, draft_id)
    if draft is None:
        raise NotFound(_("下書きが見つかりません。"))
    values, messages = _read_sample(sample)
    batch = drafts.batch(draft)
    try:
        definitions.check_documents(batch, forms_dir, draft.forms)
    except DeployError as exc:
        where = None
        if exc.element is not None:
            where = Element(None, exc.element, exc.element_name or exc.element)
        message = _("この下書きは反映できない状態のため、試せません: %(why)s", why=exc.describe())
        return _recorded(draft, target_element_id, actor, TryResult("refused", message, [], where))
    outlines = _outlines(batch)
    main = _main_key(draft, outlines)
    if main is None or target_element_id not in dict(_targets(main, outlines)):
        raise InvalidInput(
            _("試す先のユーザータスクを一覧から選んでください。"),
            fields={"target": _("この下書きのユーザータスクではありません。")},
        )
    bundle = load_bundle(bundle_hash(batch), main, lambda: batch)
    variables = settings.process_variables()
    drive = _Drive(target_element_id, values, messages, _field_reader(draft, forms_dir))
    result = drive.run(bundle, {**variables, **values}, keep=set(variables) | set(values))
    return _recorded(draft, target_element_id, actor, result)


def targets(draft: ProcessDraft) -> list[tuple[str, str]]:
    """(element id, name) of the user tasks a try may stop at: those of the draft's case
    process and of the processes it calls, in diagram order."""
    outlines = _outlines(drafts.batch(draft))
    main = _main_key(draft, outlines)
    return _targets(main, outlines) if main else []


def _recorded(draft: ProcessDraft, target: str, actor: User, result: TryResult) -> TryResult:
    audit.record(
        "draft.try",
        "process_draft",
        draft.id,
        actor,
        detail={"target": target, "outcome": result.outcome},
    )
    db.session.commit()
    return result


def _read_sample(sample: Any) -> tuple[dict[str, Any], list[str]]:
    """The sample's field values and its list of messages; bad shapes are refused in Japanese."""
    if not isinstance(sample, dict) or not all(isinstance(k, str) for k in sample):
        raise InvalidInput(
            _("見本データは「項目名: 値」の形（JSONのオブジェクト）で入力してください。")
        )
    try:
        json.dumps(sample, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            _(
                "見本データにはJSONで表せる値（文字列・数値・真偽値・一覧・オブジェクト）だけを入れてください。"
            )
        ) from exc
    messages = sample.get(MESSAGES, [])
    if not isinstance(messages, list) or not all(isinstance(m, str) and m for m in messages):
        raise InvalidInput(
            _("見本データの messages はメッセージ名の一覧（文字列のリスト）で入力してください。"),
            fields={MESSAGES: _("メッセージ名を文字列で並べてください。")},
        )
    values = {k: v for k, v in sample.items() if k != MESSAGES}
    return values, list(messages)


def _outlines(batch: list[Document]) -> dict[str, _Outline]:
    found: dict[str, _Outline] = {}
    for doc in batch:
        try:
            root = etree.fromstring(doc.xml.encode("utf-8"))
        except etree.XMLSyntaxError:
            continue
        for process in root.iter(f"{{{namespaces.BPMN}}}process"):
            if not checks.executable(process) or not process.get("id"):
                continue
            outline = _Outline(key=process.get("id"))
            tasks = process.xpath(".//bpmn:userTask|.//bpmn:manualTask", namespaces=_NS)
            outline.user_tasks = [
                (t.get("id"), " ".join((t.get("name") or t.get("id")).split())) for t in tasks
            ]
            outline.called = [
                c.get("calledElement")
                for c in process.xpath(".//bpmn:callActivity", namespaces=_NS)
                if c.get("calledElement")
            ]
            outline.start_form = bool(
                process.xpath(
                    "bpmn:startEvent/bpmn:extensionElements/spiffworkflow:properties/"
                    f"spiffworkflow:property[@name='{FORM_PROPERTY}']",
                    namespaces=_NS,
                )
            )
            found.setdefault(outline.key, outline)
    return found


def _reachable(key: str, outlines: dict[str, _Outline]) -> list[str]:
    """``key`` and every process it calls, directly or not, in calling order."""
    order: list[str] = []
    pending = [key]
    while pending:
        current = pending.pop(0)
        if current in order or current not in outlines:
            continue
        order.append(current)
        pending.extend(outlines[current].called)
    return order


def _main_key(draft: ProcessDraft, outlines: dict[str, _Outline]) -> str | None:
    """The process a try starts: the case process when the draft is it or is called from it,
    otherwise the draft's own process with a start form (or its first process)."""
    root = _outlines([Document(draft.file_name, draft.bpmn_xml)])
    own = [key for key in root if key in outlines]
    case_key = cases.case_process_key()
    if case_key in outlines and set(own) & set(_reachable(case_key, outlines)):
        return case_key
    with_form = [key for key in own if outlines[key].start_form]
    return (with_form or own or [None])[0]


def _targets(main: str, outlines: dict[str, _Outline]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for key in _reachable(main, outlines):
        for element_id, name in outlines[key].user_tasks:
            seen.setdefault(element_id, name)
    return list(seen.items())


def _field_reader(draft: ProcessDraft, forms_dir: str) -> Callable[[str | None], set[str] | None]:
    """Field names of a form by file name (the draft's changed forms first), None if unknown."""
    cache: dict[str, set[str] | None] = {}

    def fields(form_key: str | None) -> set[str] | None:
        if not form_key:
            return None
        if form_key not in cache:
            schema = (draft.forms or {}).get(form_key)
            path = Path(forms_dir) / form_key
            if schema is None and "/" not in form_key and "\\" not in form_key and path.is_file():
                try:
                    schema = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    schema = None
            cache[form_key] = _schema_fields(schema) if isinstance(schema, dict) else None
        return cache[form_key]

    return fields


def _schema_fields(schema: dict[str, Any]) -> set[str]:
    found = set(schema.get("properties") or {})
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key) or []:
            if isinstance(part, dict):
                found |= _schema_fields(part)
    for key in ("then", "else"):
        if isinstance(schema.get(key), dict):
            found |= _schema_fields(schema[key])
    return found


class _Drive:
    """Moves a sandbox on, one step at a time, with the sample, until it stops."""

    def __init__(
        self,
        target: str,
        values: dict[str, Any],
        messages: list[str],
        fields: Callable[[str | None], set[str] | None],
    ) -> None:
        self.target = target
        self.values = values
        self.pending = list(messages)
        self.fields = fields
        self.box: Sandbox | None = None
        self.keep: set[str] = set()
        self.steps = 0

    def run(self, bundle: Any, data: dict[str, Any], keep: set[str]) -> TryResult:
        self.keep = keep
        try:
            self.box = Sandbox(bundle, data)
        except EngineError as exc:
            where = element_of(bundle, None, exc.element_id) if exc.element_id else None
            return self._failed(exc, where)
        seen: set[str] = set()
        acted: Counter[Element] = Counter()
        current: Element | None = None
        while self.steps < MAX_STEPS:
            try:
                step = self._next_step()
                if isinstance(step, TryResult):
                    return step
                current, act = step
                position = self.box.position() + json.dumps(self.pending)
                if position in seen:
                    return self._stop(
                        "loop",
                        _(
                            "「%(name)s」に同じデータのまま戻ってきました。この見本データでは"
                            "繰り返しから抜けられません（条件か見本データを見直してください）。",
                            name=current.name,
                        ),
                        current,
                    )
                seen.add(position)
                acted[current] += 1
                self.steps += 1
                act()
            except EngineError as exc:
                return self._failed(exc, current)
        circling = acted.most_common(1)[0][0] if acted else current
        return self._stop(
            "loop",
            _(
                "%(count)d 手順進めても目的のタスクに届きませんでした。"
                "「%(name)s」のあたりを繰り返しています。",
                count=MAX_STEPS,
                name=circling.name if circling else "",
            ),
            circling,
        )

    def _next_step(self) -> TryResult | tuple[Element, Callable[[], None]]:
        """The result when the run stops here, or the element acted on next and the action."""
        box = self.box
        assert box is not None
        ready = box.ready()
        for task in ready:
            if task.element_id == self.target:
                where = box.element(task.process_key, task.element_id)
                message = _("「%(name)s」に届きました。", name=where.name)
                return self._stop("reached", message, where)
        if box.finished:
            where = box.path[-1] if box.path else None
            message = _(
                "目的のタスクに届かないまま、「%(name)s」でプロセスが終わりました。",
                name=where.name if where else "",
            )
            return self._stop("ended", message, where)
        if ready:
            task = ready[0]
            return box.element(task.process_key, task.element_id), partial(self._complete, task)
        messages = box.waiting("message")
        for wait in messages:
            if wait.message_name in self.pending:
                name = wait.message_name
                return box.element(wait.process_key, wait.element_id), partial(self._deliver, name)
        timers = box.waiting("timer")
        if timers:
            timer = timers[0]
            return box.element(timer.process_key, timer.element_id), partial(box.fire, timer)
        if messages:
            wait = messages[0]
            where = box.element(wait.process_key, wait.element_id)
            message = _(
                "「%(name)s」でメッセージ「%(message)s」を待っています。見本データの messages に"
                "「%(message)s」を加えると先へ進めます。",
                name=where.name,
                message=wait.message_name or "",
            )
            return self._stop("waiting_message", message, where)
        where = box.path[-1] if box.path else None
        message = _(
            "「%(name)s」から先へ進めません（待っているタスクもイベントもありません）。",
            name=where.name if where else "",
        )
        return self._stop("error", message, where)

    def _complete(self, task: ReadyTask) -> None:
        assert self.box is not None
        names = self.fields(task.form_key)
        data = {k: v for k, v in self.values.items() if names is None or k in names}
        self.box.complete(task, data)

    def _deliver(self, message_name: str) -> None:
        assert self.box is not None
        self.pending.remove(message_name)
        self.box.deliver(message_name)

    def _failed(self, exc: EngineError, acting: Element | None) -> TryResult:
        where = None
        if self.box is not None:
            where = self.box.failed_element()
            if where is None and exc.element_id:
                where = self._find(exc.element_id)
        where = where or acting
        if where is None:
            message = _("エラーで止まりました: %(why)s", why=exc.message_ja)
        else:
            message = _(
                "「%(name)s」（%(id)s）でエラーになりました: %(why)s",
                name=where.name,
                id=where.element_id,
                why=exc.message_ja,
            )
        return self._stop("error", message, where)

    def _find(self, element_id: str) -> Element:
        assert self.box is not None
        for element in reversed(self.box.path):
            if element.element_id == element_id:
                return element
        return self.box.element(None, element_id)

    def _stop(self, outcome: str, message: str, where: Element | None) -> TryResult:
        path: list[Element] = []
        data: dict[str, Any] = {}
        if self.box is not None:
            path = list(self.box.path)
            data = {k: v for k, v in self.box.data().items() if k in self.keep}
        return TryResult(outcome, message, path, where, data, self.steps)
