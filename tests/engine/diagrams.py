"""Small BPMN diagrams written inline for deploy and run tests: a chain of elements in one process."""

from __future__ import annotations

import re

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
    ' xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' id="{defs_id}" targetNamespace="http://kasane.example/bpmn">\n'
)
FORM = (
    "<bpmn:extensionElements><spiffworkflow:properties>"
    '<spiffworkflow:property name="formJsonSchemaFilename" value="loop.schema.json" />'
    "</spiffworkflow:properties></bpmn:extensionElements>"
)


def user_task(element_id: str, name: str = "確認", inner: str = "") -> str:
    """A user task Kasane accepts (in a lane, with a form)."""
    return f'<bpmn:userTask id="{element_id}" name="{name}">{FORM}{inner}</bpmn:userTask>'


def process(*nodes: str, key: str = "p", name: str = "テスト", executable: bool = True) -> str:
    """A process running start → each node in turn → end; user tasks go into one lane."""
    ids = [re.search(r'id="([^"]+)"', node).group(1) for node in nodes]
    chain = [f"{key}_start", *ids, f"{key}_end"]
    flows = "".join(
        f'<bpmn:sequenceFlow id="{key}_f{i}" sourceRef="{a}" targetRef="{b}" />'
        for i, (a, b) in enumerate(zip(chain, chain[1:], strict=False))
    )
    in_lane = re.findall(r'<bpmn:(?:userTask|manualTask) id="([^"]+)"', "".join(nodes))
    refs = "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in in_lane)
    lanes = (
        f'<bpmn:laneSet id="{key}_lanes"><bpmn:lane id="{key}_lane" name="多機関協働">'
        f"{refs}</bpmn:lane></bpmn:laneSet>"
        if in_lane
        else ""
    )
    flag = "true" if executable else "false"
    return (
        f'<bpmn:process id="{key}" name="{name}" isExecutable="{flag}">{lanes}'
        f'<bpmn:startEvent id="{key}_start" />{"".join(nodes)}'
        f'<bpmn:endEvent id="{key}_end" />{flows}</bpmn:process>\n'
    )


def document(*processes: str, before: str = "", defs_id: str = "defs") -> str:
    """A whole BPMN file: ``before`` holds root elements (messages, data stores) before the processes."""
    return HEAD.format(defs_id=defs_id) + before + "".join(processes) + "</bpmn:definitions>\n"
