"""Deploy reads files as bytes and honours the encoding their XML declares; what is not a BPMN
file is refused in Japanese; failures at run time reach the caller as a ProcessFailure."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.engine.specs import DeployError
from app.extensions import db
from app.models import ProcessDefinition
from app.services import definitions, instances
from app.services.errors import ProcessFailure
from tests.engine.diagrams import document, process

SCRIPT = (
    '<bpmn:scriptTask id="calc" name="{name}"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>'
)


def _deploy(app: Flask, *paths: Path) -> list[definitions.DeployResult]:
    return definitions.deploy([str(p) for p in paths], app.config["KASANE_FORMS_DIR"])


def _count() -> int:
    return db.session.scalar(select(func.count(ProcessDefinition.id))) or 0


def _text(name: str, encoding: str) -> str:
    xml = document(process(SCRIPT.format(name=name), name=name))
    return xml.replace('encoding="UTF-8"', f'encoding="{encoding}"', 1)


@pytest.mark.parametrize(
    ("encoding", "codec", "name"),
    [
        ("Shift_JIS", "shift_jis", "相談受付"),
        ("ISO-8859-1", "latin-1", "Café à la carte"),
        ("UTF-16", "utf-16", "相談受付"),
        ("UTF-8", "utf-8-sig", "相談受付"),  # with a byte-order mark
    ],
)
def test_file_in_its_declared_encoding_deploys_and_is_stored_as_utf8(
    ctx: Flask, tmp_path: Path, encoding: str, codec: str, name: str
) -> None:
    path = tmp_path / "encoded.bpmn"
    path.write_bytes(_text(name, encoding).encode(codec))
    assert [r.key for r in _deploy(ctx, path)] == ["p"]
    row = definitions.latest("p")
    assert row.name == name
    assert row.bpmn_xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert f'name="{name}"' in row.bpmn_xml
    assert instances.start("p").status == "completed"


def test_file_not_in_the_encoding_it_declares_is_refused(ctx: Flask, tmp_path: Path) -> None:
    path = tmp_path / "sjis_without_declaration.bpmn"
    path.write_bytes(_text("相談受付", "UTF-8").encode("shift_jis"))
    with pytest.raises(DeployError) as caught:
        _deploy(ctx, path)
    assert caught.value.file_name == path.name
    assert "文字コード" in caught.value.problem and "UTF-8" in caught.value.problem
    assert _count() == 0


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "XMLのファイルではありません"),
        (b"", "ファイルが空です"),
        (b"<definitions><process", "XMLとして読めません"),
        (
            b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>',
            "BPMN 2.0 の図ではありません",
        ),
    ],
)
def test_file_that_is_not_bpmn_is_refused_in_japanese(
    ctx: Flask, tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "diagram.bpmn"
    path.write_bytes(content)
    with pytest.raises(DeployError) as caught:
        _deploy(ctx, path)
    assert caught.value.file_name == "diagram.bpmn"
    assert words in caught.value.problem
    assert "Error" not in caught.value.problem and len(caught.value.problem) < 120


def test_empty_folder_is_refused_rather_than_deploying_nothing(ctx: Flask, tmp_path: Path) -> None:
    with pytest.raises(DeployError) as caught:
        _deploy(ctx, tmp_path)
    assert ".bpmn ファイルがありません" in caught.value.problem


def test_cli_refusal_names_element_in_japanese_without_traceback(
    ctx: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "service.bpmn"
    path.write_text(
        document(process('<bpmn:serviceTask id="call_api" name="外部照会" />')), encoding="utf-8"
    )
    result = ctx.test_cli_runner().invoke(args=["kasane", "deploy", str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "service.bpmn: 要素 call_api「外部照会」: サービスタスク" in result.output
    assert "何も登録していません" in result.output


def test_cli_all_non_executable_file_exits_non_zero_and_says_why(
    ctx: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "draft.bpmn"
    path.write_text(
        document(process(SCRIPT.format(name="計算"), name="下書き", executable=False)),
        encoding="utf-8",
    )
    result = ctx.test_cli_runner().invoke(args=["kasane", "deploy", str(path)])
    assert result.exit_code == 1
    assert "何も登録されません" in result.output and "p「下書き」" in result.output
    assert _count() == 0


def test_multi_instance_missing_its_collection_is_a_process_failure(
    ctx: Flask, tmp_path: Path
) -> None:
    task = (
        '<bpmn:scriptTask id="each" name="一件ずつ"><bpmn:multiInstanceLoopCharacteristics>'
        "<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>"
        '<bpmn:inputDataItem id="item" /></bpmn:multiInstanceLoopCharacteristics>'
        "<bpmn:script>total = item</bpmn:script></bpmn:scriptTask>"
    )
    path = tmp_path / "mi.bpmn"
    path.write_text(document(process(task)), encoding="utf-8")
    _deploy(ctx, path)
    with pytest.raises(ProcessFailure) as caught:
        instances.start("p", data={})
    assert "each" in caught.value.message and "「items」" in caught.value.message
