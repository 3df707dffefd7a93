"""The OpenAPI 3.1 document of ``/api/v1``, generated from the API's marshmallow schemas (apispec),
and a reference page (Swagger UI from npm, bundled like the rest of the front end: no CDN).

The document is built once per process from the same schemas the handlers load and dump with, so
a field added to a schema appears in the document; the test suite runs schemathesis against the
live app with it (every operation, every response checked against what is written here).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Response, jsonify, render_template
from flask_login import login_required
from marshmallow import Schema, fields

from app.web import api

bp = Blueprint("openapi", __name__)


class ErrorBodySchema(Schema):
    code = fields.Str(required=True, metadata={"description": "機械可読な種類（例: not_found）"})
    message = fields.Str(
        required=True, metadata={"description": "利用者向けの日本語（英語）の説明"}
    )
    field_messages = fields.Dict(
        data_key="fields",
        keys=fields.Str(),
        values=fields.Str(),
        metadata={"description": "項目ごとの説明"},
    )
    request_id = fields.Str(metadata={"description": "問い合わせ番号（ログの行と同じ）"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class ProcessRefSchema(Schema):
    id = fields.Int()
    key = fields.Str()
    version = fields.Int()
    status = fields.Str()


class CaseDetailSchema(api.CaseSchema):
    work_items = fields.List(fields.Nested(api.WorkItemSchema))
    processes = fields.List(fields.Nested(ProcessRefSchema))


class WorkItemPageSchema(Schema):
    items = fields.List(fields.Nested(api.WorkItemSchema), required=True)
    total = fields.Int(required=True)
    page = fields.Int(required=True)
    per_page = fields.Int(required=True)


class DeliveredSchema(Schema):
    delivered = fields.Int(required=True)


ERRORS = {
    400: "リクエストの形が正しくない（CSRF トークンなし等）",
    401: "ログインしていない、またはトークンが無効",
    403: "その操作をする立場にない（担当者でない、同意の範囲外など。見えるものに限る）",
    404: "見つからない（見る権限がない場合も同じ答え）",
    409: "他の操作と競合した",
    415: "JSON で送られていない",
    422: "入力内容やプロセスの進行に問題がある（項目ごとの説明つき）",
}


def _responses(ok: int, schema: str, description: str, errors: tuple[int, ...]) -> dict:
    out: dict[Any, Any] = {
        ok: {"description": description, "content": {"application/json": {"schema": schema}}}
    }
    for status in (401, *errors):
        out[status] = {
            "description": ERRORS[status],
            "content": {"application/json": {"schema": "Error"}},
        }
    return out


RECORD_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
ITEM_ID = {"name": "item_id", "in": "path", "required": True, "schema": RECORD_ID}
CASE_ID = {"name": "case_id", "in": "path", "required": True, "schema": RECORD_ID}
WRITE = (400, 403, 404, 409, 415, 422)

OPERATIONS: dict[str, dict[str, Any]] = {
    "/cases": {
        "post": {
            "summary": "相談を受け付けてケースを開く（支援の流れを始める）",
            "operationId": "createCase",
            "requestBody": {"content": {"application/json": {"schema": "CaseCreate"}}},
            "responses": _responses(201, "CaseDetail", "開いたケース", (400, 409, 415, 422)),
        }
    },
    "/cases/{case_id}": {
        "get": {
            "summary": "ケース（見る権限のあるもの）と待っている作業",
            "operationId": "getCase",
            "parameters": [CASE_ID],
            "responses": _responses(200, "CaseDetail", "ケース", (404,)),
        }
    },
    "/messages": {
        "post": {
            "summary": "待っている知らせを届ける（同意の取得、随時のモニタリング要請など）",
            "operationId": "sendMessage",
            "requestBody": {"content": {"application/json": {"schema": "Message"}}},
            "responses": _responses(202, "Delivered", "届けた数", WRITE),
        }
    },
    "/work-items": {
        "get": {
            "summary": "自分が開ける作業の一覧（受信箱と同じ規則）",
            "operationId": "listWorkItems",
            "parameters": [{"in": "query", "schema": api.WorkItemQuerySchema}],
            "responses": _responses(200, "WorkItemPage", "作業の一覧", (404, 422)),
        }
    },
    "/work-items/{item_id}": {
        "get": {
            "summary": "作業一件",
            "operationId": "getWorkItem",
            "parameters": [ITEM_ID],
            "responses": _responses(200, "WorkItem", "作業", (404,)),
        }
    },
    "/work-items/{item_id}/claim": {
        "post": {
            "summary": "作業を自分の担当にする",
            "operationId": "claimWorkItem",
            "parameters": [ITEM_ID],
            "responses": _responses(200, "WorkItem", "担当した作業", (400, 403, 404, 409, 422)),
        }
    },
    "/work-items/{item_id}/release": {
        "post": {
            "summary": "担当を外す",
            "operationId": "releaseWorkItem",
            "parameters": [ITEM_ID],
            "responses": _responses(200, "WorkItem", "担当を外した作業", (400, 403, 404, 409, 422)),
        }
    },
    "/work-items/{item_id}/complete": {
        "post": {
            "summary": "フォームの内容で作業を完了し、流れを進める",
            "operationId": "completeWorkItem",
            "parameters": [ITEM_ID],
            "requestBody": {
                "description": "そのタスクのフォーム（JSON Schema）に沿った内容",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "responses": _responses(200, "WorkItem", "完了した作業", WRITE),
        }
    },
}


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    spec = APISpec(
        title="Kasane API",
        version="1",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "重層的支援体制整備事業のケースと作業。個人用 API トークン（Bearer）で認証し、"
            "画面と同じアクセス規則で答えます。"
        },
        servers=[{"url": "/api/v1"}],
        security=[{"bearer": []}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, schema in (
        ("Error", ErrorSchema),
        ("WorkItem", api.WorkItemSchema),
        ("CaseDetail", CaseDetailSchema),
        ("CaseCreate", api.CaseCreateSchema),
        ("Message", api.MessageSchema),
        ("WorkItemPage", WorkItemPageSchema),
        ("Delivered", DeliveredSchema),
    ):
        spec.components.schema(name, schema=schema)
    for path, operations in OPERATIONS.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@bp.get("/api/v1/openapi.json")
def openapi_json() -> Response:
    return jsonify(document())


@bp.get("/api/docs")
@login_required
def reference() -> str:
    return render_template("api_reference.html")
