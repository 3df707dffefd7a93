"""Forms changed in a draft: a designer edits a form's JSON Schema beside the diagram; the text is
checked (JSON, Draft 2020-12, Kasane's form conventions) before it is kept, and deploy reads the
draft's forms before forms/. Nothing here reaches staff until the draft is deployed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from app.extensions import db
from app.models import ProcessDraft, User
from app.models.base import utcnow
from app.services import audit
from app.services.design import drafts
from app.services.errors import InvalidInput, NotFound

FORM_NAME = re.compile(r"[a-z0-9_]{1,80}\.schema\.json")
MAX_FORM_CHARS = 200_000
SENSITIVITY = {"P", "R", "X"}


def names(draft: ProcessDraft, forms_dir: str) -> list[tuple[str, str]]:
    """Every form the draft can use (forms/ and those added in the draft): file name and title."""
    titles: dict[str, str] = {}
    for path in Path(forms_dir).glob("*.schema.json"):
        try:
            titles[path.name] = str(json.loads(path.read_text(encoding="utf-8")).get("title") or "")
        except (OSError, ValueError, AttributeError):
            titles[path.name] = ""
    for name, schema in (draft.forms or {}).items():
        titles[name] = str(schema.get("title") or "")
    return sorted(titles.items(), key=lambda pair: (pair[1] or pair[0], pair[0]))


def text_of(draft: ProcessDraft, name: str, forms_dir: str) -> str:
    """The form as the designer edits it: the draft's copy, or the file in forms/."""
    if not FORM_NAME.fullmatch(name):
        raise NotFound(_("フォームが見つかりません。"))
    if name in (draft.forms or {}):
        return json.dumps(draft.forms[name], ensure_ascii=False, indent=2)
    path = Path(forms_dir) / name
    if not path.is_file():
        return json.dumps(_skeleton(), ensure_ascii=False, indent=2)
    return path.read_text(encoding="utf-8")


def _skeleton() -> dict[str, Any]:
    """A new form's starting text: one field, written the way forms/README.md asks."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": _("新しいフォーム"),
        "type": "object",
        "properties": {
            "note": {
                "title": _("記録"),
                "type": "string",
                "maxLength": 4000,
                "x-sensitivity": "P",
            }
        },
        "additionalProperties": False,
    }


def parse(text: str) -> dict[str, Any]:
    """The schema in ``text``, or InvalidInput saying (in Japanese) where and what to fix."""
    if len(text) > MAX_FORM_CHARS or "\x00" in text:
        raise _refused(_("フォームが大きすぎるか、使えない文字を含んでいます。"))
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _refused(
            _(
                "JSONとして読めません（%(line)s行目 %(column)s文字目）。括弧・引用符・カンマを確かめてください。",
                line=exc.lineno,
                column=exc.colno,
            )
        ) from exc
    if not isinstance(schema, dict):
        raise _refused(_("フォームは { } で囲んだオブジェクトで書いてください。"))
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise _refused(
            _(
                "JSON Schema（Draft 2020-12）として正しくありません（%(where)s）。",
                where=exc.json_path,
            )
        ) from exc
    problem = _convention_problem(schema)
    if problem:
        raise _refused(problem)
    return schema


def _convention_problem(schema: dict[str, Any]) -> str | None:
    """Kasane's rules for forms (forms/README.md) that JSON Schema itself does not say."""
    if schema.get("type") != "object":
        return _('フォームの最上位は "type": "object" にしてください。')
    if not str(schema.get("title") or "").strip():
        return _("フォームに日本語の見出し（title）を付けてください。")
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        return _("項目（properties）を1つ以上書いてください。")
    for key, field in properties.items():
        if not isinstance(field, dict):
            continue
        if not str(field.get("title") or "").strip():
            return _("項目「%(key)s」に見出し（title）を付けてください。", key=key)
        if field.get("x-sensitivity") not in SENSITIVITY:
            return _(
                "項目「%(key)s」に機微度（x-sensitivity: P・R・X のいずれか）を付けてください。",
                key=key,
            )
        for choice in field.get("oneOf") or []:
            if isinstance(choice, dict) and ("const" not in choice or "title" not in choice):
                return _(
                    "項目「%(key)s」の選択肢には値（const）と表示名（title）を付けてください。",
                    key=key,
                )
    return None


def save(draft_id: int, name: str, text: str, actor: User) -> dict[str, Any]:
    """Keep the form in the draft after checking it; returns the schema."""
    drafts.require_design(actor, "draft.form", draft_id)
    draft = db.session.get(ProcessDraft, draft_id)
    if draft is None:
        raise NotFound(_("下書きが見つかりません。"))
    if draft.status != "editing":
        raise InvalidInput(
            _("この下書きは編集中ではありません（承認待ち、反映済み、または破棄済み）。")
        )
    if not FORM_NAME.fullmatch(name):
        raise _refused(
            _("フォームのファイル名は英小文字・数字・_ と .schema.json で付けてください。"), "name"
        )
    schema = parse(text)
    draft.forms = {**(draft.forms or {}), name: schema}
    draft.updated_by_id = actor.id
    draft.updated_at = utcnow()
    audit.record("draft.form", "process_draft", draft.id, actor, detail={"form": name})
    db.session.commit()
    return schema


def _refused(message: str, field: str = "schema") -> InvalidInput:
    return InvalidInput(message, fields={field: message})
