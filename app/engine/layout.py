"""Draws diagram interchange (DI) for a BPMN file that has none: lanes as bands, flow left to right.

Designers may write or generate the semantic XML alone; this gives it a readable layout that
bpmn-js can show and edit. Existing DI is replaced.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

from lxml import etree

from app.engine.namespaces import BPMN, BPMNDI, DC, DI

NODE_TAGS = {
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "userTask", "manualTask",
    "scriptTask", "serviceTask", "task", "callActivity", "subProcess", "exclusiveGateway", "parallelGateway",
    "inclusiveGateway", "eventBasedGateway", "sendTask", "receiveTask", "businessRuleTask",
}  # fmt: skip
COLUMN, ROW, LANE_HEADER, LEFT = 150, 120, 30, 80


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def mid(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


def _size(tag: str) -> tuple[int, int]:
    if tag.endswith("Event"):
        return 36, 36
    if tag.endswith("Gateway"):
        return 50, 50
    return 100, 80


def layout(xml: bytes) -> bytes:
    """Return the document with fresh DI for every process (in a collaboration, one pool each)."""
    root = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True))
    for old in root.findall(f"{{{BPMNDI}}}BPMNDiagram"):
        root.remove(old)
    processes = root.findall(f"{{{BPMN}}}process")
    collaboration = root.find(f"{{{BPMN}}}collaboration")
    if collaboration is None:
        collaboration = etree.Element(
            f"{{{BPMN}}}collaboration", id=f"{root.get('id', 'defs')}_collaboration"
        )
        root.insert(list(root).index(processes[0]), collaboration)
    participants = {p.get("processRef"): p for p in collaboration.findall(f"{{{BPMN}}}participant")}
    diagram = etree.SubElement(
        root, f"{{{BPMNDI}}}BPMNDiagram", id=f"{collaboration.get('id')}_diagram"
    )
    plane = etree.SubElement(
        diagram, f"{{{BPMNDI}}}BPMNPlane", id=f"{collaboration.get('id')}_plane"
    )
    plane.set("bpmnElement", collaboration.get("id"))
    top = 40.0
    for process in processes:
        participant = participants.get(process.get("id"))
        if participant is None:
            participant = etree.SubElement(
                collaboration,
                f"{{{BPMN}}}participant",
                id=f"{process.get('id')}_pool",
                processRef=process.get("id"),
            )
            participant.set("name", process.get("name") or process.get("id"))
        top = _layout_process(process, participant, plane, top) + 60
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _layout_process(
    process: etree._Element, participant: etree._Element, plane: etree._Element, top: float
) -> float:
    nodes = {n.get("id"): n for n in process if etree.QName(n).localname in NODE_TAGS}
    flows = [f for f in process.findall(f"{{{BPMN}}}sequenceFlow")]
    boundaries = [b for b in process.findall(f"{{{BPMN}}}boundaryEvent")]
    lanes = process.findall(f".//{{{BPMN}}}lane")
    lane_of = {
        ref.text.strip(): lane.get("id")
        for lane in lanes
        for ref in lane.findall(f"{{{BPMN}}}flowNodeRef")
    }
    column = _columns(nodes, flows, boundaries)
    _place_unlaned(nodes, flows, lanes, lane_of, column)
    lane_ids = [lane.get("id") for lane in lanes] or [None]
    slots: dict[tuple[str | None, int], int] = defaultdict(int)
    row_in_lane: dict[str, int] = {}
    for node_id in sorted(nodes, key=lambda n: (column[n], n)):
        key = (lane_of.get(node_id), column[node_id])
        row_in_lane[node_id] = slots[key]
        slots[key] += 1
    rows_per_lane = {
        lane: max([slots[k] for k in slots if k[0] == lane] or [1]) for lane in lane_ids
    }
    lane_top, y = {}, top
    for lane in lane_ids:
        lane_top[lane] = y
        y += rows_per_lane[lane] * ROW + 20
    width = LEFT + (max(column.values(), default=0) + 1) * COLUMN + 40
    boxes: dict[str, Box] = {}
    for node_id, node in nodes.items():
        w, h = _size(etree.QName(node).localname)
        cx = LEFT + LANE_HEADER + column[node_id] * COLUMN + 60
        cy = lane_top[lane_of.get(node_id)] + row_in_lane[node_id] * ROW + ROW / 2 + 10
        boxes[node_id] = Box(cx - w / 2, cy - h / 2, w, h)
    for boundary in boundaries:
        host = boxes[boundary.get("attachedToRef")]
        boxes[boundary.get("id")] = Box(host.x + host.w - 30, host.y + host.h - 18, 36, 36)
    _shape(
        plane,
        participant.get("id"),
        Box(LEFT - LANE_HEADER, top, width + LANE_HEADER, y - top),
        horizontal=True,
    )
    for lane in lanes:
        lid = lane.get("id")
        _shape(
            plane,
            lid,
            Box(LEFT, lane_top[lid], width, rows_per_lane[lid] * ROW + 20),
            horizontal=True,
        )
    for node_id, box in boxes.items():
        _shape(plane, node_id, box)
    for flow in flows:
        _edge(plane, flow, boxes[flow.get("sourceRef")], boxes[flow.get("targetRef")])
    return y


def _place_unlaned(
    nodes: dict, flows: list, lanes: list, lane_of: dict[str, str], column: dict[str, int]
) -> None:
    """Put events and gateways drawn outside any lane into a neighbour's lane, in the XML too."""
    if not lanes:
        return
    by_id = {lane.get("id"): lane for lane in lanes}
    preds: dict[str, list[str]] = defaultdict(list)
    succs: dict[str, list[str]] = defaultdict(list)
    for f in flows:
        preds[f.get("targetRef")].append(f.get("sourceRef"))
        succs[f.get("sourceRef")].append(f.get("targetRef"))
    for _ in range(len(nodes)):
        missing = [n for n in sorted(nodes, key=lambda n: column[n]) if n not in lane_of]
        if not missing:
            break
        for node_id in missing:
            near = [lane_of[n] for n in preds[node_id] + succs[node_id] if n in lane_of]
            if near or node_id == missing[-1]:
                lane_id = near[0] if near else lanes[0].get("id")
                lane_of[node_id] = lane_id
                ref = etree.SubElement(by_id[lane_id], f"{{{BPMN}}}flowNodeRef")
                ref.text = node_id


