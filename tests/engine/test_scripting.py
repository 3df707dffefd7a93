"""The restricted environment runs designers' BPMN code and refuses escapes and runaway loops."""

from __future__ import annotations

import copy
import sys
import time
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from app.engine import scripting
from app.engine.scripting import (
    RestrictedEnvironment,
    ScriptError,
    check_expression,
    check_script,
    make_script_engine,
)


@pytest.fixture
def env() -> RestrictedEnvironment:
    return RestrictedEnvironment(time_limit=0.2)


def _data() -> dict[str, Any]:
    return {"amount": 5, "kind": "a", "items": [1, 2], "info": {"n": 1}}


# Allowed code


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("amount > 3 and kind == 'a'", True),
        ("amount > 10 or kind != 'a'", False),
        ("len(items) == 2 and sum(items) == 3", True),
        ("[x * 2 for x in items if x > 1]", [4]),
        ("{k: v + 1 for k, v in info.items()}", {"n": 2}),
        ("sorted(zip(items, 'ba'), key=lambda p: p[1])", [(2, "a"), (1, "b")]),
        ("max(items) + min(items) + abs(-1) + round(2.6)", 7),
        ("all(isinstance(i, int) for i in items) and not any(i > 5 for i in items)", True),
        ("list(enumerate(range(2)))", [(0, 0), (1, 1)]),
        ("str(amount) + str(int('3')) + str(float(1)) + str(bool(0))", "531.0False"),
        ("set(items) | {3}", {1, 2, 3}),
        ("info['n'] * 2 ** 3", 8),
        ("\n   amount\n", 5),  # BPMN XML text carries surrounding whitespace
    ],
)
def test_evaluate_returns_the_value_over_task_data(
    env: RestrictedEnvironment, expression: str, expected: Any
) -> None:
    assert env.evaluate(expression, _data()) == expected


def test_execute_assigns_and_mutates_task_data(env: RestrictedEnvironment) -> None:
    data = _data()
    env.execute(
        "total = 0\n"
        "for i in items:\n"
        "    total += i\n"
        "items.append(3)\n"
        "info['m'] = total\n"
        "del info['n']\n"
        "squares = [i * i for i in range(4)]\n"
        "first, (second, third) = 1, (2, 3)\n"
        "def double(x):\n"
        "    return x * 2\n"
        "doubled = double(amount)\n"
        "label = f'{kind}-{amount:03d}'\n"
        "del kind\n",
        data,
    )
    assert data == {
        "amount": 5,
        "items": [1, 2, 3],
        "info": {"m": 3},
        "total": 3,
        "i": 2,  # loop variables persist, as in plain Python
        "squares": [0, 1, 4, 9],
        "first": 1,
        "second": 2,
        "third": 3,
        "doubled": 10,
        "label": "a-005",
    }


def test_execute_leaves_no_builtins_functions_or_helpers_in_task_data(
    env: RestrictedEnvironment,
) -> None:
    data: dict[str, Any] = {}
    env.execute("f = lambda: 1\ng = today\nn = f()\nprint('x')\nstamp = datetime(2024, 1, 2)", data)
    assert data == {"n": 1, "stamp": datetime(2024, 1, 2)}


def test_print_is_harmless(env: RestrictedEnvironment, capsys: pytest.CaptureFixture[str]) -> None:
    env.execute("print('hello', amount)", _data())
    assert capsys.readouterr().out == ""


def test_today_is_the_date_in_tokyo(env: RestrictedEnvironment) -> None:
    before = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    value = env.evaluate("today()", {})
    after = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    assert isinstance(value, date)
    assert value in {before, after}


