"""Deploy: validation before anything is stored, versions only for changed content."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.engine.specs import DeployError
from app.extensions import db
from app.models import AuditEvent, ProcessDefinition
from app.services import definitions


def _deploy(app: Flask, *paths: Path) -> list[definitions.DeployResult]:
    return definitions.deploy([str(p) for p in paths], app.config["KASANE_FORMS_DIR"])


def _count() -> int:
    return db.session.scalar(select(func.count(ProcessDefinition.id))) or 0


def test_deploy_folder_creates_versions_and_unchanged_files_add_none(
    ctx: Flask, fixtures_dir: Path, tmp_path: Path
) -> None:
    for name in ("loop.bpmn", "waits.bpmn"):
        shutil.copy(fixtures_dir / "bpmn" / name, tmp_path / name)
    first = _deploy(ctx, tmp_path)
    assert {(r.key, r.version, r.created) for r in first} == {("loop", 1, True), ("waits", 1, True)}
    again = _deploy(ctx, tmp_path)
    assert {(r.key, r.version, r.created) for r in again} == {
        ("loop", 1, False),
        ("waits", 1, False),
    }
    changed = (tmp_path / "loop.bpmn").read_text(encoding="utf-8").replace("確認", "確認する")
    (tmp_path / "loop.bpmn").write_text(changed, encoding="utf-8")
    third = _deploy(ctx, tmp_path)
    assert ("loop", 2, True) in {(r.key, r.version, r.created) for r in third}
    row = definitions.latest("loop")
    assert row.version == 2 and "loop.schema.json" in row.forms
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "process.deploy")
        )
        == 3
    )


BROKEN = {
    "no_lane": (
        lambda xml: xml.replace("<bpmn:flowNodeRef>review</bpmn:flowNodeRef>", ""),
        "review",
        "レーン",
    ),
    "missing_form": (
        lambda xml: xml.replace('value="loop.schema.json"', 'value="nothing.schema.json"'),
        "review",
        "nothing.schema.json",
    ),
    "invalid_schema": (
        lambda xml: xml.replace('value="loop.schema.json"', 'value="broken.schema.json"'),
        "review",
        "JSON Schema",
    ),
    "import_in_script": (
        lambda xml: xml.replace("count = count + 1", "import os"),
        "count_up",
        "import",
    ),
    "dunder_in_condition": (
        lambda xml: xml.replace("count &lt; limit", "count.__class__ is int"),
        "again",
        "",
    ),
    "bad_timer": (None, "three_days", "ISO 8601"),
    "unknown_call": (
        lambda xml: xml.replace(
            '<bpmn:endEvent id="end">',
            '<bpmn:callActivity id="call_x" calledElement="missing_process" /><bpmn:endEvent id="end">',
        ),
        "call_x",
        "missing_process",
    ),
    "xsd_violation": (
        lambda xml: xml.replace(
            '<bpmn:startEvent id="start">', '<bpmn:startEvent id="start" bogus="1">'
        ),
        "start",
        "bogus",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_invalid_file_is_refused_with_file_element_and_problem(
    ctx: Flask, fixtures_dir: Path, tmp_path: Path, case: str
) -> None:
    mutate, element, words = BROKEN[case]
    if case == "bad_timer":
        source = (fixtures_dir / "bpmn" / "waits.bpmn").read_text(encoding="utf-8")
        broken = source.replace('"P3D"', '"three days"')
    else:
        broken = mutate((fixtures_dir / "bpmn" / "loop.bpmn").read_text(encoding="utf-8"))
    (tmp_path / "broken.bpmn").write_text(broken, encoding="utf-8")
    shutil.copy(fixtures_dir / "bpmn" / "waits.bpmn", tmp_path / "good.bpmn")
    with pytest.raises(DeployError) as caught:
        _deploy(ctx, tmp_path)
    assert caught.value.file_name == "broken.bpmn"
    assert element in caught.value.element_id
    assert words in caught.value.problem
    assert _count() == 0, "nothing of the batch may be stored"


def test_cli_deploy_reports_error_and_exits_non_zero(
    ctx: Flask, fixtures_dir: Path, tmp_path: Path
) -> None:
    broken = (
        (fixtures_dir / "bpmn" / "loop.bpmn")
        .read_text(encoding="utf-8")
        .replace("count = count + 1", "import os")
    )
    (tmp_path / "loop.bpmn").write_text(broken, encoding="utf-8")
    result = ctx.test_cli_runner().invoke(args=["kasane", "deploy", str(tmp_path)])
    assert result.exit_code != 0
    assert "loop.bpmn" in result.output and "count_up" in result.output
    assert _count() == 0


def test_cli_deploy_then_run_prints_waiting_task(ctx: Flask, fixtures_dir: Path) -> None:
    runner = ctx.test_cli_runner()
    deployed = runner.invoke(args=["kasane", "deploy", str(fixtures_dir / "bpmn" / "loop.bpmn")])
    assert deployed.exit_code == 0, deployed.output
    assert "loop v1" in deployed.output
    result = runner.invoke(args=["kasane", "run", "loop", "--data", '{"limit": 2}'])
    assert result.exit_code == 0, result.output
    assert (
        "waiting" in result.output
        and "review" in result.output
        and "lane:多機関協働" in result.output
    )
    bad = runner.invoke(args=["kasane", "run", "loop", "--data", "{not json"])
    assert bad.exit_code != 0


def test_timer_from_case_data_is_accepted_and_evaluated_when_it_starts(
    ctx: Flask, fixtures_dir: Path, tmp_path: Path
) -> None:
    source = (fixtures_dir / "bpmn" / "waits.bpmn").read_text(encoding="utf-8")
    (tmp_path / "waits.bpmn").write_text(source.replace('"P3D"', "revisit_after"), encoding="utf-8")
    [result] = _deploy(ctx, tmp_path)
    assert result.created
    from app.services import instances

    instance = instances.start("waits", data={"revisit_after": "P5D"})
    assert instance.next_timer_at is not None
    assert abs((instance.next_timer_at - instance.created_at).total_seconds() - 5 * 86400) < 60
