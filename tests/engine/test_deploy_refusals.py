"""Deploy answers every diagram with a run or a refusal that names the element and says, in
Japanese, what is wrong and what to do; never a traceback, never a silent wrong deploy."""

from __future__ import annotations

import re

import pytest

from app.engine.specs import DeployError, Document, inspect
from tests.engine.diagrams import document, process, user_task
from tests.engine.helpers import load_form

SCRIPT = '<bpmn:scriptTask id="calc" name="計算"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>'
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]{3,}\s+[A-Za-z]{3,}\s+[A-Za-z]{3,}")


def refusal(*xml: str) -> DeployError:
    docs = [Document(f"d{i}.bpmn", text) for i, text in enumerate(xml)]
    with pytest.raises(DeployError) as caught:
        inspect(docs, load_form, set())
    return caught.value


def assert_clear(error: DeployError, element_id: str, name: str | None, *words: str) -> None:
    """Names the element by id and name; Japanese, short, no engine or lxml English."""
    assert error.element_id == element_id, str(error)
    assert error.element_name == name, str(error)
    assert element_id in str(error) and (name is None or f"「{name}」" in str(error))
    assert JAPANESE.search(error.problem), error.problem
    unquoted = re.sub(r"「[^」]*」", "", error.problem)
    assert not ENGLISH_SENTENCE.search(unquoted), error.problem
    assert len(error.problem) < 160, error.problem
    for word in words:
        assert word in error.problem, error.problem


def test_a_plain_script_process_deploys() -> None:
    infos = inspect([Document("ok.bpmn", document(process(SCRIPT)))], load_form, set())
    assert [info.key for info in infos] == ["p"]


def test_data_store_is_refused_at_deploy_not_a_traceback() -> None:
    xml = document(process(SCRIPT), before='<bpmn:dataStore id="ledger" name="台帳" />')
    assert_clear(refusal(xml), "ledger", "台帳", "データストア", "削除")


def test_data_store_reference_in_a_process_is_refused() -> None:
    ref = '<bpmn:dataStoreReference id="ledger_ref" name="台帳参照" />'
    assert_clear(refusal(document(process(SCRIPT, ref))), "ledger_ref", "台帳参照", "データストア")


def test_two_files_sharing_a_process_id_are_refused_naming_both() -> None:
    first = document(process(SCRIPT, name="一つ目"))
    second = document(process(SCRIPT, name="二つ目"))
    error = refusal(first, second)
    assert error.file_name == "d1.bpmn"
    assert_clear(error, "p", "二つ目", "d0.bpmn", "d1.bpmn", "IDを変えて")


def test_service_task_is_refused_with_what_to_use_instead() -> None:
    task = '<bpmn:serviceTask id="call_api" name="外部照会" />'
    assert_clear(
        refusal(document(process(task))),
        "call_api",
        "外部照会",
        "サービスタスク",
        "スクリプトタスク",
    )


@pytest.mark.parametrize(
    ("event", "element_id"),
    [
        (
            '<bpmn:intermediateCatchEvent id="wait" name="返事待ち">'
            '<bpmn:messageEventDefinition id="wait_def" /></bpmn:intermediateCatchEvent>',
            "wait",
        ),
        ('<bpmn:receiveTask id="wait" name="返事待ち" />', "wait"),
    ],
)
def test_message_event_without_message_ref_is_refused(event: str, element_id: str) -> None:
    assert_clear(refusal(document(process(event))), element_id, "返事待ち", "messageRef")


def test_message_ref_to_an_undefined_or_unnamed_message_is_refused() -> None:
    event = (
        '<bpmn:intermediateCatchEvent id="wait" name="返事待ち">'
        '<bpmn:messageEventDefinition messageRef="{ref}" /></bpmn:intermediateCatchEvent>'
    )
    missing = refusal(document(process(event.format(ref="nowhere"))))
    assert_clear(missing, "wait", "返事待ち", "nowhere", "定義されていません")
    unnamed = refusal(document(process(event.format(ref="m1")), before='<bpmn:message id="m1" />'))
    assert_clear(unnamed, "wait", "返事待ち", "名前がありません")


def test_business_rule_task_inside_an_embedded_subprocess_is_refused() -> None:
    inner = (
        '<bpmn:subProcess id="sub" name="判定">'
        '<bpmn:startEvent id="sub_start" />'
        '<bpmn:businessRuleTask id="decide" name="区分を判定" />'
        '<bpmn:endEvent id="sub_end" />'
        '<bpmn:sequenceFlow id="sf1" sourceRef="sub_start" targetRef="decide" />'
        '<bpmn:sequenceFlow id="sf2" sourceRef="decide" targetRef="sub_end" />'
        "</bpmn:subProcess>"
    )
    assert_clear(refusal(document(process(inner))), "decide", "区分を判定", "DMN", "条件式")


