"""Run-time failures of a deployed diagram come back as an EngineError in Japanese naming the
element, never as the engine's own TypeError or English message."""

from __future__ import annotations

import re

import pytest
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from app.engine.engine_messages import parse_problem, run_problem
from app.engine.runtime import EngineError, Run
from app.engine.specs import Document, inspect, load_bundle
from tests.engine.diagrams import document, process
from tests.engine.helpers import load_form

ENGLISH_SENTENCE = re.compile(r"[A-Za-z]{3,}\s+[A-Za-z]{3,}\s+[A-Za-z]{3,}")


def each_item(sequential: bool) -> str:
    flag = "true" if sequential else "false"
    return (
        '<bpmn:scriptTask id="each" name="一件ずつ">'
        f'<bpmn:multiInstanceLoopCharacteristics isSequential="{flag}">'
        "<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>"
        '<bpmn:inputDataItem id="item" /></bpmn:multiInstanceLoopCharacteristics>'
        "<bpmn:script>total = item</bpmn:script></bpmn:scriptTask>"
    )


def deployed(name: str, xml: str, key: str = "p"):
    doc = Document(name, xml)
    inspect([doc], load_form, set())  # it deploys: the failure is only at run time
    return load_bundle(f"test:{name}:{hash(xml)}", key, lambda: [doc])


@pytest.mark.parametrize("sequential", [False, True])
@pytest.mark.parametrize("data", [{}, {"items": None}, {"items": 3}])
def test_multi_instance_without_its_input_collection_fails_clearly(
    sequential: bool, data: dict
) -> None:
    spec = deployed(f"mi_{sequential}.bpmn", document(process(each_item(sequential))))
    with pytest.raises(EngineError) as caught:
        Run.start(spec, data)
    assert caught.value.element_id == "each"
    assert "「items」" in caught.value.message_ja and "リスト" in caught.value.message_ja
    assert not isinstance(caught.value.__cause__, EngineError)


def test_multi_instance_with_its_collection_runs() -> None:
    spec = deployed("mi_ok.bpmn", document(process(each_item(False))))
    assert Run.start(spec, {"items": [1, 2, 3]}).workflow.is_completed()


def test_service_task_deployed_before_it_was_refused_fails_clearly_at_run() -> None:
    # Versions deployed before deploy refused service tasks still exist; running one must not
    # end in the engine's NameError.
    task = (
        '<bpmn:serviceTask id="call_api" name="外部照会"><bpmn:extensionElements>'
        '<spiffworkflow:serviceTaskOperator id="http/GetRequest" resultVariable="answer" />'
        "</bpmn:extensionElements></bpmn:serviceTask>"
    )
    xml = document(process(task))
    doc = Document("old.bpmn", xml)
    spec = load_bundle(f"test:old:{hash(xml)}", "p", lambda: [doc])
    with pytest.raises(EngineError) as caught:
        Run.start(spec, {})
    assert caught.value.element_id == "call_api"
    assert "サービスタスク" in caught.value.message_ja


def test_gateway_with_no_matching_condition_fails_clearly() -> None:
    xml = document(
        '<bpmn:process id="p" isExecutable="true">'
        '<bpmn:startEvent id="s" /><bpmn:inclusiveGateway id="gw" name="振り分け" />'
        '<bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" />'
        '<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="gw" />'
        '<bpmn:sequenceFlow id="a" sourceRef="gw" targetRef="e1">'
        "<bpmn:conditionExpression>x == 1</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="b" sourceRef="gw" targetRef="e2">'
        "<bpmn:conditionExpression>x == 2</bpmn:conditionExpression></bpmn:sequenceFlow>"
        "</bpmn:process>"
    )
    with pytest.raises(EngineError) as caught:
        Run.start(deployed("gw.bpmn", xml), {"x": 3})
    assert caught.value.element_id == "gw"
    assert "default" in caught.value.message_ja
    assert not ENGLISH_SENTENCE.search(caught.value.message_ja)


def test_engine_messages_nobody_translated_still_read_as_japanese() -> None:
    new = ValidationException("Something entirely new went wrong here")
    for problem in (parse_problem(new), run_problem(RuntimeError("boom went the engine"), None)):
        assert "実行エンジン" in problem and not ENGLISH_SENTENCE.search(problem)
