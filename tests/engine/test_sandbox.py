"""Designer code runs in sandbox processes the OS stops: a C call the guards do not know is
stopped at its CPU or memory limit, the process is replaced, and the caller goes on serving."""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from app.config import ConfigError, ScriptLimits, read_script_limits
from app.engine import sandbox
from app.engine.runtime import EngineError, Run
from app.engine.scripting import (
    RestrictedEnvironment,
    ScriptError,
)
from app.engine.specs import DeployError, Document, inspect, load_bundle
from app.extensions import db
from app.models import ProcessInstance, User, WorkItem
from app.services import definitions, events, instances, work_items
from app.services.errors import ProcessFailure
from tests.engine.diagrams import document, process, user_task
from tests.engine.helpers import load_form

# The example: 2 GB in one C call the guards do not know, then 4 GB more.
LJUST_REPLACE = "x = len('x'.ljust(2000000000).replace('x', 'yy'))"
# Ten thousand sorts of a million items, all inside C: no Python frame for the tracer to stop.
C_LOOP = "items = list(range(10**6))\nx = sum(map(len, map(sorted, [items] * 10**4)))"
MEMORY_BOMB = "x = [list(range(10**6)) for i in range(1000)]"
# Fits in memory in-process, not under the sandbox's default 256 MB.
BIG = "len('x'.ljust(400000000))"
TIME_MESSAGE = "スクリプトの実行時間が上限（{}秒）を超えました"
MEMORY_MESSAGE = "スクリプトが使うメモリが上限（{}MB）を超えました"


@pytest.fixture
def env() -> RestrictedEnvironment:
    return RestrictedEnvironment(time_limit=0.5, memory_mb=256)


def _stopped(env: RestrictedEnvironment, source: str) -> ScriptError:
    """Run ``source``, expecting the OS to stop it: the error, and its process replaced."""
    pool = sandbox.pool()
    assert env.evaluate("1 + 1", {}) == 2  # a warm process to be stopped
    replaced = pool.replaced
    data: dict[str, Any] = {"kept": [1, 2]}
    with pytest.raises(ScriptError) as caught:
        env.execute(source, data)
    assert data == {"kept": [1, 2]}
    assert pool.replaced == replaced + 1
    assert env.evaluate("kept + [3]", data) == [1, 2, 3]  # the next script works
    return caught.value


def test_c_call_the_guards_miss_is_stopped_and_its_process_replaced(
    env: RestrictedEnvironment,
) -> None:
    error = _stopped(env, LJUST_REPLACE)
    assert error.message_ja == MEMORY_MESSAGE.format(256)


def test_endless_c_loop_is_stopped_at_the_cpu_limit(env: RestrictedEnvironment) -> None:
    error = _stopped(env, C_LOOP)
    assert error.message_ja == TIME_MESSAGE.format(0.5)


def test_memory_bomb_is_stopped() -> None:
    # Python-level allocation, so the in-process tracer's time limit could stop it first on a busy
    # machine (an error reply, the process kept): a time limit it cannot reach before the memory's.
    error = _stopped(RestrictedEnvironment(time_limit=10, memory_mb=256), MEMORY_BOMB)
    assert error.message_ja == MEMORY_MESSAGE.format(256)


def test_python_loop_is_stopped_by_the_tracer_without_losing_the_process(
    env: RestrictedEnvironment,
) -> None:
    pool = sandbox.pool()
    env.evaluate("1", {})
    replaced = pool.replaced
    with pytest.raises(ScriptError) as caught:
        env.execute("x = 1\nwhile True:\n    x += 1", {})
    assert caught.value.message_ja == TIME_MESSAGE.format(0.5)
    assert caught.value.line in (2, 3)
    assert pool.replaced == replaced


def test_memory_limit_is_configurable() -> None:
    # Time enough for the 400 MB on a busy machine: the memory limit is what is tested here.
    roomy = RestrictedEnvironment(memory_mb=1024, time_limit=10)
    assert roomy.evaluate(BIG, {}) == 400_000_000
    with pytest.raises(ScriptError) as caught:
        RestrictedEnvironment(memory_mb=64, time_limit=10).evaluate(BIG, {})
    assert caught.value.message_ja == MEMORY_MESSAGE.format(64)


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KASANE_SCRIPT_CPU_SECONDS", "0.25")
    monkeypatch.setenv("KASANE_SCRIPT_MEMORY_MB", "128")
    assert read_script_limits() == ScriptLimits(cpu_seconds=0.25, memory_mb=128)
    made = RestrictedEnvironment()
    assert (made.time_limit, made.memory_mb) == (0.25, 128)
    assert read_script_limits({}) == ScriptLimits(cpu_seconds=1.0, memory_mb=256)
    for bad in ({"KASANE_SCRIPT_CPU_SECONDS": "ten"}, {"KASANE_SCRIPT_MEMORY_MB": "1"}):
        with pytest.raises(ConfigError):
            read_script_limits(bad)