def _columns(nodes: dict, flows: list, boundaries: list) -> dict[str, int]:
    """Longest distance from a start, ignoring edges that close a loop."""
    succ: dict[str, list[str]] = defaultdict(list)
    for f in flows:
        succ[f.get("sourceRef")].append(f.get("targetRef"))
    for b in boundaries:
        succ[b.get("attachedToRef")].append(b.get("id"))
    back = _back_edges(nodes, succ)
    indeg: dict[str, int] = defaultdict(int)
    all_ids = list(nodes) + [b.get("id") for b in boundaries]
    for src in all_ids:
        for dst in succ[src]:
            if (src, dst) not in back:
                indeg[dst] += 1
    column = {n: 0 for n in all_ids}
    queue = deque(n for n in all_ids if indeg[n] == 0)
    while queue:
        src = queue.popleft()
        for dst in succ[src]:
            if (src, dst) in back:
                continue
            column[dst] = max(
                column[dst], column[src] + (0 if src not in nodes or dst not in nodes else 1)
            )
            indeg[dst] -= 1
            if indeg[dst] == 0:
                queue.append(dst)
    return {n: column[n] for n in nodes}


def _back_edges(nodes: dict, succ: dict[str, list[str]]) -> set[tuple[str, str]]:
    starts = [n for n, el in nodes.items() if etree.QName(el).localname == "startEvent"] or list(
        nodes
    )[:1]
    state: dict[str, int] = {}
    back: set[tuple[str, str]] = set()
    for start in starts:
        stack = [(start, iter(succ[start]))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(succ[child])))
    return back


def _shape(plane: etree._Element, element_id: str, box: Box, horizontal: bool = False) -> None:
    shape = etree.SubElement(
        plane, f"{{{BPMNDI}}}BPMNShape", id=f"{element_id}_di", bpmnElement=element_id
    )
    if horizontal:
        shape.set("isHorizontal", "true")
    etree.SubElement(
        shape, f"{{{DC}}}Bounds", x=_n(box.x), y=_n(box.y), width=_n(box.w), height=_n(box.h)
    )


def _edge(plane: etree._Element, flow: etree._Element, src: Box, dst: Box) -> None:
    edge = etree.SubElement(
        plane, f"{{{BPMNDI}}}BPMNEdge", id=f"{flow.get('id')}_di", bpmnElement=flow.get("id")
    )
    (sx, sy), (tx, ty) = src.mid, dst.mid
    if dst.x > src.x + src.w:
        start, end = (src.x + src.w, sy), (dst.x, ty)
        mid_x = (start[0] + end[0]) / 2
        points = [start, (mid_x, sy), (mid_x, ty), end] if abs(sy - ty) > 1 else [start, end]
    else:
        low = max(src.y + src.h, dst.y + dst.h) + 25
        points = [(sx, src.y + src.h), (sx, low), (tx, low), (tx, dst.y + dst.h)]
    for x, y in points:
        etree.SubElement(edge, f"{{{DI}}}waypoint", x=_n(x), y=_n(y))


def _n(value: float) -> str:
    return str(int(round(value)))