def test_date_values_and_helpers(env: RestrictedEnvironment) -> None:
    data: dict[str, Any] = {"start": date(2024, 3, 30), "fee": Decimal("1.10")}
    env.execute(
        "due = start + timedelta(days=3)\n"
        "late = today() > due\n"
        "weekday = due.weekday()\n"
        "iso = due.isoformat()\n"
        "parsed = date.fromisoformat('2024-04-02') == due\n"
        "total = fee * 3 + Decimal('0.70')\n"
        "stamp = datetime(2024, 1, 1, 9, 30).strftime('%H:%M')\n"
        "parsed_time = datetime.strptime('2024-01-02 10:00', '%Y-%m-%d %H:%M')\n",
        data,
    )
    assert data["due"] == date(2024, 4, 2)
    assert data["late"] is True
    assert data["iso"] == "2024-04-02"
    assert data["parsed"] is True
    assert data["total"] == Decimal("4.00")
    assert data["stamp"] == "09:30"
    assert data["parsed_time"] == datetime(2024, 1, 2, 10, 0)


def test_task_data_shadows_helpers(env: RestrictedEnvironment) -> None:
    # A form field called "date" must not break every script of the process.
    data: dict[str, Any] = {"date": "2024-01-01"}
    assert env.evaluate("date", data) == "2024-01-01"
    env.execute("copy = date", data)
    assert data == {"date": "2024-01-01", "copy": "2024-01-01"}


def test_external_context_is_visible_but_not_copied_into_task_data(
    env: RestrictedEnvironment,
) -> None:
    data: dict[str, Any] = {"amount": 1}
    assert env.evaluate("amount + shared", data, {"shared": 2}) == 3
    env.execute("result = shared * 2\nshared = 9", data, {"shared": 2})
    assert data == {"amount": 1, "result": 4}


def test_underscore_keys_in_task_data_are_invisible_and_preserved(
    env: RestrictedEnvironment,
) -> None:
    data: dict[str, Any] = {"_getattr_": "not a guard", "amount": 1}
    env.execute("upper = 'abc'.upper()", data)
    assert data == {"_getattr_": "not a guard", "amount": 1, "upper": "ABC"}


def test_compiled_code_is_cached() -> None:
    source = "amount > 123456"
    check_expression(source)
    hits = scripting._compile.cache_info().hits
    RestrictedEnvironment().evaluate(source, {"amount": 1})
    assert scripting._compile.cache_info().hits == hits + 1


# Refused code

