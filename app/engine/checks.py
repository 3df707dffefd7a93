"""What Kasane can run, checked on a BPMN document before the engine parses it.

Each refusal names the element and says, in Japanese, what is wrong and what to do instead.
Only executable processes are checked (a non-executable pool documents a partner's side and
is never run); a file with no executable process at all is refused, since nothing would be
registered. Engine (SpiffWorkflow) parse errors that slip past these checks are refused by
:func:`engine_refusal`, in the words of :mod:`app.engine.engine_messages`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from app.engine import engine_messages, namespaces
from app.engine.refusal import DeployError, local_name, refuse
from app.engine.scripting import ScriptError, check_expression, check_script, make_script_engine

NS = namespaces.PREFIXES
_BPMN = f"{{{namespaces.BPMN}}}"
_USER_TASK_HINT = (
    "人が行う作業ならユーザータスクにしてレーンとフォーム（formJsonSchemaFilename）を指定し、"
    "自動で行う処理ならスクリプトタスク（Python）にしてください"
)
_PYTHON_HINT = "Kasane の式は Python で書きます（例: approved == True、count < 3）"


def executable(process: Any) -> bool:
    """Whether a process is run (BPMN leaves a missing isExecutable open; Kasane runs it)."""
    return process.get("isExecutable", "true").strip().lower() == "true"


def check_runnable(file_name: str, root: Any) -> None:
    """The document has a process Kasane would run (else deploy would register nothing)."""
    processes = root.xpath("//bpmn:process", namespaces=NS)
    runnable = [p for p in processes if executable(p)]
    if not processes:
        raise refuse(
            file_name,
            root,
            "プロセスがありません（コラボレーションや図だけのファイルです）。"
            "実行するプロセスを含むファイルを指定してください",
        )
    if not runnable:
        ids = "、".join(p.get("id") or "?" for p in processes)
        which = "このプロセスは" if len(processes) == 1 else f"プロセス {ids} はどれも"
        raise refuse(
            file_name,
            processes[0],
            f'{which}実行可能（isExecutable="true"）ではないため、何も登録されません。'
            "Kasane で動かすプロセスを「実行可能」にしてください",
        )


def check_document(file_name: str, root: Any) -> None:
    """Raise a DeployError for the first thing Kasane cannot run: a data store anywhere in the
    file (the engine refuses to parse one), else an element of an executable process."""
    runnable = [p for p in root.xpath("//bpmn:process", namespaces=NS) if executable(p)]
    stores = root.xpath("//bpmn:dataStore", namespaces=NS)
    if stores:
        raise refuse(file_name, stores[0], _DATA_STORE)
    messages = {m.get("id"): m for m in root.xpath("//bpmn:message", namespaces=NS)}
    for process in runnable:
        for node in process.iter():
            if not isinstance(node.tag, str) or not node.tag.startswith(_BPMN):
                continue
            rule = _RULES.get(node.tag[len(_BPMN) :])
            if rule is not None:
                problem = rule(node, messages)
                if problem:
                    raise refuse(file_name, node, problem)
        _check_flows(file_name, process)
        _check_expressions(file_name, process)


_DATA_STORE = (
    "データストアは Kasane では使えません（読み書きする先がありません）。"
    "データはフォームとプロセスの変数で扱い、データストアを図から削除してください"
)


def _plain_task(node: Any, messages: dict[str, Any]) -> str:
    return f"種類のないタスクは実行できません（作業項目にキューもフォームも付きません）。{_USER_TASK_HINT}"


def _service_task(node: Any, messages: dict[str, Any]) -> str:
    return (
        "サービスタスクは Kasane では実行できません（外部のサービスを呼び出す仕組みがありません）。"
        f"{_USER_TASK_HINT}"
    )


def _business_rule_task(node: Any, messages: dict[str, Any]) -> str:
    return (
        "業務ルールタスク（DMN）は Kasane では実行できません（DMN の決定表を読み込みません）。"
        "判定はゲートウェイの条件式か、スクリプトタスク（Python）で書いてください"
    )


def _complex_gateway(node: Any, messages: dict[str, Any]) -> str:
    return "複合ゲートウェイは実行できません。排他・包含・並行ゲートウェイで書き直してください"


def _data_store_reference(node: Any, messages: dict[str, Any]) -> str:
    return _DATA_STORE


def _script_task(node: Any, messages: dict[str, Any]) -> str | None:
    script_format = (node.get("scriptFormat") or "").strip()
    if script_format and "python" not in script_format.lower():
        return (
            f"スクリプトの形式「{script_format}」は実行できません。"
            "Kasane は Python のスクリプトだけを実行します。Python で書き直してください"
        )
    body = node.find(f"{_BPMN}script")
    if body is None or not (body.text or "").strip():
        return (
            "スクリプトタスクにスクリプトがありません。実行する Python のスクリプトを書くか、"
            "何もしないならタスクを削除してフローをつないでください"
        )
    return None


def _message_problem(message_ref: str | None, messages: dict[str, Any]) -> str | None:
    if not message_ref:
        return (
            "どのメッセージを待つ（送る）かが指定されていません（messageRef がありません）。"
            "モデラーでこのイベントのメッセージを選んでください"
        )
    message = messages.get(message_ref)
    if message is None:
        return f"メッセージ「{message_ref}」がこのファイルに定義されていません。定義済みのメッセージを選んでください"
    if not (message.get("name") or "").strip():
        return (
            f"メッセージ「{message_ref}」に名前がありません。"
            "メッセージには送る側と受ける側で共通の名前を付けてください"
        )
    return None


def _message_event(node: Any, messages: dict[str, Any]) -> str | None:
    return _message_problem(node.get("messageRef"), messages)


def _message_task(node: Any, messages: dict[str, Any]) -> str | None:
    if node.get("messageRef"):
        return _message_problem(node.get("messageRef"), messages)
    definition = node.find(f"{_BPMN}messageEventDefinition")
    if definition is not None:
        return _message_problem(definition.get("messageRef"), messages)
    return _message_problem(None, messages)


def _timer(node: Any, messages: dict[str, Any]) -> str | None:
    kinds = [c for c in node if isinstance(c.tag, str) and c.tag.startswith(_BPMN)]
    kinds = [c for c in kinds if local_name(c) in ("timeDate", "timeDuration", "timeCycle")]
    if not kinds:
        return (
            "タイマーの種類と値が指定されていません。日時（timeDate）・期間（timeDuration）・"
            '繰り返し（timeCycle）のどれかを選び、値を "P3D" のように書いてください'
        )
    return None


def _conditional_event(node: Any, messages: dict[str, Any]) -> str | None:
    condition = node.find(f"{_BPMN}condition")
    if condition is None or not (condition.text or "").strip():
        return f"条件イベントに条件式がありません。{_PYTHON_HINT}"
    return None


def _call_activity(node: Any, messages: dict[str, Any]) -> str | None:
    if not (node.get("calledElement") or "").strip():
        return "呼び出すプロセス（calledElement）が指定されていません。呼び出すプロセスを選んでください"
    return None


_RULES: dict[str, Callable[[Any, dict[str, Any]], str | None]] = {
    "task": _plain_task,
    "serviceTask": _service_task,
    "businessRuleTask": _business_rule_task,
    "complexGateway": _complex_gateway,
    "dataStoreReference": _data_store_reference,
    "scriptTask": _script_task,
    "messageEventDefinition": _message_event,
    "sendTask": _message_task,
    "receiveTask": _message_task,
    "timerEventDefinition": _timer,
    "conditionalEventDefinition": _conditional_event,
    "callActivity": _call_activity,
}


def _check_flows(file_name: str, process: Any) -> None:
    """Every sequence flow connects two elements of the same (sub)process."""
    for flow in process.iter(f"{_BPMN}sequenceFlow"):
        container = flow.getparent()
        ids = {child.get("id") for child in container if isinstance(child.tag, str)}
        for end, word in (("sourceRef", "接続元"), ("targetRef", "接続先")):
            ref = flow.get(end)
            if ref not in ids:
                raise refuse(
                    file_name,
                    flow,
                    f"シーケンスフローの{word}「{ref}」が同じプロセスの中にありません。"
                    "モデラーでフローをつなぎ直してください",
                )


_EXPRESSIONS = (
    ".//bpmn:conditionExpression|.//bpmn:conditionalEventDefinition/bpmn:condition"
    "|.//bpmn:loopCardinality|.//bpmn:completionCondition"
)
_TIMERS = ".//bpmn:timeDuration|.//bpmn:timeDate|.//bpmn:timeCycle"
_SCRIPTS = ".//bpmn:scriptTask/bpmn:script|.//spiffworkflow:preScript|.//spiffworkflow:postScript"


def _check_expressions(file_name: str, process: Any) -> None:
    """Conditions and timer expressions compile as expressions, scripts as statements, all restricted."""
    checks: list[tuple[str, Callable[[str], None], str]] = [
        (_EXPRESSIONS, check_expression, "式"),
        (_TIMERS, check_expression, "タイマーの式"),
        (_SCRIPTS, check_script, "スクリプト"),
    ]
    for xpath, check, what in checks:
        for node in process.xpath(xpath, namespaces=NS):
            source = (node.text or "").strip()
            language = node.get("language") or ""
            if source and language and "python" not in language.lower():
                raise refuse(
                    file_name,
                    node.getparent(),
                    f"{what}の言語（{_short(language)}）は評価できません。{_PYTHON_HINT}",
                )
            if not source:
                continue
            try:
                check(source)
            except ScriptError as exc:
                raise refuse(
                    file_name, node.getparent(), _compile_problem(what, source, exc)
                ) from exc
    engine = make_script_engine()
    for node in process.xpath(_TIMERS, namespaces=NS):
        _check_timer(file_name, node, engine)


def _short(language: str) -> str:
    for known in ("FEEL", "XPath", "groovy", "javascript", "juel", "xslt"):
        if known.lower() in language.lower():
            return known
    return language


def _compile_problem(what: str, source: str, exc: ScriptError) -> str:
    if what == "スクリプト":
        return f"{exc.message_ja}。Python のスクリプトとして直してください"
    hint = "（${…} は Camunda などの式言語の書き方です）" if source.startswith(("${", "#{")) else ""
    return f"{what}「{_clip(source)}」を Python の式として読めません{hint}。{_PYTHON_HINT}"


def _clip(text: str, limit: int = 40) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def _check_timer(file_name: str, node: Any, engine: Any) -> None:
    element = node.getparent()
    source = (node.text or "").strip()
    example = '"P3D"（3日）や "2030-04-01T09:00:00+09:00"'
    if not source:
        raise refuse(
            file_name, element, f"タイマーの式が空です。{example} のように値を書いてください"
        )
    try:
        value = engine.environment.evaluate(source, {})
    except ScriptError as exc:
        if isinstance(exc.__cause__, NameError):
            return  # depends on case data; evaluated when the timer starts
        raise refuse(
            file_name,
            element,
            f"タイマーの式を評価できません: {exc.message_ja}。{example} のように書いてください",
        ) from exc
    except Exception as exc:  # noqa: BLE001 - any failure of a designer's expression is a deploy error
        raise refuse(
            file_name, element, f"タイマーの式を評価できません。{example} のように書いてください"
        ) from exc
    kind = local_name(node)
    try:
        if kind == "timeDuration":
            TimerEventDefinition.parse_iso_duration(value)
        elif kind == "timeDate":
            TimerEventDefinition.get_datetime(value)
        else:
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception as exc:  # noqa: BLE001 - the library raises assorted errors for bad ISO text
        raise refuse(
            file_name,
            element,
            f"タイマーの値 {value!r} はISO 8601として読めません。引用符で囲んだ {example} のように書いてください",
        ) from exc


def engine_refusal(file_name: str, exc: BaseException, root: Any | None) -> DeployError:
    """A DeployError for an engine parse error, on the element the engine named (if any)."""
    element_id = getattr(exc, "id", None) or None
    problem = engine_messages.parse_problem(exc)
    if element_id and root is not None:
        found = root.xpath("//*[@id=$id]", id=element_id)
        if found:
            return refuse(file_name, found[0], problem)
    return DeployError(file_name, element_id, problem, getattr(exc, "name", None) or None)
