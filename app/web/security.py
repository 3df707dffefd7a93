"""HTTP hardening: security headers and a content security policy, no caching of personal pages,
and logging out after a period without activity."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, flash, jsonify, redirect, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, logout_user

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
IDLE_KEY = "_kasane_seen"


class DropQueryStrings(logging.Filter):
    """Request lines in the access log lose their query string: searches carry names (personal data)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_without_query(a) if isinstance(a, str) else a for a in record.args)
        return True


def _without_query(text: str) -> str:
    if "?" not in text:
        return text
    head, _, rest = text.partition("?")
    tail = rest.split(" ", 1)
    return f"{head}?…" + (f" {tail[1]}" if len(tail) > 1 else "")


def init_app(app: Flask) -> None:
    logging.getLogger("werkzeug").addFilter(DropQueryStrings())
    idle_seconds = int(app.config.get("KASANE_IDLE_MINUTES", 30)) * 60

    @app.before_request
    def end_idle_sessions() -> Response | None:
        if not current_user.is_authenticated or request.headers.get("Authorization", "").startswith(
            "Bearer "
        ):
            return None
        now = time.time()
        seen = session.get(IDLE_KEY)
        session[IDLE_KEY] = now
        if seen is None or now - float(seen) <= idle_seconds:
            return None
        logout_user()
        session.clear()
        if request.path.startswith("/api/"):
            message = gettext("一定時間操作がなかったため、ログアウトしました。")
            response = jsonify({"error": {"code": "session_expired", "message": message}})
            response.status_code = 401
            return response
        flash(
            gettext(
                "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。"
            ),
            "error",
        )
        return redirect(
            url_for("auth.login", next=request.full_path if request.method == "GET" else None)
        )

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if not request.path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