def test_engine_problems_inside_an_embedded_subprocess_are_found_at_deploy() -> None:
    # Two start events in an embedded subprocess: only the subprocess spec shows it.
    inner = (
        '<bpmn:subProcess id="sub" name="内側">'
        '<bpmn:startEvent id="s1" /><bpmn:startEvent id="s2" />'
        '<bpmn:endEvent id="sub_end" />'
        '<bpmn:sequenceFlow id="sf1" sourceRef="s1" targetRef="sub_end" />'
        '<bpmn:sequenceFlow id="sf2" sourceRef="s2" targetRef="sub_end" />'
        "</bpmn:subProcess>"
    )
    assert_clear(refusal(document(process(inner))), "sub", "内側", "開始イベント")


@pytest.mark.parametrize(
    ("script", "words"),
    [
        (
            '<bpmn:scriptTask id="tr" name="変換" scriptFormat="xslt" />',
            ("xslt", "Python"),
        ),
        (
            '<bpmn:scriptTask id="tr" name="変換" scriptFormat="javascript">'
            "<bpmn:script>x = 1;</bpmn:script></bpmn:scriptTask>",
            ("javascript", "Python"),
        ),
        (
            '<bpmn:scriptTask id="tr" name="変換"><bpmn:script>  </bpmn:script></bpmn:scriptTask>',
            ("スクリプトがありません",),
        ),
    ],
)
def test_script_task_that_cannot_run_is_refused(script: str, words: tuple[str, ...]) -> None:
    assert_clear(refusal(document(process(script))), "tr", "変換", *words)


def test_python_script_format_is_accepted() -> None:
    task = (
        '<bpmn:scriptTask id="calc" name="計算" scriptFormat="python">'
        "<bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>"
    )
    assert inspect([Document("ok.bpmn", document(process(task)))], load_form, set())


def test_plain_task_is_refused_and_the_designer_told_what_to_use() -> None:
    task = '<bpmn:task id="visit" name="訪問する" />'
    assert_clear(
        refusal(document(process(task))),
        "visit",
        "訪問する",
        "ユーザータスク",
        "レーン",
        "フォーム",
    )


def test_file_whose_processes_are_all_non_executable_is_refused() -> None:
    xml = document(
        process(SCRIPT, key="a", name="下書きA", executable=False),
        process(SCRIPT.replace("calc", "calc2"), key="b", name="下書きB", executable=False),
    )
    assert_clear(refusal(xml), "a", "下書きA", "a、b", "何も登録されません", "実行可能")


def test_non_executable_pool_beside_an_executable_process_is_not_checked() -> None:
    partner = process(
        '<bpmn:task id="their_work" name="相手の作業" />', key="partner", executable=False
    )
    infos = inspect([Document("ok.bpmn", document(process(SCRIPT), partner))], load_form, set())
    assert [info.key for info in infos] == ["p"]


def test_file_with_no_process_is_refused() -> None:
    xml = document(before='<bpmn:collaboration id="collab" name="連携" />')
    assert_clear(refusal(xml), "defs", None, "プロセスがありません")


def test_xsd_refusal_is_short_japanese_and_on_the_element() -> None:
    xml = document(process(SCRIPT)).replace(
        '<bpmn:scriptTask id="calc"', '<bpmn:scriptTask bogus="1" id="calc"'
    )
    error = refusal(xml)
    assert_clear(error, "calc", "計算", "bogus", "削除")
    assert "要素 行" not in str(error)


def test_xsd_refusal_for_a_misplaced_element_names_its_owner() -> None:
    xml = document(process(SCRIPT)).replace(
        "<bpmn:script>x = 1</bpmn:script>", "<bpmn:script>x = 1</bpmn:script><bpmn:oops />"
    )
    assert_clear(refusal(xml), "calc", "計算", "oops", "extensionElements")


def test_duplicate_and_malformed_ids_are_refused_in_words() -> None:
    twice = document(
        process(
            SCRIPT,
            '<bpmn:scriptTask id="calc" name="再計算"><bpmn:script>y = 2</bpmn:script></bpmn:scriptTask>',
        )
    )
    assert_clear(refusal(twice), "calc", None, "2つの要素", "一意")
    bad = document(process(SCRIPT.replace('id="calc"', 'id="1calc"')))
    assert_clear(refusal(bad), "1calc", None, "IDとして使えません")


