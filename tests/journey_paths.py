"""Every path of ``processes/`` is walked in the browser (a pytest plugin).

From the diagrams we list every outgoing flow of every gateway and every user task. Each browser
journey (``tests/browser/test_journeys*.py``) leaves behind the flows its cases took, as the
product records them (``path_step``). When every journey of the suite has run and passed, the
session fails if some flow or task was taken by none of them: a new path in a diagram needs a
new journey.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

ROOT = Path(__file__).parent.parent
JOURNEYS = ROOT / "tests" / "browser"
TRACE_DIR_ENV = "KASANE_JOURNEY_TRACE_DIR"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}

Taken = tuple[str, str, str]  # process key, source element, target element


@dataclass(frozen=True)
class Required:
    """A flow out of a gateway, or a user task, that some journey must take."""

    process_key: str
    element_id: str  # the flow's id, or the task's
    label: str
    source_id: str | None = None
    target_id: str | None = None

    def met_by(self, taken: set[Taken]) -> bool:
        if self.source_id is None:
            return any(p == self.process_key and t == self.element_id for p, _, t in taken)
        return (self.process_key, self.source_id, self.target_id) in taken


def required(folder: Path = ROOT / "processes") -> list[Required]:
    found = []
    for path in sorted(folder.glob("*.bpmn")):
        for process in etree.parse(str(path)).getroot().iter(f"{BPMN}process"):
            found.extend(_required_in(process))
    return found


def _required_in(process: Any) -> list[Required]:
    key = process.get("id")
    names = {e.get("id"): e.get("name") or e.get("id") for e in process.iter() if e.get("id")}
    gateways = {e.get("id") for e in process.iter() if etree.QName(e).localname in GATEWAYS}
    found = [
        Required(key, task.get("id"), f"ユーザータスク「{names[task.get('id')]}」")
        for task in process.iter(f"{BPMN}userTask")
    ]
    flows = list(process.iter(f"{BPMN}sequenceFlow"))
    for flow in flows:
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source in gateways and sum(f.get("sourceRef") == source for f in flows) > 1:
            label = f"「{names[source]}」→「{names[target]}」（{flow.get('id')}）"
            found.append(Required(key, flow.get("id"), label, source, target))
    return found


def missing(requirements: list[Required], taken: set[Taken]) -> list[Required]:
    return [r for r in requirements if not r.met_by(taken)]


def journey_names() -> set[str]:
    """``file::function`` of every journey, read from the files (not from what was collected)."""
    names = set()
    for path in sorted(JOURNEYS.glob("test_journeys*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names.update(
            f"{path.name}::{node.name}"
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        )
    return names


def is_journey(nodeid: str) -> bool:
    return "/test_journeys" in nodeid


def write_trace(nodeid: str, steps: list[Taken]) -> None:
    """Called by the live server fixture when a journey ends: the flows its cases took."""
    folder = os.environ.get(TRACE_DIR_ENV)
    if not folder or not is_journey(nodeid):
        return
    name = hashlib.sha1(nodeid.encode()).hexdigest()[:16]
    Path(folder, f"{name}.json").write_text(
        json.dumps({"test": nodeid, "steps": [list(s) for s in steps]}), encoding="utf-8"
    )


def read_traces(folder: Path) -> set[Taken]:
    taken: set[Taken] = set()
    for path in folder.glob("*.json"):
        taken.update(tuple(s) for s in json.loads(path.read_text(encoding="utf-8"))["steps"])
    return taken


# The plugin -------------------------------------------------------------------------------------
_outcomes: dict[str, bool] = {}
_report: list[str] = []


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if not _is_worker(config) and TRACE_DIR_ENV not in os.environ:
        # Set before the workers start, so they inherit it.
        os.environ[TRACE_DIR_ENV] = tempfile.mkdtemp(prefix="kasane-journeys-")
        config._kasane_trace_dir = os.environ[TRACE_DIR_ENV]  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = getattr(config, "_kasane_trace_dir", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(TRACE_DIR_ENV, None)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not is_journey(report.nodeid):
        return
    ok = report.passed if report.when == "call" else not (report.failed or report.skipped)
    base = report.nodeid.split("/")[-1].split("[")[0]
    _outcomes[report.nodeid] = _outcomes.get(report.nodeid, True) and ok
    _outcomes.setdefault(base, True)
    if not ok:
        _outcomes[base] = False


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    if _is_worker(session.config) or not os.environ.get(TRACE_DIR_ENV):
        return
    if any(not _outcomes.get(name, False) for name in journey_names()):
        return  # not every journey ran and passed: nothing to judge (failures are reported)
    gaps = missing(required(), read_traces(Path(os.environ[TRACE_DIR_ENV])))
    if gaps:
        _report.extend(f"{gap.process_key}: {gap.label}" for gap in gaps)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _report:
        terminalreporter.section("どのブラウザのジャーニーも通っていない経路", red=True)
        for line in _report:
            terminalreporter.write_line(line)
