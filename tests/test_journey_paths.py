"""The path check itself: what it requires of the journeys, read from the diagrams."""

from __future__ import annotations

from pathlib import Path

from tests.journey_paths import journey_names, missing, required

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="ask" />
    <bpmn:userTask id="ask" name="聞く" />
    <bpmn:sequenceFlow id="f1" sourceRef="ask" targetRef="g" />
    <bpmn:exclusiveGateway id="g" name="どうする？" />
    <bpmn:sequenceFlow id="yes" sourceRef="g" targetRef="e1" />
    <bpmn:sequenceFlow id="no" sourceRef="g" targetRef="e2" />
    <bpmn:endEvent id="e1" name="終わり" />
    <bpmn:endEvent id="e2" />
    <bpmn:exclusiveGateway id="merge" />
    <bpmn:sequenceFlow id="m" sourceRef="merge" targetRef="e2" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_every_gateway_branch_and_user_task_is_required(tmp_path: Path) -> None:
    (tmp_path / "p.bpmn").write_text(DIAGRAM, encoding="utf-8")
    found = required(tmp_path)
    assert {r.element_id for r in found} == {"ask", "yes", "no"}  # a single way on is no choice
    gaps = missing(found, {("p", "s", "ask"), ("p", "g", "e1")})
    assert [g.element_id for g in gaps] == ["no"]
    assert "「どうする？」→「e2」（no）" in gaps[0].label
    assert missing(found, {("p", "s", "ask"), ("p", "g", "e1"), ("p", "g", "e2")}) == []
    assert [g.element_id for g in missing(found, {("other", "g", "e1")})] == ["ask", "yes", "no"]


def test_the_real_diagrams_require_every_branch_of_the_flow() -> None:
    found = {(r.process_key, r.element_id) for r in required()}
    assert ("support_case", "council_to_emergency") in found
    assert ("support_case", "escalation") in found
    assert ("participation", "retention_rematch") in found
    assert ("outreach", "keep_visiting") in found
    assert any(name.startswith("test_journeys_delivery.py::") for name in journey_names())
