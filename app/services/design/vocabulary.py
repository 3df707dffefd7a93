"""The words and pickers the modeler offers a designer: every property Kasane reads from a diagram,
with what may be chosen for it (forms, stages, record kinds, queues, processes, messages).

The same dictionary feeds the modeler's properties panel and its lint rules, so the page offers only
what deploy accepts. Everything a designer reads is in the page's language.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import Group, ProcessDefinition
from app.services import case_progress, definitions, queues, settings
from app.services.consent import PURPOSES
from app.services.design import contract
from app.services.records import RECORDERS

USER_TASK = "bpmn:UserTask"
CATCH_EVENT = "bpmn:IntermediateCatchEvent"

# (name, label, input, choices, applies to); the order is the panel's.
PROPERTIES: list[tuple[str, Any, str, str | None, str, Any]] = [
    (
        "formJsonSchemaFilename",
        _l("フォーム"),
        "select",
        "forms",
        USER_TASK,
        _l("このタスクで職員が入力するフォームです。"),
    ),
    (
        "stage",
        _l("段階"),
        "select",
        "stages",
        USER_TASK,
        _l("タスクが始まるとケースがこの段階になります。"),
    ),
    (
        "stageOnComplete",
        _l("完了後の段階"),
        "select",
        "stages",
        USER_TASK,
        _l("タスクを終えたときにケースを移す段階です。"),
    ),
    (
        "dueInDays",
        _l("期限（日数）"),
        "number",
        None,
        USER_TASK,
        _l("タスクが届いてから期限までの日数です。"),
    ),
    (
        "priority",
        _l("優先度（0〜100）"),
        "number",
        None,
        USER_TASK,
        _l("80以上は「高」と表示されます。"),
    ),
    (
        "recordAs",
        _l("書き込む記録"),
        "select",
        "records",
        USER_TASK,
        _l("フォームの内容をどの記録として残すかです。"),
    ),
    (
        "sharesInformation",
        _l("情報を共有する目的"),
        "select",
        "purposes",
        USER_TASK,
        _l("ケースを他の窓口と共有する段階では、本人の同意の範囲が確かめられます。"),
    ),
    (
        "queueFromData",
        _l("振り先の機関を読む項目"),
        "select",
        "agency_fields",
        USER_TASK,
        _l("前のフォームで選ばれた機関の受信箱にタスクを届けます。"),
    ),
    (
        "showForms",
        _l("参照するフォーム"),
        "multiselect",
        "forms",
        USER_TASK,
        _l("作業中に見せる、これまでの記録です。"),
    ),
    (
        "prefillFrom",
        _l("下書きに使うフォーム"),
        "multiselect",
        "forms",
        USER_TASK,
        _l("同じ名前の項目の最新の回答を、はじめから入れておきます。"),
    ),
    (
        "councilMaterial",
        _l("支援会議の資料"),
        "checkbox",
        None,
        USER_TASK,
        _l("支援会議の資料を扱うタスクです（議長だけが開けます）。"),
    ),
    ("showOpenWork", _l("ケースの他の作業を見せる"), "checkbox", None, USER_TASK, None),
    (
        "startNow",
        _l("期日前に始められる"),
        "checkbox",
        None,
        CATCH_EVENT,
        _l("担当者が期日を待たずにこの出来事を進められます。"),
    ),
]

WORDS = {
    "kasane_group": _l("Kasane の設定"),
    "none": _l("（なし）"),
    "unsaved": _l("保存していない変更があります"),
    "saving": _l("保存しています…"),
    "saved": _l("保存しました"),
    "load_failed": _l("図を読み込めませんでした"),
    "lane_queue": _l("担当キュー"),
    "condition": _l("条件式"),
    "called_process": _l("呼び出すプロセス"),
    "message": _l("メッセージ"),
    "save_failed": _l("保存できませんでした。通信を確かめて、もう一度保存してください。"),
    "import_warnings": _l(
        "図の一部を読み込めませんでした（{count}件）。保存すると、その部分は失われます。"
    ),
    "whole_number": _l("0以上の整数を入れてください"),
    "unknown_choice": _l("{value}（一覧にありません）"),
}


def vocabulary(forms_dir: str) -> dict[str, Any]:
    """The modeler's properties and pickers, in the current language."""
    forms = _forms(forms_dir)
    return {
        "words": {key: str(text) for key, text in WORDS.items()},
        "properties": [
            {
                "name": name,
                "label": str(label),
                "input": kind,
                "choices": choices,
                "applies_to": [applies],
                "help": str(help_text) if help_text else "",
            }
            for name, label, kind, choices, applies, help_text in PROPERTIES
        ],
        "choices": {
            "forms": [{"value": key, "label": title} for key, title, _ in forms],
            "stages": [
                {"value": key, "label": str(label)}
                for key, label in case_progress.stage_labels().items()
            ],
            "records": [{"value": key, "label": key} for key in RECORDERS],
            "purposes": [{"value": key, "label": str(label)} for key, label in PURPOSES.items()],
            "queues": _queues(),
            "processes": _processes(),
            "messages": [
                {"value": name, "label": name} for name in sorted(definitions.message_names())
            ],
            "agency_fields": _agency_fields(forms),
        },
        # Each form's fields, with the values a choice field can hold (null: any value): what a
        # gateway's condition may read and compare (the BPMN↔form contract).
        "form_fields": {
            key: {
                name: _field_choices(field)
                for name, field in (schema.get("properties") or {}).items()
            }
            for key, _, schema in forms
        },
        "process_variables": sorted(settings.process_variables()),
        "deployed_fields": _deployed_fields(),
        "records_detail": {
            key: {"form": recorder.form, "shares": recorder.shares}
            for key, recorder in RECORDERS.items()
        },
    }


