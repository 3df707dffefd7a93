"""Task forms from JSON Schema: the controls shown, where messages go, what a submission parses to."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from flask import Flask, render_template_string
from lxml.html import HtmlElement
from werkzeug.datastructures import MultiDict

from app import create_app
from app.services.forms import errors_for
from app.web.form_render import MAX_ROWS, Field, fields, form_errors, parse, to_multidict

FORMS = Path(__file__).resolve().parents[2] / "forms"
REPEAT_JS = Path(__file__).resolve().parents[2] / "app" / "assets" / "js" / "repeat.js"
MACRO = '{% from "forms/_fields.html" import render_fields %}{{ render_fields(fields) }}'

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "consented", "goals", "concerns"],
    "properties": {
        "name": {
            "type": "string",
            "title": "氏名",
            "description": "戸籍上の氏名。",
            "minLength": 1,
            "maxLength": 100,
            "x-sensitivity": "P",
        },
        "story": {"type": "string", "title": "経過", "maxLength": 4000, "x-sensitivity": "R"},
        "address": {"type": "string", "title": "住所", "maxLength": 200, "x-sensitivity": "X"},
        "age": {"type": "integer", "title": "年齢", "minimum": 0, "maximum": 130},
        "income": {"type": "number", "title": "月収（万円）"},
        "visited_on": {"type": "string", "format": "date", "title": "訪問日"},
        "method": {
            "type": "string",
            "title": "方法",
            "oneOf": [{"const": "visit", "title": "来所"}, {"const": "phone", "title": "電話"}],
        },
        "window": {
            "type": "string",
            "title": "窓口",
            "enum": ["elderly", "disability", "child", "poverty", "other", "none"],
        },
        "consented": {"type": "boolean", "title": "同意あり"},
        "urgent": {"type": "boolean", "title": "緊急"},
        "concerns": {
            "type": "array",
            "title": "相談内容",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "enum": ["debt", "housing", "care"]},
            "x-enumTitles": ["債務", "住まい", "介護"],
        },
        "members": {
            "type": "array",
            "title": "出席者",
            "items": {"type": "string", "maxLength": 50},
        },
        "person": {
            "type": "object",
            "title": "本人",
            "additionalProperties": False,
            "required": ["kana"],
            "properties": {
                "kana": {"type": "string", "title": "ふりがな", "maxLength": 100},
                "phone": {"type": "string", "title": "電話番号", "maxLength": 20},
            },
        },
        "goals": {
            "type": "array",
            "title": "目標と役割分担",
            "minItems": 1,
            "maxItems": 30,
            "items": {
                "type": "object",
                "title": "目標",
                "additionalProperties": False,
                "required": ["goal"],
                "properties": {
                    "goal": {"type": "string", "title": "目標", "minLength": 1, "maxLength": 200},
                    "agency": {"type": "string", "title": "担当機関", "maxLength": 100},
                    "weekly": {"type": "boolean", "title": "毎週"},
                    "hours": {"type": "integer", "title": "時間"},
                },
            },
        },
    },
}

VALID: dict[str, Any] = {
    "name": "山田 花子",
    "story": "\n一行目\n\n三行目 ",
    "age": 42,
    "income": 12.5,
    "visited_on": "2025-04-01",
    "method": "phone",
    "window": "poverty",
    "consented": False,
    "urgent": True,
    "concerns": ["debt", "care"],
    "members": ["佐藤", "鈴木"],
    "person": {"kana": "やまだ はなこ"},
    "goals": [
        {"goal": "家計を立て直す", "agency": "自立相談支援機関", "weekly": True, "hours": 2},
        {"goal": "通院を続ける", "weekly": False},
    ],
}


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    """The app only for its templates: nothing here touches the database."""
    yield create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def render(app: Flask, shown: list[Field]) -> str:
    with app.test_request_context():
        return render_template_string(MACRO, fields=shown)


def page(
    app: Flask,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    schema: dict[str, Any] = SCHEMA,
) -> HtmlElement:
    return lxml.html.fragment_fromstring(
        render(app, fields(schema, values, errors)), create_parent="form"
    )


def by_id(doc: HtmlElement, element_id: str) -> HtmlElement:
    found = doc.xpath(f'.//*[@id="{element_id}"]')
    assert len(found) == 1, f"{element_id}: {len(found)} elements"
    return found[0]


def label_of(doc: HtmlElement, element_id: str) -> str:
    (label,) = doc.xpath(f'.//label[@for="{element_id}"]')
    return label.text_content().strip()


def legend_of(element: HtmlElement) -> str:
    return element.find("legend").text_content().strip()


def described(doc: HtmlElement, element: HtmlElement) -> list[str]:
    return [by_id(doc, i).text_content() for i in element.get("aria-describedby", "").split()]


def textarea_value(element: HtmlElement) -> str:
    # An HTML parser drops the newline right after <textarea>; lxml keeps it.
    text = element.text or ""
    return text[1:] if text.startswith("\n") else text


def form_data(doc: HtmlElement) -> MultiDict[str, str]:
    """What a browser submits for the page as rendered (template rows are not part of the form)."""
    pairs: list[tuple[str, str]] = []
    for element in doc.xpath(".//input | .//select | .//textarea"):
        if element.xpath("ancestor::template"):
            continue
        name, tag, kind = element.get("name"), element.tag, element.get("type")
        if tag == "textarea":
            pairs.append((name, textarea_value(element)))
        elif tag == "select":
            chosen = element.xpath("./option[@selected]") or element.xpath("./option")[:1]
            pairs.append((name, chosen[0].get("value")))
        elif kind in ("radio", "checkbox"):
            if element.get("checked") is not None:
                pairs.append((name, element.get("value")))
        else:
            pairs.append((name, element.get("value", "")))
    return MultiDict(pairs)


# What each kind of property renders as


def test_each_kind_of_property_gets_its_control(app: Flask) -> None:
    kinds = {f.name: f.kind for f in fields(SCHEMA, {}, {})}
    assert kinds == {
        "name": "text",
        "story": "textarea",
        "address": "text",
        "age": "number",
        "income": "number",
        "visited_on": "date",
        "method": "radio",
        "window": "select",
        "consented": "yesno",
        "urgent": "checkbox",
        "concerns": "checkboxes",
        "members": "lines",
        "person": "group",
        "goals": "repeat",
    }
    doc = page(app, {})
    assert by_id(doc, "f-name").get("type") == "text"
    assert by_id(doc, "f-name").get("maxlength") == "100"
    assert by_id(doc, "f-story").tag == "textarea"
    assert by_id(doc, "f-story").get("maxlength") == "4000"
    age = by_id(doc, "f-age")
    assert (age.get("type"), age.get("min"), age.get("max"), age.get("step")) == (
        "number",
        "0",
        "130",
        "1",
    )
    assert by_id(doc, "f-income").get("step") == "any"
    assert by_id(doc, "f-visited_on").get("type") == "date"
    select = by_id(doc, "f-window")
    assert select.tag == "select"
    assert [(o.get("value"), o.text) for o in select.xpath("./option")][:2] == [
        ("", "選択してください"),
        ("elderly", "elderly"),
    ]
    assert by_id(doc, "f-urgent").get("type") == "checkbox"
    assert by_id(doc, "f-members").tag == "textarea"
    assert "1行に1件ずつ入力してください。" in described(doc, by_id(doc, "f-members"))[0]
    for name in ("name", "story", "age", "income", "visited_on", "window", "urgent", "members"):
        assert label_of(doc, f"f-{name}"), f"{name} has no label"


def test_choices_are_grouped_under_a_legend(app: Flask) -> None:
    doc = page(app, {})
    method = by_id(doc, "f-method")
    assert method.tag == "fieldset" and legend_of(method) == "方法"
    radios = method.xpath(".//input[@type='radio']")
    assert [(r.get("name"), r.get("value"), label_of(doc, r.get("id"))) for r in radios] == [
        ("method", "visit", "来所"),
        ("method", "phone", "電話"),
    ]
    consented = by_id(doc, "f-consented")
    assert consented.get("role") == "radiogroup" and consented.get("aria-required") == "true"
    answers = consented.xpath(".//input[@type='radio']")
    assert [(a.get("value"), label_of(doc, a.get("id"))) for a in answers] == [
        ("true", "はい"),
        ("false", "いいえ"),
    ]
    concerns = by_id(doc, "f-concerns")
    assert concerns.tag == "fieldset" and legend_of(concerns).startswith("相談内容")
    boxes = concerns.xpath(".//input[@type='checkbox']")
    assert [(b.get("name"), label_of(doc, b.get("id"))) for b in boxes] == [
        ("concerns", "債務"),
        ("concerns", "住まい"),
        ("concerns", "介護"),
    ]


def test_required_fields_are_marked_and_help_is_tied_to_the_input(app: Flask) -> None:
    doc = page(app, {})
    name = by_id(doc, "f-name")
    assert name.get("aria-required") == "true"
    assert "必須" in label_of(doc, "f-name")
    assert doc.xpath('.//label[@for="f-name"]/span[@class="required"]')[0].text == "必須"
    assert described(doc, name) == ["戸籍上の氏名。"]
    story = by_id(doc, "f-story")
    assert story.get("aria-required") is None and "必須" not in label_of(doc, "f-story")
    assert "aria-describedby" not in story.attrib
    # Inside a group or a row, what that object requires.
    assert by_id(doc, "f-person-kana").get("aria-required") == "true"
    assert by_id(doc, "f-person-phone").get("aria-required") is None
    assert by_id(doc, "f-goals-0-goal").get("aria-required") == "true"


def test_conditional_requirements_are_not_marked_required() -> None:
    schema = {
        "type": "object",
        "properties": {
            "decision": {"type": "string", "title": "判断", "enum": ["a", "b"]},
            "reason": {"type": "string", "title": "理由"},
        },
        "allOf": [{"if": {"required": ["decision"]}, "then": {"required": ["reason"]}}],
    }
    assert [f.required for f in fields(schema, {}, {})] == [False, False]


def test_sensitive_fields_carry_a_badge_after_the_label(app: Flask) -> None:
    doc = page(app, {})
    assert label_of(doc, "f-story").endswith("要配慮")
    assert label_of(doc, "f-address").endswith("取扱注意")
    assert label_of(doc, "f-name") == "氏名 必須"


def test_repeat_renders_rows_a_blank_row_and_a_template(app: Flask) -> None:
    doc = page(app, VALID)
    goals = by_id(doc, "f-goals")
    assert goals.get("data-repeat") == "goals" and goals.get("data-repeat-max") == "30"
    rows = goals.xpath("./div[@data-repeat-rows]/fieldset")
    assert [legend_of(r) for r in rows] == ["目標 1", "目標 2", "目標 3"]
    assert [by_id(doc, f"f-goals-{i}-goal").get("value") for i in range(3)] == [
        "家計を立て直す",
        "通院を続ける",
        "",
    ]
    assert label_of(doc, "f-goals-2-agency") == "担当機関"
    (template,) = goals.xpath("./template")
    names = [e.get("name") for e in template.xpath(".//input")]
    assert names == [
        "goals.__index__.goal",
        "goals.__index__.agency",
        "goals.__index__.weekly",
        "goals.__index__.hours",
    ]
    buttons = goals.xpath(".//button")
    assert all(b.get("hidden") is not None and b.get("type") == "button" for b in buttons)
    assert "行を追加" in buttons[-1].text_content()
    assert "この行を削除" in buttons[0].text_content()
    # At maxItems the blank row is left out.
    full = {"goals": [{"goal": str(i)} for i in range(30)]}
    assert len(fields(SCHEMA, full, {})[-1].children) == 30


def test_no_inline_script_or_style(app: Flask) -> None:
    html = render(app, fields(SCHEMA, VALID, {"name": "x"}))
    assert "<script" not in html and "style=" not in html and "onclick" not in html


# Messages next to their fields


def test_error_appears_next_to_its_field(app: Flask) -> None:
    errors = {
        "name": "必須項目です。入力してください。",
        "goals.1.goal": "200文字以内で入力してください。",
        "concerns": "1件以上選んでください。",
        "consented": "必須項目です。入力してください。",
    }
    doc = page(app, VALID, errors)
    name = by_id(doc, "f-name")
    assert name.get("aria-invalid") == "true"
    assert described(doc, name) == ["戸籍上の氏名。", "エラー：必須項目です。入力してください。"]
    assert by_id(doc, "f-name-error").get("class") == "field-error"
    assert by_id(doc, "f-name-error").getparent() is name.getparent()
    goal = by_id(doc, "f-goals-1-goal")
    assert goal.get("aria-invalid") == "true"
    assert described(doc, goal) == ["エラー：200文字以内で入力してください。"]
    assert by_id(doc, "f-goals-0-goal").get("aria-invalid") is None
    assert "1件以上選んでください。" in by_id(doc, "f-concerns").text_content()
    assert all(b.get("aria-invalid") == "true" for b in by_id(doc, "f-concerns").xpath(".//input"))
    assert by_id(doc, "f-consented").get("aria-invalid") == "true"
    assert by_id(doc, "f-story").get("aria-invalid") is None
    assert form_errors(SCHEMA, errors) == []


def test_messages_without_a_field_are_listed_for_the_whole_form() -> None:
    errors = {
        "_form": "このフォームにない項目が含まれています。",
        "nickname": "不明な項目",
        "person.kana": "必須項目です。入力してください。",
        "concerns.1": "選択肢の中から選んでください。",
        "members.0": "50文字以内で入力してください。",
        f"goals.{MAX_ROWS}.goal": "行が多すぎます",
        "goals.0.goal.extra": "入れ子の誤り",
    }
    assert form_errors(SCHEMA, errors) == [
        "このフォームにない項目が含まれています。",
        "不明な項目",
        "行が多すぎます",
    ]
    shown = {f.name: f for f in fields(SCHEMA, {}, errors)}
    assert shown["concerns"].error == "選択肢の中から選んでください。"
    assert shown["members"].error == "50文字以内で入力してください。"
    assert shown["person"].children[0].error == "必須項目です。入力してください。"


def test_a_row_with_a_message_is_shown_even_if_the_values_have_fewer_rows() -> None:
    (goals,) = [
        f
        for f in fields(SCHEMA, {"goals": []}, {"goals.2.goal": "必須項目です。"})
        if f.kind == "repeat"
    ]
    assert [row.name for row in goals.children] == ["goals.0", "goals.1", "goals.2", "goals.3"]
    assert goals.children[2].children[0].error == "必須項目です。"


def test_message_for_the_whole_list_goes_on_the_list(app: Flask) -> None:
    doc = page(app, {}, {"goals": "目標を1件以上入力してください。"})
    goals = by_id(doc, "f-goals")
    assert described(doc, goals) == ["エラー：目標を1件以上入力してください。"]


# Values survive a re-render


def test_typed_values_are_shown_again(app: Flask) -> None:
    doc = page(app, VALID)
    assert by_id(doc, "f-name").get("value") == "山田 花子"
    assert textarea_value(by_id(doc, "f-story")) == "\n一行目\n\n三行目 "
    assert by_id(doc, "f-age").get("value") == "42"
    assert by_id(doc, "f-income").get("value") == "12.5"
    assert by_id(doc, "f-visited_on").get("value") == "2025-04-01"
    assert [r.get("value") for r in by_id(doc, "f-method").xpath(".//input[@checked]")] == ["phone"]
    assert [o.get("value") for o in by_id(doc, "f-window").xpath(".//option[@selected]")] == [
        "poverty"
    ]
    assert [r.get("value") for r in by_id(doc, "f-consented").xpath(".//input[@checked]")] == [
        "false"
    ]
    assert by_id(doc, "f-urgent").get("checked") is not None
    checked = by_id(doc, "f-concerns").xpath(".//input[@checked]")
    assert [c.get("value") for c in checked] == ["debt", "care"]
    assert textarea_value(by_id(doc, "f-members")) == "佐藤\n鈴木"
    assert by_id(doc, "f-person-kana").get("value") == "やまだ はなこ"
    assert by_id(doc, "f-goals-0-weekly").get("checked") is not None
    assert by_id(doc, "f-goals-1-weekly").get("checked") is None
    assert by_id(doc, "f-goals-0-hours").get("value") == "2"


def test_submitting_the_page_unchanged_gives_back_the_same_data(app: Flask) -> None:
    assert parse(SCHEMA, form_data(page(app, VALID))) == VALID


def test_markup_in_values_is_escaped(app: Flask) -> None:
    html = render(app, fields(SCHEMA, {"name": '"><script>alert(1)</script>'}, {}))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_non_numeric_answer_is_kept_and_shown_in_a_text_box(app: Flask) -> None:
    data = parse(SCHEMA, MultiDict({"age": "四十二"}))
    assert data["age"] == "四十二"
    assert errors_for(SCHEMA, data)["age"] == "整数で入力してください。"
    age = by_id(page(app, data, errors_for(SCHEMA, data)), "f-age")
    assert (age.get("type"), age.get("value"), age.get("aria-invalid")) == (
        "text",
        "四十二",
        "true",
    )


# Reading a submission back into JSON


def test_parse_types_values_per_the_schema() -> None:
    form = MultiDict(
        [
            ("csrf_token", "abc"),
            ("action", "complete"),
            ("name", "山田"),
            ("story", "一行目\r\n二行目"),
            ("age", " ４２ "),
            ("income", "-0.5"),
            ("visited_on", "2025-04-01"),
            ("method", "visit"),
            ("window", "child"),
            ("consented", "true"),
            ("concerns", "housing"),
            ("concerns", "debt"),
            ("members", "  佐藤 \r\n\r\n 鈴木\n"),
            ("person.kana", "やまだ"),
            ("goals.10.goal", "三つ目"),
            ("goals.2.goal", "二つ目"),
            ("goals.2.hours", "3"),
            ("goals.0.goal", "一つ目"),
            ("goals.0.weekly", "true"),
            ("goals.1.goal", ""),
            ("goals.1.agency", "  "),
        ]
    )
    assert parse(SCHEMA, form) == {
        "name": "山田",
        "story": "一行目\n二行目",
        "age": 42,
        "income": -0.5,
        "visited_on": "2025-04-01",
        "method": "visit",
        "window": "child",
        "consented": True,
        "urgent": False,
        "concerns": ["housing", "debt"],
        "members": ["佐藤", "鈴木"],
        "person": {"kana": "やまだ"},
        "goals": [
            {"goal": "一つ目", "weekly": True},
            {"goal": "二つ目", "weekly": False, "hours": 3},
            {"goal": "三つ目", "weekly": False},
        ],
    }


def test_empty_answers_are_left_out_so_required_messages_show() -> None:
    form = MultiDict(
        [
            ("name", ""),
            ("story", "   "),
            ("age", ""),
            ("method", ""),
            ("members", "\n \n"),
            ("person.kana", ""),
            ("person.phone", ""),
            ("goals.0.goal", ""),
            ("goals.0.agency", ""),
        ]
    )
    data = parse(SCHEMA, form)
    # Unchecked boxes are an answer (False); a required list with nothing picked is an empty list.
    assert data == {"urgent": False, "concerns": [], "goals": []}
    errors = errors_for(SCHEMA, data)
    assert errors["name"] == "必須項目です。入力してください。"
    assert errors["consented"] == "必須項目です。入力してください。"
    assert errors["goals"] == "1件以上選んでください。"
    assert form_errors(SCHEMA, errors) == []


def test_yes_no_reads_both_answers_and_no_answer() -> None:
    assert parse(SCHEMA, MultiDict({"consented": "false"}))["consented"] is False
    assert parse(SCHEMA, MultiDict({"consented": "true"}))["consented"] is True
    assert "consented" not in parse(SCHEMA, MultiDict())
    assert parse(SCHEMA, MultiDict({"consented": "maybe"}))["consented"] == "maybe"


def test_numbers_that_are_not_numbers_stay_strings() -> None:
    for raw in ("1.5", "1e3", "0x10", "1_000", "nan", "1e999", "9" * 5000):
        assert parse(SCHEMA, MultiDict({"age": raw}))["age"] == raw
    assert parse(SCHEMA, MultiDict({"income": "1e999"}))["income"] == "1e999"
    assert parse(SCHEMA, MultiDict({"income": "1e3"}))["income"] == 1000.0
    assert parse(SCHEMA, MultiDict({"income": "７"}))["income"] == 7


def test_choices_keep_the_type_of_their_values() -> None:
    schema = {
        "type": "object",
        "properties": {
            "score": {"type": "integer", "title": "点", "enum": [1, 2, 3]},
            "days": {
                "type": "array",
                "title": "曜日",
                "items": {"type": "integer", "enum": [1, 2]},
                "x-enumTitles": ["月", "火"],
            },
        },
    }
    assert parse(schema, MultiDict([("score", "2"), ("days", "2"), ("days", "1")])) == {
        "score": 2,
        "days": [2, 1],
    }
    assert parse(schema, MultiDict({"score": "9"})) == {"score": "9"}
    assert parse(schema, to_multidict(schema, {"score": 3, "days": [1]})) == {
        "score": 3,
        "days": [1],
    }


@pytest.mark.parametrize(
    "name",
    [
        "goals.999999999.goal",
        "goals.1001.goal",
        "goals.-1.goal",
        "goals.01.goal",
        "goals.1e3.goal",
        "goals.٣.goal",
        "goals..goal",
        "goals.__proto__.goal",
        "__proto__",
        "constructor.prototype",
        "person.__proto__",
        "goals",
        "goals.",
        "",
    ],
)
def test_hostile_names_are_ignored(name: str) -> None:
    data = parse(SCHEMA, MultiDict([(name, "x"), ("goals.0.goal", "本物")]))
    assert data["goals"] == [{"goal": "本物", "weekly": False}]
    assert set(data) <= set(SCHEMA["properties"])


def test_rows_are_capped() -> None:
    form = MultiDict([(f"goals.{i}.goal", str(i)) for i in range(1001)])
    rows = parse(SCHEMA, form)["goals"]
    assert len(rows) == MAX_ROWS
    assert rows[-1]["goal"] == str(MAX_ROWS - 1)
    assert parse(SCHEMA, MultiDict({"goals.1000.goal": "a"}))["goals"] == [
        {"goal": "a", "weekly": False}
    ]
    assert parse(SCHEMA, MultiDict({"goals.1001.goal": "a"})).get("goals") == []


def test_odd_values_in_stored_data_do_not_break_rendering(app: Flask) -> None:
    odd = {
        "name": 5,
        "concerns": "debt",
        "members": "one",
        "person": "not an object",
        "goals": {"0": {"goal": "x"}},
        "urgent": "yes",
        "age": None,
    }
    doc = page(app, odd)
    assert by_id(doc, "f-name").get("value") == "5"
    assert by_id(doc, "f-goals-0-goal").get("value") == ""


def test_references_to_definitions_are_followed() -> None:
    schema = {
        "type": "object",
        "$defs": {
            "row": {"type": "object", "title": "行", "properties": {"x": {"$ref": "#/$defs/text"}}},
            "text": {"type": "string", "title": "テキスト", "maxLength": 10},
            "tree": {"type": "object", "properties": {"child": {"$ref": "#/$defs/tree"}}},
        },
        "properties": {
            "rows": {"type": "array", "title": "一覧", "items": {"$ref": "#/$defs/row"}},
            "tree": {"$ref": "#/$defs/tree", "title": "木"},
            "broken": {"$ref": "#/$defs/missing", "title": "壊れた参照"},
        },
    }
    shown = fields(schema, {}, {})
    assert [(f.name, f.kind) for f in shown] == [
        ("rows", "repeat"),
        ("tree", "group"),
        ("broken", "text"),
    ]
    assert shown[0].children[0].children[0].maxlength == 10
    data = {"rows": [{"x": "a"}], "tree": {"child": {"child": {}}}}
    assert parse(schema, to_multidict(schema, data)) == {"rows": [{"x": "a"}]}


def test_round_trip_of_realistic_data() -> None:
    assert errors_for(SCHEMA, VALID) == {}
    assert parse(SCHEMA, to_multidict(SCHEMA, VALID)) == VALID


# The real forms in forms/


def real_schema(name: str) -> dict[str, Any]:
    path = FORMS / name
    assert path.exists(), f"{name} is missing from forms/"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", sorted(FORMS.glob("*.schema.json")), ids=lambda p: p.name)
def test_every_form_renders_with_labelled_unique_controls(app: Flask, path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    shown = fields(schema, {}, {})
    assert [f.name for f in shown] == list(schema["properties"])
    doc = lxml.html.fragment_fromstring(render(app, shown), create_parent="form")
    live = [e for e in doc.xpath(".//*[@id]") if not e.xpath("ancestor::template")]
    ids = [e.get("id") for e in live]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for control in doc.xpath(".//input | .//select | .//textarea"):
        assert doc.xpath(f'.//label[@for="{control.get("id")}"]'), control.get("name")
    for reference in doc.xpath(".//*[@aria-describedby]"):
        for target in reference.get("aria-describedby").split():
            assert doc.xpath(f'.//*[@id="{target}"]'), target
    # Whatever an empty submission gets wrong is shown next to a field.
    errors = errors_for(schema, parse(schema, MultiDict()))
    assert form_errors(schema, errors) == []


def test_support_plan_goal_rows_round_trip_and_show_their_messages(app: Flask) -> None:
    schema = real_schema("support_plan.schema.json")
    plan = {
        "policy": "家計と健康の両面から、本人のペースで支える。",
        "goals": [
            {
                "goal": "滞納している家賃の返済計画を立てる",
                "support_content": "家計相談で収支を整理し、大家と分割払いを交渉する。",
                "responsible_agency": "自立相談支援機関",
                "staff": "佐藤",
                "frequency": "月2回",
            },
            {
                "goal": "定期的に通院する",
                "support_content": "受診に同行する。",
                "responsible_agency": "地域包括支援センター",
            },
        ],
        "primary_agency": "jiritsu-1",
        "plan_start": "2025-04-01",
        "plan_end": "2025-09-30",
        "review_date": "2025-05-01",
        "participation_requested": False,
        "outreach_requested": True,
        "outreach_request_note": "週1回の訪問を依頼。",
        "person_consented": True,
        "consented_on": "2025-03-28",
    }
    assert errors_for(schema, plan) == {}
    assert parse(schema, to_multidict(schema, plan)) == plan

    form = to_multidict(schema, plan)
    form.setlist("goals.1.support_content", [""])
    form.setlist("goals.5.goal", [""])  # the blank row nobody filled in
    data = parse(schema, form)
    assert len(data["goals"]) == 2
    errors = errors_for(schema, data)
    assert set(errors) == {"goals.1.support_content"}
    doc = page(app, data, errors, schema)
    content = by_id(doc, "f-goals-1-support_content")
    assert content.get("aria-invalid") == "true"
    assert described(doc, content) == ["エラー：必須項目です。入力してください。"]
    assert textarea_value(by_id(doc, "f-goals-0-support_content")).startswith("家計相談")
    assert legend_of(by_id(doc, "f-goals-1")) == "目標 2"


def test_intake_round_trips_with_nested_groups_and_lists() -> None:
    schema = real_schema("intake.schema.json")
    intake = {
        "received_on": "2025-04-01",
        "route": "minsei_iin",
        "method": "home_visit",
        "anonymous": False,
        "about_third_party": True,
        "person": {"name": "山田 太郎", "birth_date": "1975-06-01", "sex": "male"},
        "concerns": ["debt", "hikikomori_truancy"],
        "most_pressing": "debt",
        "concern_detail": "長男が10年ほど自宅にこもっている。\n家賃の滞納がある。",
        "consent_given": True,
        "consent_scope": {
            "agencies": ["地域包括支援センター", "社会福祉協議会"],
            "info_kinds": ["basic", "debt"],
            "purpose": "支援の調整のため",
        },
        "consent_date": "2025-04-01",
    }
    assert errors_for(schema, intake) == {}
    assert parse(schema, to_multidict(schema, intake)) == intake
    kinds = {f.name: f.kind for f in fields(schema, intake, {})}
    assert (kinds["route"], kinds["method"], kinds["most_pressing"]) == (
        "select",
        "radio",
        "select",
    )


def test_first_assessment_household_rows_keep_their_checkboxes() -> None:
    schema = real_schema("first_assessment.schema.json")
    members = [
        {
            "relation": "本人",
            "age_group": "age_40_64",
            "living_together": True,
            "role": "key_person",
        },
        {"relation": "母", "age_group": "age_75_plus", "living_together": False},
    ]
    data = parse(schema, to_multidict(schema, {"household_members": members, "decision": "window"}))
    assert data["household_members"] == members


# repeat.js in a real browser


def test_repeat_js_adds_removes_and_renumbers_rows(app: Flask, browser) -> None:
    html = render(app, fields(SCHEMA, {"goals": [{"goal": "一"}, {"goal": "二"}]}, {}))
    script = REPEAT_JS.read_text(encoding="utf-8") + "\ninitRepeats();\ninitRepeats();\n"
    tab = browser.new_page()
    try:
        tab.set_content(f'<form id="form">{html}</form>')
        tab.add_script_tag(content=script, type="module")
        add = tab.locator("#f-goals [data-repeat-add]")
        add.wait_for(state="visible")
        assert tab.locator("#f-goals [data-repeat-remove]:visible").count() == 3

        add.click()
        assert tab.evaluate("document.activeElement.name") == "goals.3.goal"
        tab.keyboard.type("四")
        assert tab.locator("label[for='f-goals-3-goal']").count() == 1
        tab.locator("#f-goals-0 [data-repeat-remove]").click()
        tab.locator("#f-goals-1-goal").fill("三")

        legends = tab.locator("#f-goals [data-repeat-row] > legend").all_inner_texts()
        assert [t.strip() for t in legends] == ["目標 1", "目標 2", "目標 3"]
        assert tab.locator("#f-goals [role=status]").inner_text() == "目標 1を削除しました。"
        pairs = tab.evaluate("[...new FormData(document.getElementById('form'))]")
        ids = tab.evaluate("[...document.querySelectorAll('#f-goals input')].map(e => e.id)")
    finally:
        tab.close()
    assert {i.rsplit("-", 1)[0] for i in ids} == {"f-goals-0", "f-goals-1", "f-goals-2"}
    assert parse(SCHEMA, MultiDict([tuple(p) for p in pairs]))["goals"] == [
        {"goal": "二", "weekly": False},
        {"goal": "三", "weekly": False},
        {"goal": "四", "weekly": False},
    ]
