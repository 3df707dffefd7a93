"""The modeler's lint (app/assets/lint, bpmnlint) and deploy refuse the same diagrams: whatever
deploy refuses, the linter flags on the element deploy names, and a diagram deploy accepts lints
clean. Both sides read the same vocabulary (app/services/design/vocabulary.py)."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from flask import Flask
from sqlalchemy import select

from app.engine.specs import DeployError, Document, read_document
from app.extensions import db
from app.models import ProcessDefinition
from app.services import definitions
from app.services.design import contract
from app.services.design.vocabulary import vocabulary

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "app" / "assets" / "lint" / "cli.mjs"
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn" / "lint"
FORMS = ROOT / "forms"
FAULTS = sorted(p for p in FIXTURES.glob("*.bpmn") if not p.name.startswith("ok--"))
CLEAN = sorted(FIXTURES.glob("ok--*.bpmn"))
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
Reports = dict[str, list[dict]]


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "bpmnlint").is_dir():
        pytest.skip("the lint parity tests need node and node_modules (npm ci); CI has both")
    return node


def lint(vocabulary_file: Path, files: list[Path], *flags: str) -> Reports:
    """The CLI's reports by file name."""
    command = [_node(), str(CLI), "--vocabulary", str(vocabulary_file), *flags]
    done = subprocess.run(
        [*command, *map(str, files)], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.returncode in (0, 1), done.stderr
    return {Path(entry["file"]).name: entry["reports"] for entry in json.loads(done.stdout)}


def deployed_documents() -> list[Document]:
    """The newest version of every deployed process, as the modeler's draft deploy batches them."""
    keys = sorted(set(db.session.scalars(select(ProcessDefinition.key).distinct())))
    rows = {definitions.latest(key).file_name: definitions.latest(key) for key in keys}
    return [Document(name, row.bpmn_xml) for name, row in rows.items()]


def refusal(*files: Path, deployed: bool = False) -> DeployError | None:
    """What deploy says of the files as one batch (None: it would deploy them); ``deployed``: with
    the deployed processes in the batch, as a draft deploy from the modeler."""
    try:
        documents = [read_document(f.name, f.read_bytes()) for f in files]
        others = [d for d in deployed_documents() if d.file_name not in {f.name for f in files}]
        definitions.check_documents(documents + (others if deployed else []), str(FORMS))
    except DeployError as error:
        return error
    return None


def lint_vocabulary() -> dict[str, Any]:
    """The modeler's vocabulary, exactly as the page gets it."""
    return vocabulary(str(FORMS))


def write_vocabulary(path: Path) -> Path:
    path.write_text(json.dumps(lint_vocabulary(), ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def vocabulary_file(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> Path:
    with app.app_context():
        return write_vocabulary(tmp_path_factory.mktemp("lint") / "vocabulary.json")


@pytest.fixture(scope="module")
def linted(vocabulary_file: Path) -> Reports:
    return lint(vocabulary_file, [*FAULTS, *CLEAN])


def assert_same_verdict(error: DeployError | None, reports: list[dict]) -> None:
    if error is None:
        assert reports == [], reports
        return
    assert reports, f"deploy refuses but the linter is silent: {error}"
    assert error.element_id in {r["id"] for r in reports}, (str(error), reports)


@pytest.mark.parametrize("fixture", FAULTS, ids=lambda p: p.stem)
def test_each_fault_is_refused_by_deploy_and_flagged_on_the_same_element(
    ctx: Flask, linted: Reports, fixture: Path
) -> None:
    error = refusal(fixture)
    assert error is not None, f"{fixture.name} should have a fault that deploy refuses"
    reports = linted[fixture.name]
    assert_same_verdict(error, reports)
    rule = "kasane/" + fixture.stem.split("--")[0]
    on_element = [r for r in reports if r["id"] == error.element_id]
    assert rule in {r["rule"] for r in on_element}, reports
    for report in reports:
        assert JAPANESE.search(report["message"]), report


@pytest.mark.parametrize("fixture", CLEAN, ids=lambda p: p.stem)
def test_a_diagram_deploy_accepts_lints_clean(ctx: Flask, linted: Reports, fixture: Path) -> None:
    assert refusal(fixture) is None
    assert linted[fixture.name] == []


def test_properties_read_the_same_without_the_modelers_descriptor(
    vocabulary_file: Path, linted: Reports
) -> None:
    assert (ROOT / "app" / "assets" / "js" / "modeler" / "spiffworkflow.json").is_file()
    generic = lint(vocabulary_file, [*FAULTS, *CLEAN], "--generic")
    assert generic == linted


def test_the_support_flow_diagrams_deploy_and_lint_clean(ctx: Flask, vocabulary_file: Path) -> None:
    files = sorted((ROOT / "processes").glob("*.bpmn"))
    assert refusal(*files) is None
    reports = lint(vocabulary_file, files, "--batch")
    assert reports == {f.name: [] for f in files}


def test_a_call_to_a_process_not_deployed_is_refused_on_both_sides(
    ctx: Flask, vocabulary_file: Path
) -> None:
    caller = ROOT / "processes" / "support_case.bpmn"
    error = refusal(caller)
    assert error is not None and error.element_id in {"outreach", "participation"}
    assert_same_verdict(error, lint(vocabulary_file, [caller])[caller.name])


def test_the_linter_reads_deployed_processes_from_the_vocabulary(
    ctx: Flask, tmp_path: Path
) -> None:
    folder = ROOT / "processes"
    called = [str(folder / "outreach.bpmn"), str(folder / "participation.bpmn")]
    definitions.deploy(called, str(FORMS))
    path = write_vocabulary(tmp_path / "vocabulary.json")
    caller = folder / "support_case.bpmn"
    assert refusal(caller, deployed=True) is None
    assert lint(path, [caller]) == {caller.name: []}


def test_a_file_that_is_not_bpmn_is_reported_not_a_traceback(
    vocabulary_file: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<bpmn:definitions", encoding="utf-8")
    [report] = lint(vocabulary_file, [broken])["broken.bpmn"]
    assert report["id"] is None and "BPMN" in report["message"]
    done = subprocess.run(
        [_node(), str(CLI), str(broken)], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 2 and "--vocabulary" in done.stderr and not done.stdout


# Expressions deploy and the linter must judge alike (the linter cannot run Python: see
# app/assets/lint/rules/python.js for what it checks).
CASES = json.loads((FIXTURES / "expressions.json").read_text(encoding="utf-8"))
CONDITIONS = [(c, "len([])") for c in CASES["conditions"]]
CONDITIONS += [(c, "'a'") for c in CASES["choice_conditions"]]
TIMERS = [tuple(pair) for pair in CASES["timers"]]
RESERVED = {"print", "printed", "builtins", "breakpoint"}


def _script_writing(condition: str, value: str) -> str:
    """A script giving every name the condition reads ``value``, so the form contract holds."""
    try:
        tree = ast.parse(condition.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return ""
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names = sorted(n for n in names - contract.BUILTINS - RESERVED if not n.startswith("_"))
    return escape(f"{' = '.join(names)} = {value}") if names else ""


def _gateway(condition: str, value: str) -> str:
    script = _script_writing(condition, value)
    before = (
        f'<bpmn:scriptTask id="calc"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>'
        '<bpmn:sequenceFlow id="fs" sourceRef="s" targetRef="calc"/>'
        '<bpmn:sequenceFlow id="f0" sourceRef="calc" targetRef="gw"/>'
        if script
        else '<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="gw"/>'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions'
        ' xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs"'
        ' targetNamespace="http://kasane.example/bpmn"><bpmn:process id="p" isExecutable="true">'
        '<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="gw" default="no"/>'
        f'<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>{before}'
        '<bpmn:sequenceFlow id="yes" sourceRef="gw" targetRef="e1">'
        f"<bpmn:conditionExpression>{escape(condition)}</bpmn:conditionExpression>"
        '</bpmn:sequenceFlow><bpmn:sequenceFlow id="no" sourceRef="gw" targetRef="e2"/>'
        "</bpmn:process></bpmn:definitions>\n"
    )


def _timer(kind: str, value: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions'
        ' xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs"'
        ' targetNamespace="http://kasane.example/bpmn"><bpmn:process id="p" isExecutable="true">'
        '<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="wait">'
        f'<bpmn:timerEventDefinition id="wait_def"><bpmn:{kind}>{escape(value)}</bpmn:{kind}>'
        '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent><bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="wait"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="wait" targetRef="e"/>'
        "</bpmn:process></bpmn:definitions>\n"
    )


@pytest.fixture(scope="module")
def generated(
    vocabulary_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Reports]:
    folder = tmp_path_factory.mktemp("generated")
    for i, (condition, value) in enumerate(CONDITIONS):
        (folder / f"condition_{i}.bpmn").write_text(_gateway(condition, value), encoding="utf-8")
    for i, (kind, value) in enumerate(TIMERS):
        (folder / f"timer_{i}.bpmn").write_text(_timer(kind, value), encoding="utf-8")
    return folder, lint(vocabulary_file, sorted(folder.glob("*.bpmn")))


@pytest.mark.parametrize("index", range(len(CONDITIONS)), ids=lambda i: repr(CONDITIONS[i][0]))
def test_a_condition_is_judged_alike(
    ctx: Flask, generated: tuple[Path, Reports], index: int
) -> None:
    folder, reports = generated
    name = f"condition_{index}.bpmn"
    assert_same_verdict(refusal(folder / name), reports[name])


@pytest.mark.parametrize("index", range(len(TIMERS)), ids=lambda i: " ".join(TIMERS[i]))
def test_a_timer_is_judged_alike(ctx: Flask, generated: tuple[Path, Reports], index: int) -> None:
    folder, reports = generated
    name = f"timer_{index}.bpmn"
    assert_same_verdict(refusal(folder / name), reports[name])
