"""Turns expected failures into pages or JSON errors with the right status; never a bare 500."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext, lazy_gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.services import metrics
from app.services.errors import ServiceError
from app.web.observability import request_id

HTTP_MESSAGES = {
    400: lazy_gettext("リクエストの内容が正しくありません。"),
    401: lazy_gettext("ログインが必要です。"),
    403: lazy_gettext("この操作を行う権限がありません。"),
    404: lazy_gettext("ページが見つかりません。"),
    405: lazy_gettext("この方法ではアクセスできません。"),
    409: lazy_gettext("他の操作と競合しました。"),
    413: lazy_gettext("送信された内容が大きすぎます。"),
    415: lazy_gettext("送信形式が正しくありません。"),
    422: lazy_gettext("入力内容に誤りがあります。"),
    429: lazy_gettext("短時間に操作が多すぎます。しばらくしてからお試しください。"),
    500: lazy_gettext("システムで問題が発生しました。時間をおいてもう一度お試しください。"),
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> Response:
    """The one error shape: JSON under /api, a page in the user's language elsewhere."""
    metrics.ERRORS.labels(code).inc()
    if wants_json():
        body: dict[str, object] = {"code": code, "message": message, "request_id": request_id()}
        if fields:
            body["fields"] = fields
        response = jsonify({"error": body})
    else:
        response = Response(
            render_template(
                "error.html",
                status=status,
                message=message,
                fields=fields or {},
                back=_back(),
                request_id=request_id(),
            )
        )
    response.status_code = status
    return response


def _back() -> str | None:
    """The page the person came from, when it is a page of this site (the way back)."""
    referrer = request.referrer or ""
    origin = request.host_url.rstrip("/")
    if not referrer.startswith(origin + "/"):
        return None
    path = referrer[len(origin) :]
    return path if path != request.full_path.rstrip("?") else None


def init_app(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.fields)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Response:
        return error_response(
            400,
            "csrf",
            gettext("フォームの有効期限が切れたか、不正な送信です。画面を再読み込みしてください。"),
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "_")
        known = HTTP_MESSAGES.get(status)
        message = str(known) if known else exc.description or gettext("エラーが発生しました。")
        return error_response(status, code, message)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        app.logger.exception(
            "unexpected error on %s %s (request %s)", request.method, request.path, request_id()
        )
        from app.extensions import db

        db.session.rollback()
        return error_response(500, "internal_error", str(HTTP_MESSAGES[500]))
