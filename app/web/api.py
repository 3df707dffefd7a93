"""JSON API v1: cases and work items; session or personal-token (Bearer) authentication."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from marshmallow import Schema, ValidationError, fields, validate
from wtforms import ValidationError as WTFValidationError

from app.extensions import csrf
from app.models import Case
from app.services import cases, definitions, events, forms, inbox, work_items
from app.services.errors import InvalidInput, ServiceError, UnsupportedMediaType
from app.web.errors import error_response

bp = Blueprint("api", __name__)
csrf.exempt(bp)


class WorkItemSchema(Schema):
    id = fields.Int()
    title = fields.Str()
    element_id = fields.Str()
    queue = fields.Str()
    lane = fields.Str(allow_none=True)
    form_key = fields.Str(allow_none=True)
    status = fields.Str()
    priority = fields.Int()
    due_at = fields.DateTime(allow_none=True)
    case_id = fields.Int(allow_none=True)
    instance_id = fields.Int()
    assignee = fields.Function(
        lambda item: item.assignee.username if item.assignee else None, allow_none=True
    )
    created_at = fields.DateTime()
    claimed_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)


# Made once: a schema's fields are set up when it is made, and dumping keeps no state in it.
_WORK_ITEM = WorkItemSchema()
_WORK_ITEMS = WorkItemSchema(many=True)


class CaseSchema(Schema):
    id = fields.Int()
    number = fields.Str()
    title = fields.Str()
    status = fields.Str()
    stage = fields.Str()
    intake_agency = fields.Function(lambda c: c.intake_agency.code if c.intake_agency else None)
    primary_agency = fields.Function(lambda c: c.primary_agency.code if c.primary_agency else None)
    created_at = fields.DateTime()


class CaseCreateSchema(Schema):
    title = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    agency = fields.Str(load_default=None, validate=validate.Length(max=40))
    intake = fields.Dict(load_default=dict)


class MessageSchema(Schema):
    # One of the messages the deployed processes declare (checked against them on each request).
    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    case = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    payload = fields.Dict(load_default=dict)


class WorkItemQuerySchema(Schema):
    queue = fields.Str(load_default=None, validate=validate.Length(max=80))
    assignee = fields.Str(load_default=None, validate=validate.Length(max=80))
    status = fields.Str(load_default="open", validate=validate.OneOf(sorted(inbox.STATUSES)))
    overdue = fields.Bool(load_default=None)
    stage = fields.Str(load_default=None, validate=validate.Length(max=40))
    q = fields.Str(load_default=None, validate=validate.Length(max=100))
    sort = fields.Str(load_default="due", validate=validate.OneOf(sorted(inbox.SORTS)))
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Int(load_default=25, validate=validate.Range(min=1, max=100))


MARSHMALLOW_MESSAGES = {
    "Missing data for required field.": lazy_gettext("必須項目です。"),
    "Not a valid integer.": lazy_gettext("整数で指定してください。"),
    "Not a valid string.": lazy_gettext("文字列で指定してください。"),
    "Not a valid boolean.": lazy_gettext("true / false で指定してください。"),
    "Not a valid mapping type.": lazy_gettext("オブジェクトで指定してください。"),
    "Unknown field.": lazy_gettext("この項目は受け付けていません。"),
    "Invalid input type.": lazy_gettext("JSONオブジェクトで送ってください。"),
}


def _load(schema: Schema, data: Any) -> dict[str, Any]:
    # Text the database cannot hold (NUL, lone surrogates) is refused before anything reads it.
    unusable = forms.unusable_text(data)
    if unusable:
        raise InvalidInput(gettext("リクエストの内容に誤りがあります。"), fields=unusable)
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise InvalidInput(
            gettext("リクエストの内容に誤りがあります。"), fields=_field_messages(exc.messages)
        ) from exc


def _field_messages(messages: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = "_form" if key == "_schema" else str(key)
            out.update(_field_messages(value, f"{prefix}.{name}" if prefix else name))
    elif isinstance(messages, list) and messages and isinstance(messages[0], str):
        text = messages[0]
        known = MARSHMALLOW_MESSAGES.get(text)
        out[prefix or "_form"] = str(known) if known else _range_message(text)
    return out


def _range_message(text: str) -> str:
    if text.startswith("Must be one of"):
        return gettext("指定できる値のいずれかにしてください。")
    if "length" in text.lower():
        return gettext("長さが範囲外です。")
    if "greater than" in text or "less than" in text:
        return gettext("値が範囲外です。")
    return gettext("値が正しくありません。")


def _json_body() -> Any:
    if not request.is_json:
        raise UnsupportedMediaType(
            gettext("JSON形式（Content-Type: application/json）で送ってください。")
        )
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        data = None
    if data is None:
        raise InvalidInput(gettext("JSONとして読めない内容です。"))
    if _too_deep(data):
        raise InvalidInput(gettext("JSONの入れ子が深すぎます。"))
    return data


MAX_DEPTH = 32


def _too_deep(value: Any) -> bool:
    """Nesting beyond any form's shape (checked without recursion, so no input can exhaust the stack)."""
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(current, dict):
            stack.extend((v, depth + 1) for v in current.values())
        elif isinstance(current, list):
            stack.extend((v, depth + 1) for v in current)
    return False


