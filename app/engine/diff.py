"""What changed between two versions of a diagram, element by element (matched by id): added,
removed, and changed — including what lives inside ``extensionElements`` (Kasane's properties,
scripts, forms), which a diagram-level differ matching only attributes and children would miss."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from app.engine import namespaces

_PARSER_OPTIONS = {"resolve_entities": False, "no_network": True, "load_dtd": False}
# Children that are parts of their element (compared with it), not elements of their own.
_PARTS = {
    "incoming",
    "outgoing",
    "extensionElements",
    "conditionExpression",
    "script",
    "timerEventDefinition",
    "messageEventDefinition",
    "signalEventDefinition",
    "errorEventDefinition",
    "escalationEventDefinition",
    "conditionalEventDefinition",
    "terminateEventDefinition",
    "documentation",
    "flowNodeRef",
    "timeDuration",
    "timeDate",
    "timeCycle",
    "condition",
    "multiInstanceLoopCharacteristics",
    "standardLoopCharacteristics",
    "ioSpecification",
    "dataInputAssociation",
    "dataOutputAssociation",
}


@dataclass
class Change:
    """One element that was added, removed or changed; ``details`` say what changed."""

    element_id: str
    name: str
    kind: str  # the BPMN element type, e.g. "userTask"
    change: str  # "added", "removed", "changed"
    details: list[tuple[str, str, str]] = field(default_factory=list)  # (what, before, after)


def diff(old_xml: str, new_xml: str) -> list[Change]:
    """Every element of the two documents' processes and collaborations, compared by id."""
    old = _elements(old_xml)
    new = _elements(new_xml)
    changes: list[Change] = []
    for element_id, node in new.items():
        if element_id not in old:
            changes.append(Change(element_id, _name(node), _local(node), "added"))
    for element_id, node in old.items():
        if element_id not in new:
            changes.append(Change(element_id, _name(node), _local(node), "removed"))
    for element_id, node in new.items():
        before = old.get(element_id)
        if before is None:
            continue
        details = _compare(before, node)
        if details:
            changes.append(Change(element_id, _name(node), _local(node), "changed", details))
    order = {"changed": 0, "added": 1, "removed": 2}
    return sorted(changes, key=lambda c: (order[c.change], c.name or c.element_id))


def _elements(xml: str) -> dict[str, Any]:
    root = etree.fromstring(xml.encode("utf-8"), parser=etree.XMLParser(**_PARSER_OPTIONS))
    found: dict[str, Any] = {}
    for container in root:
        if not isinstance(container.tag, str):
            continue
        if etree.QName(container).namespace != namespaces.BPMN:
            continue
        for node in container.iter():
            if not isinstance(node.tag, str) or etree.QName(node).namespace != namespaces.BPMN:
                continue
            if node.get("id") and _local(node) not in _PARTS:
                found[str(node.get("id"))] = node
    return found


def _compare(old: Any, new: Any) -> list[tuple[str, str, str]]:
    details: list[tuple[str, str, str]] = []
    if _local(old) != _local(new):
        details.append(("type", _local(old), _local(new)))
    for name in sorted(set(old.attrib) | set(new.attrib)):
        if name == "id":
            continue
        before, after = old.get(name, ""), new.get(name, "")
        if before != after:
            details.append((_attr(name), before, after))
    old_props, new_props = _properties(old), _properties(new)
    for name in sorted(set(old_props) | set(new_props)):
        if old_props.get(name, "") != new_props.get(name, ""):
            details.append((name, old_props.get(name, ""), new_props.get(name, "")))
    for what, before, after in (
        ("condition", _text(old, "conditionExpression"), _text(new, "conditionExpression")),
        ("script", _text(old, "script"), _text(new, "script")),
        ("timer", _timer(old), _timer(new)),
        ("lane", _lane_refs(old), _lane_refs(new)),
        ("extensions", _other_extensions(old), _other_extensions(new)),
    ):
        if before != after:
            details.append((what, before, after))
    return details


def _properties(node: Any) -> dict[str, str]:
    return {
        str(p.get("name")): str(p.get("value") or "")
        for p in node.xpath(
            "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property",
            namespaces=namespaces.PREFIXES,
        )
    }


def _other_extensions(node: Any) -> str:
    """Every other extension element (scripts, vendor settings), as canonical text."""
    parts = []
    for ext in node.xpath("bpmn:extensionElements/*", namespaces=namespaces.PREFIXES):
        if etree.QName(ext).localname == "properties" and etree.QName(ext).namespace == (
            namespaces.SPIFF
        ):
            continue
        parts.append(" ".join(etree.tostring(ext, method="c14n").decode("utf-8").split()))
    return "\n".join(parts)


def _text(node: Any, local: str) -> str:
    found = node.xpath(f"bpmn:{local}", namespaces=namespaces.PREFIXES)
    return " ".join((found[0].text or "").split()) if found else ""


def _timer(node: Any) -> str:
    found = node.xpath("bpmn:timerEventDefinition/*", namespaces=namespaces.PREFIXES)
    return " ".join(f"{etree.QName(n).localname}={(n.text or '').strip()}" for n in found)


def _lane_refs(node: Any) -> str:
    if _local(node) != "lane":
        return ""
    refs = node.xpath("bpmn:flowNodeRef/text()", namespaces=namespaces.PREFIXES)
    return " ".join(sorted(r.strip() for r in refs))


def _attr(name: str) -> str:
    return etree.QName(name).localname if name.startswith("{") else name


def _local(node: Any) -> str:
    return etree.QName(node).localname


def _name(node: Any) -> str:
    return str(node.get("name") or "")
