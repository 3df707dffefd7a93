"""Validates form data against a task's JSON Schema and explains each problem in Japanese."""

from __future__ import annotations

import ast
import json
import unicodedata
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from app.services import clock
from app.services.errors import InvalidInput

_TYPE_NAMES = {
    "string": _l("文字列"),
    "integer": _l("整数"),
    "number": _l("数値"),
    "boolean": _l("はい／いいえ"),
    "array": _l("一覧"),
    "object": _l("項目のまとまり"),
    "null": _l("空欄"),
}
_FORMAT_NAMES = {
    "date": _l("日付（YYYY-MM-DD）"),
    "date-time": _l("日時"),
    "email": _l("メールアドレス"),
    "time": _l("時刻"),
}
_FORMAT_CHECKER = FormatChecker()


def field_path(error: ValidationError) -> str:
    """A dotted path such as ``goals.0.title``; the property a ``required`` error is about is appended."""
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = _missing_property(error)
        if missing:
            parts.append(missing)
    return ".".join(parts) or "_form"


def _missing_property(error: ValidationError) -> str | None:
    """The property a ``required`` error names (jsonschema reports one error per missing property)."""
    suffix = " is a required property"
    if error.message.endswith(suffix):
        try:
            name = ast.literal_eval(error.message[: -len(suffix)])
        except (ValueError, SyntaxError):
            name = None
        if isinstance(name, str):
            return name
    for name in error.validator_value:
        if isinstance(error.instance, dict) and name not in error.instance:
            return str(name)
    return None


def message_ja(error: ValidationError) -> str:
    """One Japanese sentence for one schema violation."""
    kind, value = error.validator, error.validator_value
    custom = (error.schema or {}).get("x-errorMessage") if isinstance(error.schema, dict) else None
    if isinstance(custom, str):
        return _(custom)  # a form's own message, in English too when the catalogue has it
    messages = {
        "required": lambda: _("必須項目です。入力してください。"),
        "type": lambda: _("%(kind)sで入力してください。", kind=_type_label(value)),
        "minLength": lambda: (
            _("入力してください。")
            if value == 1
            else _("%(n)s文字以上で入力してください。", n=value)
        ),
        "maxLength": lambda: _("%(n)s文字以内で入力してください。", n=value),
        "minimum": lambda: _("%(n)s以上の値を入力してください。", n=value),
        "maximum": lambda: _("%(n)s以下の値を入力してください。", n=value),
        "exclusiveMinimum": lambda: _("%(n)sより大きい値を入力してください。", n=value),
        "exclusiveMaximum": lambda: _("%(n)sより小さい値を入力してください。", n=value),
        "enum": lambda: _("選択肢の中から選んでください。"),
        "const": lambda: _("この値は選べません。"),
        "format": lambda: _(
            "%(kind)sの形式で入力してください。", kind=str(_FORMAT_NAMES.get(value, value))
        ),
        "pattern": lambda: _("入力の形式が正しくありません。"),
        "minItems": lambda: (
            _("%(n)s件以上選んでください。", n=value) if value > 1 else _("1件以上選んでください。")
        ),
        "maxItems": lambda: _("%(n)s件以内にしてください。", n=value),
        "uniqueItems": lambda: _("同じものが重複しています。"),
        "additionalProperties": lambda: _("このフォームにない項目が含まれています。"),
    }
    return messages.get(kind, lambda: _("入力内容が正しくありません。"))()


def _type_label(value: Any) -> str:
    if isinstance(value, list):
        return _("または").join(str(_TYPE_NAMES.get(v, v)) for v in value)
    return str(_TYPE_NAMES.get(value, str(value)))


def errors_for(schema: dict[str, Any], data: Any) -> dict[str, str]:
    """Field path → Japanese message for every problem (the first per field)."""
    found = unusable_text(data)
    if found:
        return found
    validator = Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        found.setdefault(field_path(error), message_ja(error))
    if isinstance(data, dict):
        for key, message in _date_order_errors(schema, data).items():
            found.setdefault(key, message)
        for key, message in _future_date_errors(schema, data).items():
            found.setdefault(key, message)
    return found


