"""What a diagram's conditions read and what its scripts write, so deploy can hold the diagram to its
forms (the BPMN↔form contract): a gateway that reads a field no form has, or compares a choice
with a value the form cannot give, would silently take the wrong path at run time."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from lxml import etree

from app.engine import namespaces

NS = {"bpmn": namespaces.BPMN, "spiffworkflow": namespaces.SPIFF}
_CONDITIONS = ".//bpmn:sequenceFlow/bpmn:conditionExpression"
_SCRIPTS = ".//bpmn:scriptTask/bpmn:script|.//spiffworkflow:preScript|.//spiffworkflow:postScript"


@dataclass(frozen=True)
class Condition:
    """One sequence flow's condition: the names it reads and the choices it compares them with."""

    element_id: str
    element_name: str | None
    source: str
    reads: frozenset[str]
    compares: tuple[tuple[str, Any], ...]


def conditions(root: Any) -> list[Condition]:
    """Every readable condition on a sequence flow of the document (unreadable ones are the
    expression check's to refuse)."""
    found = []
    for node in root.xpath(_CONDITIONS, namespaces=NS):
        source = (node.text or "").strip()
        tree = _parse(source, "eval")
        if tree is None:
            continue
        flow = node.getparent()
        found.append(
            Condition(
                element_id=flow.get("id") or "-",
                element_name=flow.get("name"),
                source=source,
                reads=frozenset(_read_names(tree)),
                compares=tuple(_comparisons(tree)),
            )
        )
    return found


def assignments(root: Any) -> dict[str, set[Any]]:
    """Names the document's scripts assign, with the constant values they assign (when plain)."""
    written: dict[str, set[Any]] = {}
    for node in root.xpath(_SCRIPTS, namespaces=NS):
        tree = _parse((node.text or "").strip(), "exec")
        if tree is None:
            continue
        for statement in ast.walk(tree):
            if isinstance(statement, ast.Assign):
                value = statement.value
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        values = written.setdefault(target.id, set())
                        values.add(value.value if isinstance(value, ast.Constant) else _ANY)
            elif isinstance(statement, (ast.AugAssign, ast.AnnAssign)) and isinstance(
                statement.target, ast.Name
            ):
                written.setdefault(statement.target.id, set()).add(_ANY)
    return written


class _AnyValue:
    """A script assigns something other than a constant: any value may result."""


_ANY = _AnyValue()


def any_value(values: set[Any]) -> bool:
    return any(isinstance(value, _AnyValue) for value in values)


def _parse(source: str, mode: str) -> ast.AST | None:
    if not source:
        return None
    try:
        return ast.parse(source, mode=mode)
    except (SyntaxError, ValueError):
        return None


def _read_names(tree: ast.AST) -> set[str]:
    bound = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.comprehension)
        for target in ast.walk(node.target)
        if isinstance(target, ast.Name)
    }
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound
    }


def _comparisons(tree: ast.AST) -> list[tuple[str, Any]]:
    """(name, constant) for each ``name == 'x'``, ``'x' != name`` or ``name in ('x', 'y')``."""
    found: list[tuple[str, Any]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or len(node.ops) != 1:
            continue
        left, op, right = node.left, node.ops[0], node.comparators[0]
        if isinstance(op, (ast.Eq, ast.NotEq)):
            if isinstance(right, ast.Name):
                left, right = right, left
            if isinstance(left, ast.Name) and _is_text(right):
                found.append((left.id, right.value))
        elif (
            isinstance(op, (ast.In, ast.NotIn))
            and isinstance(left, ast.Name)
            and isinstance(right, (ast.Tuple, ast.List, ast.Set))
        ):
            found.extend((left.id, item.value) for item in right.elts if _is_text(item))
    return found


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def document_root(xml: str) -> Any:
    """The parsed document (deploy has already refused what is not XML)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(xml.encode("utf-8"), parser=parser)