def test_sequence_flow_to_a_missing_element_is_refused() -> None:
    xml = document(process(SCRIPT)).replace('targetRef="p_end"', 'targetRef="nowhere"')
    error = refusal(xml)
    assert error.element_id.startswith("p_f") and "nowhere" in error.problem


def test_bpmn_js_correlation_properties_are_not_refused() -> None:
    # bpmn-js writes formalExpression where the XSD wants messagePath; SpiffWorkflow accepts it.
    before = (
        '<bpmn:collaboration id="collab"><bpmn:participant id="pool" processRef="p" />'
        '<bpmn:correlationKey id="ck" name="case"><bpmn:correlationPropertyRef>cp</bpmn:correlationPropertyRef>'
        "</bpmn:correlationKey></bpmn:collaboration>"
        '<bpmn:message id="m_reply" name="reply" />'
        '<bpmn:correlationProperty id="cp" name="case_number">'
        '<bpmn:correlationPropertyRetrievalExpression messageRef="m_reply">'
        "<bpmn:formalExpression>case_number</bpmn:formalExpression>"
        "</bpmn:correlationPropertyRetrievalExpression></bpmn:correlationProperty>"
    )
    wait = (
        '<bpmn:intermediateCatchEvent id="wait" name="返事待ち">'
        '<bpmn:messageEventDefinition id="wait_def" messageRef="m_reply" /></bpmn:intermediateCatchEvent>'
    )
    infos = inspect(
        [Document("corr.bpmn", document(process(wait), before=before))], load_form, set()
    )
    assert [info.key for info in infos] == ["p"]


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ("${approved}", ("${approved}", "Python", "Camunda")),
        ('<![CDATA[Vacation Approval = "Approved"]]>', ("Python",)),
    ],
)
def test_condition_in_another_expression_language_is_refused_with_an_example(
    condition: str, words: tuple[str, ...]
) -> None:
    gateway = document(
        '<bpmn:process id="p" name="分岐" isExecutable="true">'
        '<bpmn:startEvent id="s" /><bpmn:exclusiveGateway id="gw" name="承認?" default="no" />'
        '<bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" />'
        '<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="gw" />'
        '<bpmn:sequenceFlow id="yes" name="はい" sourceRef="gw" targetRef="e1">'
        f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="no" sourceRef="gw" targetRef="e2" />'
        "</bpmn:process>"
    )
    assert_clear(refusal(gateway), "yes", "はい", *words)


def test_condition_declaring_a_non_python_language_is_refused() -> None:
    gateway = document(
        '<bpmn:process id="p" isExecutable="true">'
        '<bpmn:startEvent id="s" /><bpmn:exclusiveGateway id="gw" default="no" />'
        '<bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" />'
        '<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="gw" />'
        '<bpmn:sequenceFlow id="yes" sourceRef="gw" targetRef="e1">'
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="http://www.w3.org/1999/XPath">'
        "true</bpmn:conditionExpression>"
        '</bpmn:sequenceFlow><bpmn:sequenceFlow id="no" sourceRef="gw" targetRef="e2" />'
        "</bpmn:process>"
    )
    assert_clear(refusal(gateway), "yes", None, "XPath", "Python")


def test_timer_without_a_kind_is_refused_on_its_event() -> None:
    timer = (
        '<bpmn:intermediateCatchEvent id="later" name="三日後">'
        '<bpmn:timerEventDefinition id="later_def" /></bpmn:intermediateCatchEvent>'
    )
    assert_clear(refusal(document(process(timer))), "later", "三日後", "P3D")


def test_engine_parse_errors_come_back_in_japanese() -> None:
    # A cancel boundary event outside a transaction passes the XSD and Kasane's checks; the
    # engine refuses it (on the task it is attached to).
    cancel = (
        '<bpmn:boundaryEvent id="stop" name="取消" attachedToRef="calc">'
        '<bpmn:cancelEventDefinition id="stop_def" /></bpmn:boundaryEvent>'
        '<bpmn:endEvent id="stopped" /><bpmn:sequenceFlow id="fx" sourceRef="stop" targetRef="stopped" />'
    )
    xml = document(process(SCRIPT)).replace("</bpmn:process>", cancel + "</bpmn:process>")
    assert_clear(refusal(xml), "calc", "計算", "トランザクション")


def test_user_task_refusals_name_the_task() -> None:
    xml = document(process(user_task("check", "書類確認"))).replace(
        "<bpmn:flowNodeRef>check</bpmn:flowNodeRef>", ""
    )
    assert_clear(refusal(xml), "check", "書類確認", "レーン")
