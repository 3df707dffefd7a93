"""HTTP hardening: security headers and a content security policy, and no caching of personal pages.

Logging out after a period without activity is part of the server-side login check in auth.py.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, request

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
