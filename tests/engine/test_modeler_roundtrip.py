"""The modeler keeps a diagram whole: what bpmn-moddle (with Kasane's spiffworkflow descriptor) imports
and exports again carries every element, attribute and text of the original.

A designer who opens a diagram from SpiffArena, Camunda or any MIWG-conformant tool and saves it must
not lose a script, a form declaration or a vendor extension on the way. The node script does what the
modeler does (import, export); this module compares the two documents semantically.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "engine" / "modeler_roundtrip.mjs"
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"
NODE = shutil.which("node")
MIWG = Path(os.environ.get("KASANE_MIWG_REFERENCE", "/work/shared/bpmn-miwg/Reference"))
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
EXPRESSION, FORMAL_EXPRESSION = f"{BPMN}expression", f"{BPMN}formalExpression"
T_FORMAL_EXPRESSION = f"{BPMN}tFormalExpression"
KNOWN_NAMESPACES = {
    BPMN.strip("{}"),
    "http://www.omg.org/spec/BPMN/20100524/DI",
    "http://www.omg.org/spec/DD/20100524/DC",
    "http://www.omg.org/spec/DD/20100524/DI",
    SPIFF.strip("{}"),
}
# An xsi:type that names the element's own type says nothing (bpmn-moddle leaves it out).
REDUNDANT_TYPES = {
    "{http://www.omg.org/spec/DD/20100524/DI}waypoint": "{http://www.omg.org/spec/DD/20100524/DC}Point"
}

pytestmark = pytest.mark.skipif(
    NODE is None or not (ROOT / "node_modules" / "bpmn-moddle").is_dir(),
    reason="node and node_modules (npm install) are needed for the modeler round trip",
)

Node = tuple[str, str | None, tuple[tuple[str, str], ...], str]


def round_trip(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """Import and export each file as the modeler does; by file path: warnings and xml (or error)."""
    done = subprocess.run(
        [NODE, str(SCRIPT), *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    results = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return {result["file"]: result for result in results}


@functools.cache
def schema_defaults() -> dict[str, dict[str, str]]:
    """Attribute defaults bpmn-moddle leaves unwritten, by element tag: explicit default = absent."""
    done = subprocess.run(
        [NODE, str(SCRIPT), "--defaults"], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return json.loads(done.stdout)


def _value(element: etree._Element, name: str, value: str) -> str:
    """An attribute value with prefixes resolved and numbers compared as numbers."""
    if name == XSI_TYPE:
        prefix, _, local = value.rpartition(":")
        return f"{{{element.nsmap.get(prefix or None)}}}{local}"
    try:
        return repr(float(value))
    except ValueError:
        return value


def _attributes(element: etree._Element, unresolved: frozenset[str]) -> tuple[tuple[str, str], ...]:
    tag_ns = etree.QName(element).namespace
    defaults = {
        name: _value(element, name, value)
        for name, value in schema_defaults().get(element.tag, {}).items()
    }
    found = {}
    for name, value in element.attrib.items():
        normal = _value(element, name, value)
        if normal == defaults.get(name) or value in unresolved:
            continue
        if name == XSI_TYPE and REDUNDANT_TYPES.get(element.tag) == normal:
            continue
        qname = etree.QName(name)
        # bpmn-moddle writes a vendor element's attribute in the element's own namespace unqualified.
        if tag_ns not in KNOWN_NAMESPACES and qname.namespace == tag_ns:
            name = qname.localname
        found[name] = normal
    if element.tag == FORMAL_EXPRESSION:
        found[XSI_TYPE] = T_FORMAL_EXPRESSION
    return tuple(sorted(found.items()))


def semantic(xml: bytes, unresolved: frozenset[str] = frozenset()) -> list[Node]:
    """Every element in document order: (path of tags, id, attributes, text), prefixes ignored.

    What carries no meaning is left out: whitespace around text, an attribute written out with its
    schema default, an ``xsi:type`` naming the type the element has anyway, and the spelling
    ``<formalExpression>`` for ``<expression xsi:type="tFormalExpression">``. Children of one parent
    are compared tag by tag (same-tag siblings keep their order): bpmn-moddle writes a parent's
    children in its schema's order (incoming before outgoing, artifacts after flow elements).
    References named in ``unresolved`` (reported by the import, so the designer is told) may go.
    """
    parser = etree.XMLParser(remove_comments=True, remove_pis=True, resolve_entities=False)
    root = etree.fromstring(xml, parser)
    found: list[Node] = []

    def walk(element: etree._Element, path: str) -> None:
        text = (element.text or "").strip()
        if text in unresolved and etree.QName(element).localname.endswith("Ref"):
            return
        tag = EXPRESSION if element.tag == FORMAL_EXPRESSION else element.tag
        here = f"{path}/{tag}"
        found.append((here, element.get("id"), _attributes(element, unresolved), text))
        children = [child for child in element if isinstance(child.tag, str)]
        for child in sorted(children, key=lambda child: child.tag):
            walk(child, here)

    walk(root, "")
    return found


def assert_same_model(
    before: bytes, after: bytes, name: str, unresolved: frozenset[str] = frozenset()
) -> None:
    old, new = semantic(before, unresolved), semantic(after)
    if old != new:
        diff = difflib.unified_diff(
            [repr(node) for node in old], [repr(node) for node in new], lineterm="", n=1
        )
        pytest.fail(f"{name}: the round trip changed the model\n" + "\n".join(list(diff)[:60]))


def unresolved_references(warnings: list[str]) -> frozenset[str]:
    """The references the import reported it could not resolve (bpmn-moddle drops those)."""
    return frozenset(
        match.group(1) for w in warnings if (match := re.match(r"unresolved reference <(.+)>", w))
    )


def check_files(paths: list[Path]) -> None:
    results = round_trip(paths)
    for path in paths:
        result = results[str(path)]
        assert "error" not in result, f"{path.name}: {result.get('error')}"
        unresolved = unresolved_references(result["warnings"])
        assert_same_model(path.read_bytes(), result["xml"].encode("utf-8"), path.name, unresolved)


PROCESSES = sorted((ROOT / "processes").glob("*.bpmn"))
OWN_FIXTURES = [
    FIXTURES / "roundtrip" / "modeler_spiff_extensions.bpmn",
    FIXTURES / "roundtrip" / "modeler_camunda_extensions.bpmn",
]


def test_kasane_processes_survive_the_modeler_unchanged_and_without_warnings() -> None:
    assert PROCESSES, "processes/*.bpmn is empty"
    check_files(PROCESSES)
    for path, result in round_trip(PROCESSES).items():
        assert result["warnings"] == [], f"{path}: {result['warnings']}"


def test_spiffworkflow_and_camunda_extensions_survive_the_modeler() -> None:
    check_files(OWN_FIXTURES)
    results = round_trip(OWN_FIXTURES)
    for path, result in results.items():
        assert result["warnings"] == [], f"{path}: {result['warnings']}"
    spiff = etree.fromstring(results[str(OWN_FIXTURES[0])]["xml"].encode("utf-8"))
    script = spiff.find(f".//{SPIFF}preScript")
    assert script is not None and script.text == 'name = "山田"'
    assert [t.get("id") for t in spiff.iter(f"{SPIFF}unitTest")] == ["doubles", "zero"]


@pytest.mark.skipif(not MIWG.is_dir(), reason=f"no MIWG reference diagrams at {MIWG}")
def test_miwg_reference_diagrams_survive_the_modeler() -> None:
    paths = sorted(MIWG.glob("*.bpmn"))
    assert paths, f"no .bpmn files in {MIWG}"
    check_files(paths)


def test_the_comparison_notices_a_lost_extension_or_a_changed_value() -> None:
    source = OWN_FIXTURES[0].read_bytes()
    exported = round_trip([OWN_FIXTURES[0]])[str(OWN_FIXTURES[0])]["xml"]
    lost = exported.replace("<spiffworkflow:postScript>del name</spiffworkflow:postScript>", "")
    changed = exported.replace('retries="3"', 'retries="4"')
    assert lost != exported and changed != exported
    for broken in (lost, changed):
        with pytest.raises(pytest.fail.Exception):
            assert_same_model(source, broken.encode("utf-8"), "broken")