SCRIPTS = [
    "total = sum(items)\nitems.append(total)\ninfo['seen'] = True\ndel kind",
    "due = start + timedelta(days=3)\nfee = price * 3\nwhen = datetime(2024, 1, 2, 9, 30)",
    "tags = set(items) | {9}\nfrozen = frozenset(tags)\npair = (kind, amount)",
    "nested = {'a': [{'b': (1, 2.5, None)}], 'c': {'d': 'テキスト'}}",
    "result = shared * 2\nshared = 9\nf = lambda: 1\ng = (i for i in items)",
    "aware = datetime(2024, 1, 1, 9, 0, tzinfo=start_at.tzinfo)\nlater = start_at + timedelta(1)",
]


@pytest.mark.parametrize("script", SCRIPTS)
def test_sandboxed_scripts_change_task_data_exactly_as_in_process(
    env: RestrictedEnvironment, script: str
) -> None:
    marker = object()

    def data() -> dict[str, Any]:
        return {
            "amount": 5,
            "kind": "a",
            "items": [1, 2],
            "info": {"n": 1},
            "start": date(2024, 3, 30),
            "start_at": datetime(2024, 3, 30, 9, tzinfo=timezone(timedelta(hours=9))),
            "price": Decimal("1.10"),
            "_hidden": marker,  # invisible to scripts, left where it is
        }

    here, there = data(), data()
    RestrictedEnvironment(sandboxed=False).execute(script, here, {"shared": 2})
    env.execute(script, there, {"shared": 2})
    assert there.pop("_hidden") is marker and here.pop("_hidden") is marker
    assert there == here
    assert {k: type(v) for k, v in there.items()} == {k: type(v) for k, v in here.items()}


def test_a_value_that_cannot_be_stored_is_refused(env: RestrictedEnvironment) -> None:
    data: dict[str, Any] = {"a": [1], "b": [2]}
    with pytest.raises(ScriptError) as caught:
        env.execute("pairs = zip(a, b)", data)
    assert caught.value.message_ja == "スクリプトの結果に保存できない値があります（zip）"
    assert data == {"a": [1], "b": [2]}


def test_the_parent_unpickles_nothing_but_plain_data() -> None:
    hostile = pickle.dumps(("ok", os.getcwd))
    with pytest.raises(pickle.UnpicklingError):
        sandbox._PlainUnpickler(io.BytesIO(hostile)).load()


def test_threads_share_the_pool(env: RestrictedEnvironment) -> None:
    results: dict[int, list[Any]] = {}

    def work(n: int) -> None:
        results[n] = [env.evaluate("n * 2 + i", {"n": n, "i": i}) for i in range(20)]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {n: [n * 2 + i for i in range(20)] for n in range(8)}


def test_a_forked_process_gets_a_pool_of_its_own(env: RestrictedEnvironment) -> None:
    assert env.evaluate("0 + 1", {}) == 1
    inherited = sandbox.pool()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        code = 1
        try:
            if sandbox.pool() is not inherited and env.evaluate("20 + 22", {}) == 42:
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert sandbox.pool() is inherited and env.evaluate("2 + 2", {}) == 4


BOUNDED = [
    ('decision == "window"', {"decision": "window"}, True),
    ("urgency in ('high', 'medium') and not closed", {"urgency": "low", "closed": False}, False),
    ("age >= 65 or kind is None", {"age": 40, "kind": None}, True),
    ("members", {"members": [{"name": "a"}]}, [{"name": "a"}]),
]


@pytest.mark.parametrize(("source", "data", "expected"), BOUNDED)
def test_comparisons_of_names_and_constants_run_in_process(
    env: RestrictedEnvironment,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    data: dict[str, Any],
    expected: Any,
) -> None:
    sent: list[Any] = []
    real_run = sandbox.run
    monkeypatch.setattr(sandbox, "run", lambda *a: sent.append(a) or real_run(*a))
    value = env.evaluate(source, data)
    assert value == expected and sent == []
    if isinstance(value, list):  # a copy, as from the sandbox: changing it leaves the data be
        value.append("x")
        assert data["members"] == [{"name": "a"}]
    assert RestrictedEnvironment(sandboxed=False).evaluate(source, data) == expected