ESCAPES = [
    "import os",
    "from os import path",
    "open('/etc/passwd')",
    "__import__('os')",
    "().__class__.__bases__[0].__subclasses__()",
    "(lambda: 0).__globals__",
    "getattr(items, '__class__')",
    "eval('1')",
    "exec('x = 1')",
    "compile('1', 'f', 'eval')",
    "globals()",
    "vars()",
    "type(items)",
    "today.__globals__['sys']",
    "items._private",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_escape_is_refused_by_check_script(source: str) -> None:
    with pytest.raises(ScriptError) as info:
        check_script(source)
    assert info.value.message_ja.startswith("スクリプトで許可されていない操作です: ")
    assert info.value.line == 1


@pytest.mark.parametrize("source", [s for s in ESCAPES if not s.startswith(("import", "from"))])
def test_escape_is_refused_by_check_expression(source: str) -> None:
    with pytest.raises(ScriptError):
        check_expression(source)


@pytest.mark.parametrize("source", ESCAPES)
def test_escape_is_refused_at_run_time_and_task_data_survives(
    env: RestrictedEnvironment, source: str
) -> None:
    data = _data()
    before = copy.deepcopy(data)
    with pytest.raises(ScriptError):
        env.execute(source, data)
    assert data == before
    assert "__builtins__" not in data
    assert env.evaluate("amount + len(items)", data) == 7


def test_refusal_names_the_operation_in_japanese() -> None:
    with pytest.raises(ScriptError) as info:
        check_script("x = 1\nimport os")
    assert info.value.message_ja == "スクリプトで許可されていない操作です: import"
    assert info.value.line == 2
    assert "import" in info.value.reason


@pytest.mark.parametrize(
    "source",
    [
        "try:\n    x = 1\nexcept Exception:\n    pass",
        "with x:\n    pass",
        "class C:\n    pass",
    ],
)
def test_constructs_that_could_defeat_the_guards_are_refused(source: str) -> None:
    with pytest.raises(ScriptError):
        check_script(source)


def test_syntax_error_is_a_script_error() -> None:
    with pytest.raises(ScriptError) as info:
        check_expression("amount >")
    assert info.value.message_ja.startswith("スクリプトの構文に誤りがあります")


def test_absurdly_nested_source_is_a_script_error() -> None:
    with pytest.raises(ScriptError):
        check_expression("-" * 100_000 + "1")


@pytest.mark.parametrize("source", ["f = open\nf('/etc/passwd')", "id(1)", "exit", "pow(2, 10, 3)"])
def test_names_missing_from_builtins_fail_at_run_time(
    env: RestrictedEnvironment, source: str
) -> None:
    check_script(source)  # a plain name is not refused: task data may use it
    with pytest.raises(ScriptError) as info:
        env.execute(source, {})
    assert isinstance(info.value.__cause__, NameError)


@pytest.mark.parametrize(
    "source",
    [
        "'{}'.format(1)",  # str.format can reach attributes through the format string
        "today().no_such_attribute",  # a missing attribute raises, it does not turn into None
    ],
)
def test_unsafe_or_missing_attribute_raises(env: RestrictedEnvironment, source: str) -> None:
    with pytest.raises(ScriptError):
        env.evaluate(source, _data())


def test_attribute_assignment_is_refused(env: RestrictedEnvironment) -> None:
    with pytest.raises(ScriptError):
        env.execute("d = today()\nd.year = 1", {})


def test_runtime_error_becomes_script_error_with_cause_and_line(
    env: RestrictedEnvironment,
) -> None:
    with pytest.raises(ScriptError) as info:
        env.execute("x = 1\ny = x / 0", {})
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert info.value.line == 2
    assert "2行目" in info.value.message_ja


def test_undefined_name_keeps_name_error_as_cause(env: RestrictedEnvironment) -> None:
    with pytest.raises(ScriptError) as info:
        env.evaluate("missing_field > 1", {})
    assert isinstance(info.value.__cause__, NameError)
    assert "missing_field" in info.value.message_ja


# Runaway code


@pytest.mark.parametrize(
    "source",
    [
        "while True: pass",
        "while True:\n    x = 1",
        "def spin():\n    while 1: ...\nspin()",
        "x = [0 for i in range(10**6) for j in range(10**6)]",
    ],
)
def test_runaway_script_is_stopped(env: RestrictedEnvironment, source: str) -> None:
    data = _data()
    started = time.monotonic()
    with pytest.raises(ScriptError) as info:
        env.execute(source, data)
    assert time.monotonic() - started < 5
    assert info.value.message_ja == "スクリプトの実行時間が上限（0.2秒）を超えました"
    assert data == _data()


def test_runaway_expression_is_stopped(env: RestrictedEnvironment) -> None:
    with pytest.raises(ScriptError, match="time limit"):
        env.evaluate("any(i < 0 for i in range(10**6) for j in range(10**6))", {})


def test_previous_trace_function_is_restored(env: RestrictedEnvironment) -> None:
    def tracer(frame: Any, event: str, arg: Any) -> None:
        return None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        with pytest.raises(ScriptError):
            env.execute("while True: pass", {})
        env.execute("x = 1", {})
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(previous)


@pytest.mark.parametrize(
    "source",
    [
        "x = 'a' * 10**10",
        "x = [0] * 10**10",
        "x = 10 * 'a' * 10**9",
        "x = 2 ** 10**10",
        "x = 1 << 10**10",
        "x = [0]\nx *= 10**10",
        "x = sum(range(10**12))",
    ],
)
def test_memory_and_cpu_bombs_are_bounded(env: RestrictedEnvironment, source: str) -> None:
    with pytest.raises(ScriptError) as info:
        env.execute(source, {})
    assert info.value.message_ja == "スクリプトの計算結果が大きすぎます"


def test_reasonable_arithmetic_is_unaffected(env: RestrictedEnvironment) -> None:
    data: dict[str, Any] = {}
    env.execute("a = 'ab' * 3\nb = 2**64\nc = [0] * 3\nd = 1 << 8\ne = 1.5**2", data)
    assert data == {"a": "ababab", "b": 2**64, "c": [0, 0, 0], "d": 256, "e": 2.25}


def test_time_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RestrictedEnvironment(time_limit=0)


# SpiffWorkflow integration

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs"
    targetNamespace="urn:kasane:test">
  <bpmn:process id="PROCESS" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>to_setup</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="to_setup" sourceRef="start" targetRef="setup" />
    <bpmn:scriptTask id="setup">
      <bpmn:incoming>to_setup</bpmn:incoming>
      <bpmn:outgoing>to_gateway</bpmn:outgoing>
      <bpmn:script>SETUP</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="to_gateway" sourceRef="setup" targetRef="gateway" />
    <bpmn:exclusiveGateway id="gateway" default="to_low">
      <bpmn:incoming>to_gateway</bpmn:incoming>
      <bpmn:outgoing>to_high</bpmn:outgoing>
      <bpmn:outgoing>to_low</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="to_high" sourceRef="gateway" targetRef="high">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">
        amount &gt; 3 and kind == 'a'
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_low" sourceRef="gateway" targetRef="low" />
    <bpmn:scriptTask id="high">
      <bpmn:incoming>to_high</bpmn:incoming>
      <bpmn:outgoing>high_done</bpmn:outgoing>
      <bpmn:script>route = 'high'</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:scriptTask id="low">
      <bpmn:incoming>to_low</bpmn:incoming>
      <bpmn:outgoing>low_done</bpmn:outgoing>
      <bpmn:script>route = 'low'</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="high_done" sourceRef="high" targetRef="end" />
    <bpmn:sequenceFlow id="low_done" sourceRef="low" targetRef="end" />
    <bpmn:endEvent id="end">
      <bpmn:incoming>high_done</bpmn:incoming>
      <bpmn:incoming>low_done</bpmn:incoming>
    </bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def _workflow(process_id: str, setup: str) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(BPMN.replace("PROCESS", process_id).replace("SETUP", setup).encode())
    return BpmnWorkflow(parser.get_spec(process_id), script_engine=make_script_engine())


def test_make_script_engine_uses_the_restricted_environment() -> None:
    engine = make_script_engine(time_limit=0.5)
    assert isinstance(engine, PythonScriptEngine)
    assert isinstance(engine.environment, RestrictedEnvironment)
    assert engine.environment.time_limit == 0.5


@pytest.mark.parametrize(("amount", "route"), [(5, "high"), (1, "low")])
def test_gateway_condition_runs_in_the_restricted_environment(amount: int, route: str) -> None:
    workflow = _workflow("routing", f"amount = {amount}\nkind = 'a'")
    workflow.do_engine_steps()
    assert workflow.is_completed()
    [end] = workflow.get_tasks(spec_name="end")
    assert end.data == {"amount": amount, "kind": "a", "route": route}


def _causes(exc: BaseException | None) -> list[BaseException]:
    chain = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def test_forbidden_script_task_fails_with_script_error_as_cause() -> None:
    workflow = _workflow("bad_script", "import os")
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    [cause] = [c for c in _causes(info.value) if isinstance(c, ScriptError)]
    assert cause.message_ja == "スクリプトで許可されていない操作です: import"
    assert not workflow.is_completed()


def test_timer_style_expressions_evaluate(env: RestrictedEnvironment) -> None:
    assert env.evaluate("'PT1H'", {}) == "PT1H"
    assert env.evaluate("(datetime(2024, 1, 1) + timedelta(days=2)).isoformat()", {}) == (
        "2024-01-03T00:00:00"
    )