def _future_date_errors(schema: dict[str, Any], data: Any, path: str = "") -> dict[str, str]:
    """``x-notFuture``: a date that records what has happened (受付日, 生年月日, 実施日) cannot be
    later than today in Japan."""
    found: dict[str, str] = {}
    if not isinstance(data, dict):
        return found
    for key, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or key not in data:
            continue
        name = f"{path}.{key}" if path else key
        value = data[key]
        if prop.get("x-notFuture") and isinstance(value, str):
            try:
                if date.fromisoformat(value) > clock.today():
                    found[name] = _("今日より後の日付は入力できません。")
            except ValueError:
                pass  # a malformed date already has its own message
        elif isinstance(value, dict):
            found.update(_future_date_errors(prop, value, name))
        elif isinstance(value, list) and isinstance(prop.get("items"), dict):
            for index, row in enumerate(value):
                found.update(_future_date_errors(prop["items"], row, f"{name}.{index}"))
    return found


def _bad_text(text: str) -> bool:
    # NUL cannot be stored by PostgreSQL; a lone surrogate cannot be encoded as UTF-8 at all.
    return "\x00" in text or any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def unusable_text(value: Any, path: str = "") -> dict[str, str]:
    """Fields holding characters that cannot be stored (NUL, lone surrogates), path → message."""
    found: dict[str, str] = {}
    if isinstance(value, str):
        if _bad_text(value):
            found[path or "_form"] = _("使用できない文字（制御文字など）が含まれています。")
    elif isinstance(value, dict):
        for key, inner in value.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _bad_text(key):
                found[path or "_form"] = _("使用できない文字（制御文字など）が含まれています。")
            found.update(unusable_text(inner, name))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.update(unusable_text(inner, f"{path}.{index}" if path else str(index)))
    return found


def _date_order_errors(schema: dict[str, Any], data: dict[str, Any]) -> dict[str, str]:
    """``x-after``: a date that must be later than a sibling date (plan end after plan start)."""
    found: dict[str, str] = {}
    for key, prop in (schema.get("properties") or {}).items():
        other = prop.get("x-after") if isinstance(prop, dict) else None
        if not other or key not in data or other not in data:
            continue
        try:
            later, earlier = date.fromisoformat(data[key]), date.fromisoformat(data[other])
        except (TypeError, ValueError):
            continue  # a malformed date already has its own message
        if later <= earlier:
            title = (schema["properties"].get(other) or {}).get("title", other)
            found[key] = _("%(title)sより後の日付にしてください。", title=title)
    return found


def validate(schema: dict[str, Any], data: Any) -> None:
    """Raise InvalidInput with per-field messages when ``data`` does not satisfy ``schema``."""
    if not isinstance(data, dict):
        raise InvalidInput(
            _("フォームの内容はJSONオブジェクトで送ってください。"),
            fields={"_form": _("形式が正しくありません。")},
        )
    found = errors_for(schema, data)
    if found:
        raise InvalidInput(
            _("入力内容に誤りがあります。各項目のメッセージを確認してください。"), fields=found
        )


PICKER_MESSAGE = "選択肢の中から選んでください。"
# The kinds of information a consent names (the intake's 共有してよい情報の種類), as fields declare them.
INFO_KINDS = {
    "basic": _l("基本情報（氏名・連絡先等）"),
    "household": _l("世帯の状況"),
    "consultation": _l("相談の内容"),
    "health_disability": _l("健康・障害の状況"),
    "income_benefits": _l("収入・公的給付（生活保護等）"),
    "debt": _l("債務の状況"),
    "support_history": _l("これまでの支援の経過"),
    "other": _l("その他"),
}


def info_kinds_in(schema: dict[str, Any], data: dict[str, Any]) -> set[str]:
    """The kinds of information a submission carries: each filled field's ``x-infoKind``, or the
    form's own ``x-infoKind`` for fields that do not name one."""
    default = schema.get("x-infoKind")
    kinds: set[str] = set()
    for key, prop in (schema.get("properties") or {}).items():
        if data.get(key) in (None, "", [], {}):
            continue
        kind = prop.get("x-infoKind", default) if isinstance(prop, dict) else default
        if isinstance(kind, str):
            kinds.add(kind)
    return kinds


