"""The semantic diff of two diagram versions sees what a designer changes, including what lives
inside extensionElements (Kasane's properties, scripts, vendor extensions)."""

from __future__ import annotations

from pathlib import Path

from app.engine.diff import diff

ROOT = Path(__file__).parent.parent.parent
SUPPORT = (ROOT / "processes" / "support_case.bpmn").read_text(encoding="utf-8")


def _changed(new: str) -> dict[str, tuple[str, list[tuple[str, str, str]]]]:
    return {c.element_id: (c.change, c.details) for c in diff(SUPPORT, new)}


def test_the_same_diagram_has_no_differences() -> None:
    assert diff(SUPPORT, SUPPORT) == []


def test_a_property_inside_extension_elements_is_a_change_of_its_element() -> None:
    new = SUPPORT.replace(
        '<spiffworkflow:property name="dueInDays" value="3"/>',
        '<spiffworkflow:property name="dueInDays" value="5"/>',
        1,
    )
    [(element, (change, details))] = _changed(new).items()
    assert element == "first_assessment" and change == "changed"
    assert details == [("dueInDays", "3", "5")]


def test_names_scripts_conditions_and_vendor_extensions_are_seen() -> None:
    new = (
        SUPPORT.replace(
            'name="初期アセスメント（世帯全体）と対応の判断"', 'name="初期アセスメント"', 1
        )
        .replace(
            "<bpmn:script>consent = 'given'</bpmn:script>",
            "<bpmn:script>consent = 'yes'</bpmn:script>",
            1,
        )
        .replace("decision == 'referral'", "decision == 'refer'", 1)
        .replace(
            '<bpmn:scriptTask id="take_over" name="つなぎ先が受付窓口になる">',
            '<bpmn:scriptTask id="take_over" name="つなぎ先が受付窓口になる">'
            "<bpmn:extensionElements><spiffworkflow:preScript>x = 1</spiffworkflow:preScript>"
            "</bpmn:extensionElements>",
            1,
        )
    )
    found = _changed(new)
    assert found["first_assessment"][1] == [
        ("name", "初期アセスメント（世帯全体）と対応の判断", "初期アセスメント")
    ]
    assert found["record_consent"][1] == [("script", "consent = 'given'", "consent = 'yes'")]
    assert found["to_referral"][1] == [
        ("condition", "decision == 'referral'", "decision == 'refer'")
    ]
    assert [what for what, *_ in found["take_over"][1]] == ["extensions"]


def test_added_and_removed_elements() -> None:
    new = SUPPORT.replace(
        '<bpmn:endEvent id="window_closed" name="窓口で終結"/>',
        '<bpmn:endEvent id="window_done" name="窓口で終結"/>',
        1,
    )
    found = _changed(new)
    assert found["window_done"][0] == "added"
    assert found["window_closed"][0] == "removed"
