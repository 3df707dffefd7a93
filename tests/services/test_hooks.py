"""Deploy refuses a diagram whose tasks do not declare what Kasane must do at them (the record a
form writes, the consent check of a sharing step), naming the element and what to do."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import Flask

from app.engine.specs import DeployError
from app.services import definitions

ROOT = Path(__file__).parent.parent.parent
PLAN_PROPERTY = '<spiffworkflow:property name="recordAs" value="support_plan"/>'
SHARE_PROPERTY = '<spiffworkflow:property name="sharesInformation" value="coordination"/>'


def _deploy_with(tmp_path: Path, old: str, new: str) -> None:
    folder = tmp_path / "processes"
    shutil.copytree(ROOT / "processes", folder)
    path = folder / "support_case.bpmn"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    definitions.deploy([str(folder)], str(ROOT / "forms"))


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        (PLAN_PROPERTY, "", 'recordAs="support_plan" を宣言してください'),
        (SHARE_PROPERTY, "", 'sharesInformation="coordination" を宣言してください'),
        (PLAN_PROPERTY, PLAN_PROPERTY.replace("support_plan", "budget"), "記録の種類にありません"),
        (PLAN_PROPERTY, PLAN_PROPERTY.replace("support_plan", "evaluation"), "フォーム"),
        (SHARE_PROPERTY, SHARE_PROPERTY.replace("coordination", "marketing"), "共有の目的"),
    ],
)
def test_a_task_without_its_declarations_is_refused_by_name(
    ctx: Flask, tmp_path: Path, old: str, new: str, said: str
) -> None:
    with pytest.raises(DeployError) as refused:
        _deploy_with(tmp_path, old, new)
    assert refused.value.element_id == "support_plan"
    assert "支援プランの作成" in str(refused.value) and said in str(refused.value)
    assert definitions.count() == 0  # nothing registered


def test_the_diagrams_as_drawn_declare_everything(ctx: Flask) -> None:
    definitions.deploy([str(ROOT / "processes")], str(ROOT / "forms"))
    assert definitions.count() == 3
