"""HTTP hardening: headers, no caching of personal pages, idle timeout, login throttling, size limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from tests.web.support import csrf_from, log_in


def test_security_headers_and_no_store(client: FlaskClient, demo: None) -> None:
    page = client.get("/login")
    csp = page.headers["Content-Security-Policy"]
    assert (
        "default-src 'self'" in csp
        and "script-src 'self'" in csp
        and "frame-ancestors 'none'" in csp
    )
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    static = client.get("/static/css/kasane.css")
    assert static.status_code == 200 and static.headers.get("Cache-Control") != "no-store"


def test_idle_session_is_ended_for_pages_and_api(client: FlaskClient, demo: None) -> None:
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False) as clock:
        assert log_in(client).status_code == 302
        assert client.get("/inbox").status_code == 200
        clock.shift(timedelta(minutes=29))
        assert client.get("/inbox").status_code == 200  # activity keeps the session alive
        clock.shift(timedelta(minutes=31))
        response = client.get("/inbox")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        assert "一定時間操作がなかった" in client.get("/login").get_data(as_text=True)
        assert client.get("/api/v1/work-items").status_code == 401


def test_login_is_throttled_after_repeated_failures(client: FlaskClient, demo: None) -> None:
    for _ in range(5):
        assert log_in(client, password="wrong-password-1!").status_code == 401
    blocked = log_in(client)  # even the right password waits now
    assert blocked.status_code == 429 and "しばらくログインできません" in blocked.get_data(
        as_text=True
    )
    outcomes = db.session.scalars(
        select(AuditEvent.outcome).where(AuditEvent.action == "auth.login")
    ).all()
    assert outcomes.count("failure") == 5 and outcomes.count("throttled") == 1
    assert log_in(client, "demo-supervisor").status_code == 302  # other users are not affected


def test_oversized_bodies_are_refused_with_a_clear_error(client: FlaskClient, demo: None) -> None:
    log_in(client)
    token = csrf_from(client.get("/cases/new"))
    response = client.post(
        "/cases/new", data={"csrf_token": token, "title": "x" * (3 * 1024 * 1024)}
    )
    assert response.status_code == 413
    assert "大きすぎます" in response.get_data(as_text=True)


def test_access_log_lines_drop_query_strings() -> None:
    import logging

    from app.web.security import DropQueryStrings

    record = logging.LogRecord(
        "werkzeug", logging.INFO, __file__, 1, '%s - - [%s] "%s" %s %s',
        ("127.0.0.1", "26/Nov/2026", "GET /inbox?q=山田花子 HTTP/1.1", "200", "-"), None,
    )  # fmt: skip
    DropQueryStrings().filter(record)
    line = record.getMessage()
    assert "山田花子" not in line and "GET /inbox?… HTTP/1.1" in line