@bp.before_request
def authenticate() -> Response | None:
    if not current_user.is_authenticated:
        return error_response(
            401, "unauthorized", gettext("ログインするか、APIトークンを指定してください。")
        )
    if request.method in {"POST", "PUT", "PATCH", "DELETE"} and not g.get("auth_via_token"):
        try:
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except (CSRFError, WTFValidationError):
            return error_response(
                400,
                "csrf",
                gettext("CSRFトークンがありません。X-CSRFToken ヘッダーを付けてください。"),
            )
    return None


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.fields)


@bp.post("/cases")
def create_case() -> tuple[Response, int]:
    body = _load(CaseCreateSchema(), _json_body())
    case = cases.open_case(current_user, body["title"], body["intake"], body["agency"])
    return jsonify(_case_json(case)), 201


@bp.get("/cases/<int:case_id>")
def get_case(case_id: int) -> Response:
    return jsonify(_case_json(cases.get(case_id, current_user)))


def _case_json(case: Case) -> dict[str, Any]:
    info = cases.summary(case)
    out = CaseSchema().dump(case)
    out["work_items"] = _WORK_ITEMS.dump(info["open_items"])
    out["processes"] = [
        {"id": i.id, "key": i.definition.key, "version": i.definition.version, "status": i.status}
        for i in info["instances"]
    ]
    return out


@bp.post("/messages")
def send_message() -> tuple[Response, int]:
    body = _load(MessageSchema(), _json_body())
    if body["name"] not in definitions.message_names():
        raise InvalidInput(
            gettext("リクエストの内容に誤りがあります。"),
            fields={"name": gettext("プロセスが受け取る知らせの名前ではありません。")},
        )
    delivered = events.deliver_for_case(
        body["case"], body["name"], body["payload"], current_user._get_current_object()
    )
    return jsonify({"delivered": len(delivered)}), 202


@bp.get("/work-items")
def list_work_items() -> Response:
    query = _load(WorkItemQuerySchema(), request.args.to_dict())
    page = inbox.listing(current_user, inbox.ItemFilter(**query))
    return jsonify(
        {
            "items": _WORK_ITEMS.dump(page.items),
            "total": page.total,
            "page": page.page,
            "per_page": page.per_page,
        }
    )


@bp.get("/work-items/<int:item_id>")
def get_work_item(item_id: int) -> Response:
    return jsonify(_WORK_ITEM.dump(work_items.view(item_id, current_user)))


@bp.post("/work-items/<int:item_id>/claim")
def claim(item_id: int) -> Response:
    return jsonify(_WORK_ITEM.dump(work_items.claim(item_id, current_user)))


@bp.post("/work-items/<int:item_id>/release")
def release(item_id: int) -> Response:
    return jsonify(_WORK_ITEM.dump(work_items.release(item_id, current_user)))


@bp.post("/work-items/<int:item_id>/complete")
def complete(item_id: int) -> Response:
    item = work_items.complete(item_id, current_user, _json_body())
    return jsonify(_WORK_ITEM.dump(item))
