"""Request ids on every answer and error, request metrics for Prometheus, and /metrics guarded."""

from __future__ import annotations

import json
import logging

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.web.observability import REQUEST_LOG
from tests.web.support import log_in


def test_every_answer_carries_a_request_id_that_errors_show(
    client: FlaskClient, demo: None
) -> None:
    response = client.get("/login")
    assert len(response.headers["X-Request-Id"]) == 32
    given = client.get("/healthz", headers={"X-Request-Id": "proxy-req-12345678"})
    assert given.headers["X-Request-Id"] == "proxy-req-12345678"
    odd = client.get("/healthz", headers={"X-Request-Id": "<script>"})
    assert odd.headers["X-Request-Id"] != "<script>"

    api = client.get("/api/v1/cases/1")
    assert api.status_code == 401
    assert api.get_json()["error"]["request_id"] == api.headers["X-Request-Id"]

    log_in(client, "demo-elderly")
    page = client.get("/cases/987654")
    assert page.status_code == 404
    assert f"問い合わせ番号：{page.headers['X-Request-Id']}" in page.get_data(as_text=True)


def test_metrics_count_requests_by_endpoint(client: FlaskClient) -> None:
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    assert (
        'kasane_request_seconds_count{endpoint="health.healthz",method="GET",status="200"}' in text
    )
    assert "kasane_errors_total" in text


def test_metrics_need_the_token_when_one_is_set_and_stay_closed_in_production(
    ctx: Flask, client: FlaskClient
) -> None:
    ctx.config["KASANE_METRICS_TOKEN"] = "scrape-secret-0123456789"
    try:
        assert client.get("/metrics").status_code == 404
        wrong = {"Authorization": "Bearer nope"}
        assert client.get("/metrics", headers=wrong).status_code == 404
        right = {"Authorization": "Bearer scrape-secret-0123456789"}
        assert client.get("/metrics", headers=right).status_code == 200
        ctx.config["KASANE_METRICS_TOKEN"] = None
        ctx.config["KASANE_ENV"] = "production"
        assert client.get("/metrics").status_code == 404
    finally:
        ctx.config["KASANE_METRICS_TOKEN"] = None
        ctx.config["KASANE_ENV"] = "development"


def test_the_log_line_names_the_signed_in_user_by_id(client: FlaskClient, demo: None) -> None:
    lines: list[dict] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(record.getMessage()))

    keep = Keep()
    REQUEST_LOG.addHandler(keep)
    try:
        client.get("/healthz")
        log_in(client, "demo-elderly")
        client.get("/inbox")
    finally:
        REQUEST_LOG.removeHandler(keep)
    user_id = db.session.scalar(select(User.id).where(User.username == "demo-elderly"))
    assert lines[0]["user_id"] is None
    assert lines[-1]["path"] == "/inbox" and lines[-1]["user_id"] == str(user_id)