def _forms(forms_dir: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(file name, title, schema) of every readable form in ``forms_dir``."""
    found = []
    for path in sorted(Path(forms_dir).glob("*.schema.json")):
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(schema, dict):
            found.append((path.name, str(schema.get("title") or path.name), schema))
    return found


def _field_choices(field: Any) -> list[Any] | None:
    choices = contract.choices_of(field)
    return None if choices is None else sorted(choices, key=str)


def _deployed_fields() -> dict[str, dict[str, list[Any] | None]]:
    """Per deployed process (its newest version): the names its conditions' callers may read, as
    deploy counts them when a draft is checked beside it (its forms' fields, its scripts' values)."""
    from app.engine import contract as names

    provided: dict[str, dict[str, list[Any] | None]] = {}
    for key in sorted(set(db.session.scalars(select(ProcessDefinition.key).distinct()))):
        row = definitions.latest(key)
        found: dict[str, set[Any] | None] = {}
        for schema in (row.forms or {}).values():
            for name, field in (schema.get("properties") or {}).items():
                contract.merge(found, name, contract.choices_of(field))
        for name, values in names.assignments(names.document_root(row.bpmn_xml)).items():
            contract.merge(found, name, None if names.any_value(values) else set(values))
        provided[key] = {
            name: None if choices is None else sorted(choices, key=str)
            for name, choices in found.items()
        }
    return provided


def _agency_fields(forms: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, str]]:
    """Form fields that pick an agency (``x-picker: agency``): what ``queueFromData`` may read."""
    fields: dict[str, str] = {}
    for _, title, schema in forms:
        for name, field in (schema.get("properties") or {}).items():
            if isinstance(field, dict) and field.get("x-picker") == "agency":
                fields.setdefault(name, f"{field.get('title') or name}（{title}）")
    return [{"value": name, "label": label} for name, label in sorted(fields.items())]


def _queues() -> list[dict[str, str]]:
    """Lane names that route work: the groups, and the lanes that follow the case's agency."""
    names = list(db.session.scalars(select(Group.name).order_by(Group.name)))
    names += sorted(queues.CASE_LANES)
    return [{"value": name, "label": name} for name in names]


def _processes() -> list[dict[str, str]]:
    rows = db.session.execute(
        select(ProcessDefinition.key, ProcessDefinition.name).order_by(
            ProcessDefinition.key, ProcessDefinition.version.desc()
        )
    )
    seen: dict[str, str] = {}
    for key, name in rows:
        seen.setdefault(key, name or key)
    return [{"value": key, "label": name} for key, name in seen.items()]