def with_pickers(schema: dict[str, Any], present: set[str] | None = None) -> dict[str, Any]:
    """The schema with every ``x-picker`` field given its current choices (names shown, codes kept).

    ``"x-picker": "agency"`` lists the registered agencies; a person picks a name and the form
    stores the agency's code, so a typed code is never needed and an unknown one is refused.
    ``present``: the keys a submission holds (``keys_in``); a picker field under another key
    needs no choices to check it (it is absent), so none are read for it.
    """
    if "x-picker" not in json.dumps(schema):
        return schema
    from app.services import pickers  # the database side of the choices

    known: dict[str, list[tuple[str, str]]] = {}  # one read per kind, however many fields use it

    def choices(kind: str) -> list[tuple[str, str]]:
        if kind not in known:
            known[kind] = pickers.choices(kind)
        return known[kind]

    return fill_pickers(schema, choices, present)


def keys_in(data: Any) -> set[str]:
    """Every key of every object in ``data``, however deep."""
    found: set[str] = set()
    pending = [data]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            found.update(k for k in node if isinstance(k, str))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def fill_pickers(node: Any, choices: Any, present: set[str] | None = None) -> Any:
    """The schema with each ``x-picker`` field's ``oneOf`` made from ``choices(kind)`` pairs
    (with ``present``: only the fields under those keys)."""
    if isinstance(node, list):
        return [fill_pickers(item, choices, present) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "properties" and present is not None and isinstance(value, dict):
            # A picker field the submission leaves out needs no choices.
            out[key] = {
                name: prop
                if _is_picker(prop) and name not in present
                else fill_pickers(prop, choices, present)
                for name, prop in value.items()
            }
        else:
            out[key] = fill_pickers(value, choices, present)
    kind = node.get("x-picker")
    if isinstance(kind, str):
        options = [{"const": code, "title": name} for code, name in choices(kind)]
        out.pop("pattern", None)
        out["oneOf"] = options or [{"const": "", "title": "（選べるものがありません）"}]
        out.setdefault("x-errorMessage", PICKER_MESSAGE)
    return out


def _is_picker(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("x-picker"), str)


# A draft is an unfinished form: what is missing is fine, what could never be submitted is not.
_DRAFT_LENIENT = {"required", "dependentRequired", "minLength", "minItems", "minProperties"}
DRAFT_MAX_CHARS = 200_000


def validate_draft(schema: dict[str, Any], data: Any) -> None:
    """Check a draft as a submission is checked, except for what is simply not filled in yet.

    Types, lengths, choices, formats and a bound on the draft's whole size apply, so a draft can
    never store what a submission could not.
    """
    if not isinstance(data, dict):
        raise InvalidInput(
            _("下書きの内容はJSONオブジェクトで送ってください。"),
            fields={"_form": _("形式が正しくありません。")},
        )
    found = unusable_text(data)
    if not found and len(json.dumps(data, ensure_ascii=False, default=str)) > DRAFT_MAX_CHARS:
        found = {"_form": _("下書きが大きすぎます（%(n)s文字まで）。", n=f"{DRAFT_MAX_CHARS:,}")}
    if not found:
        validator = Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)
        for error in validator.iter_errors(data):
            if error.validator not in _DRAFT_LENIENT and not _inside_condition(error):
                found.setdefault(field_path(error), message_ja(error))
    if found:
        raise InvalidInput(
            _("下書きを保存できません。各項目のメッセージを確認してください。"), fields=found
        )


def _inside_condition(error: ValidationError) -> bool:
    """Errors raised by an ``if``/``then`` rule are about completeness (what the answer requires)."""
    return any(part in {"then", "else"} for part in list(error.schema_path)[:-1])


def normalise_search(text: str) -> str:
    """A search string as stored text is compared: NFKC (full-width digits, half-width kana), trimmed,
    unstorable characters dropped, at most 100 characters; katakana and hiragana are not folded."""
    cleaned = unicodedata.normalize("NFKC", text or "").replace("\x00", "")
    cleaned = "".join(c for c in cleaned if not 0xD800 <= ord(c) <= 0xDFFF)
    return " ".join(cleaned.split())[:100]


def kana_variants(text: str) -> set[str]:
    """The text with hiragana as katakana and katakana as hiragana (ふりがな may be kept in either)."""
    to_kata = "".join(chr(ord(c) + 0x60) if 0x3041 <= ord(c) <= 0x3096 else c for c in text)
    to_hira = "".join(chr(ord(c) - 0x60) if 0x30A1 <= ord(c) <= 0x30F6 else c for c in text)
    return {text, to_kata, to_hira}