@pytest.mark.parametrize(
    "source",
    ["len(note) > 3", "note * 3 == 'xxx'", "[n for n in note] == []", "note[0] == 'x'", BIG],
)
def test_anything_else_still_goes_to_the_sandbox(
    env: RestrictedEnvironment, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    sent: list[Any] = []
    real_run = sandbox.run
    monkeypatch.setattr(sandbox, "run", lambda *a: sent.append(a) or real_run(*a))
    with pytest.raises(ScriptError) if source == BIG else contextlib.nullcontext():
        env.evaluate(source, {"note": "x"})
    assert len(sent) == 1


# Through the engine: conditions and timer expressions go through the sandbox too.

GATEWAY = """<bpmn:process id="p" isExecutable="true">
  <bpmn:startEvent id="s" /><bpmn:exclusiveGateway id="gw" name="振り分け" default="other" />
  <bpmn:scriptTask id="big" name="大きい"><bpmn:script>route = 'big'</bpmn:script></bpmn:scriptTask>
  <bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" />
  <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="gw" />
  <bpmn:sequenceFlow id="a" sourceRef="gw" targetRef="big">
    <bpmn:conditionExpression>CONDITION</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="other" sourceRef="gw" targetRef="e2" />
  <bpmn:sequenceFlow id="f1" sourceRef="big" targetRef="e1" />
</bpmn:process>"""


def _timer(expression: str) -> str:
    return (
        '<bpmn:intermediateCatchEvent id="wait" name="待つ"><bpmn:timerEventDefinition>'
        f"<bpmn:timeDuration>{expression}</bpmn:timeDuration>"
        "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    )


def _bundle(name: str, xml: str) -> Any:
    doc = Document(name, xml)
    inspect([doc], load_form, set())
    return load_bundle(f"test:{name}:{hash(xml)}", "p", lambda: [doc])


def test_gateway_condition_runs_in_the_sandbox() -> None:
    ok = _bundle("gw_ok.bpmn", document(GATEWAY.replace("CONDITION", "len(note) &gt; 3")))
    assert Run.start(ok, {"note": "long note"}).last_data()["route"] == "big"
    bomb = _bundle("gw_bomb.bpmn", document(GATEWAY.replace("CONDITION", f"{BIG} &gt; 0")))
    with pytest.raises(EngineError) as caught:
        Run.start(bomb, {"note": "x"})
    assert caught.value.message_ja == MEMORY_MESSAGE.format(256)


def test_timer_expression_runs_in_the_sandbox() -> None:
    # At deploy "note" is unknown, so the expression waits for run time; in-process it gives P1D.
    expression = '"P" + str(len(note.ljust(400000000)) // 400000000) + "D"'
    spec = _bundle("timer_bomb.bpmn", document(process(_timer(expression))))
    with pytest.raises(EngineError) as caught:
        Run.start(spec, {"note": "x"})
    assert caught.value.message_ja == MEMORY_MESSAGE.format(256)


def test_deploy_evaluates_a_constant_timer_expression_in_the_sandbox() -> None:
    xml = document(process(_timer(f'"PT" + str({BIG}) + "S"')))
    with pytest.raises(DeployError) as caught:
        inspect([Document("timer_const.bpmn", xml)], load_form, set())
    assert MEMORY_MESSAGE.format(256) in str(caught.value)


# With the database: the instance is marked in error, the person is told, the next step works.


def _script(element_id: str, source: str) -> str:
    return (
        f'<bpmn:scriptTask id="{element_id}" name="計算"><bpmn:script>{source}</bpmn:script>'
        "</bpmn:scriptTask>"
    )


def _deploy(app: Flask, tmp_path: Path, name: str, xml: str) -> None:
    path = tmp_path / name
    path.write_text(xml, encoding="utf-8")
    definitions.deploy([str(path)], app.config["KASANE_FORMS_DIR"])


def _gated(element_id: str, source: str) -> str:
    # Only a note of "run" takes the script, so the same task can then be completed cleanly.
    return _script(
        element_id, f"x = 0\nif note == 'run':\n    {source.replace(chr(10), chr(10) + '    ')}"
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [(LJUST_REPLACE, MEMORY_MESSAGE.format(256)), (C_LOOP, TIME_MESSAGE.format(1.0))],
    ids=["ljust_replace", "c_loop"],
)
def test_completion_whose_script_is_killed_marks_the_instance_in_error(
    ctx: Flask, demo: None, tmp_path: Path, source: str, message: str
) -> None:
    _deploy(
        ctx, tmp_path, "killed.bpmn", document(process(user_task("enter"), _gated("calc", source)))
    )
    coordinator = db.session.scalar(select(User).where(User.username == "demo-coordinator"))
    instance = instances.start("p")
    [item] = instances.open_items(instance)
    with pytest.raises(ProcessFailure) as caught:
        work_items.complete(item.id, coordinator, {"note": "run"})
    assert message in caught.value.message and "係長・課長に知らせました" in caught.value.message
    db.session.expire_all()
    failed = db.session.get(ProcessInstance, instance.id)
    assert "calc" in failed.error and message in failed.error
    assert db.session.get(WorkItem, item.id).draft == {"note": "run"}
    work_items.complete(item.id, coordinator, {"note": "問題なし"})
    finished = db.session.get(ProcessInstance, instance.id)
    assert finished.status == "completed" and finished.error is None


def test_timer_worker_marks_a_killed_script_in_error_and_goes_on(
    ctx: Flask, demo: None, tmp_path: Path
) -> None:
    xml = document(process(_timer('"P1D"'), _gated("calc", C_LOOP)))
    _deploy(ctx, tmp_path, "timed.bpmn", xml)
    killed = instances.start("p", data={"note": "run"})
    calm = instances.start("p", data={"note": "ok"})
    with time_machine.travel(datetime.now(UTC) + timedelta(days=2), tick=False):
        assert events.fire_due_timers() == 1
    db.session.expire_all()
    failed = db.session.get(ProcessInstance, killed.id)
    assert "calc" in failed.error and TIME_MESSAGE.format(1.0) in failed.error
    assert failed.next_timer_at is None  # the worker does not retry it every round
    assert db.session.get(ProcessInstance, calm.id).status == "completed"
