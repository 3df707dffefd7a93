"""Request ids, one structured log line per request, and the ``/metrics`` endpoint.

Every request gets an id (the proxy's ``X-Request-Id`` when it is sane, else a new one). It is sent
back in the ``X-Request-Id`` header, written in the log line, and shown on error pages and in API
error bodies, so a person who reports an error gives the operator the line to look at. The log
line carries no query string and no case data: paths name records by id only.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
import uuid

from flask import Flask, Response, current_app, g, request
from sqlalchemy import inspect as sa_inspect

from app.services import metrics

REQUEST_LOG = logging.getLogger("kasane.request")
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id() -> str:
    return g.get("request_id") or "-"


def init_app(app: Flask) -> None:
    if not REQUEST_LOG.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        REQUEST_LOG.addHandler(handler)
        REQUEST_LOG.setLevel(logging.INFO)
        REQUEST_LOG.propagate = False

    @app.before_request
    def start() -> None:
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _SANE_ID.match(given) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = request_id()
        started = g.get("started")
        if started is None or request.endpoint == "observability.metrics_page":
            return response
        seconds = time.perf_counter() - started
        endpoint = request.endpoint or "unknown"
        metrics.REQUEST_SECONDS.labels(endpoint, request.method, str(response.status_code)).observe(
            seconds
        )
        REQUEST_LOG.info(
            json.dumps(
                {
                    "request_id": request_id(),
                    "method": request.method,
                    "path": request.path,
                    "endpoint": endpoint,
                    "status": response.status_code,
                    "ms": round(seconds * 1000, 1),
                    "user_id": _user_id(),
                },
                ensure_ascii=False,
            )
        )
        return response

    app.add_url_rule("/metrics", "observability.metrics_page", metrics_page)


def _user_id() -> str | None:
    """The id of the request's signed-in user, if any, as the session knows it: after a commit the
    user's columns are expired, and reading ``id`` would load the row again for the log line."""
    user = g.get("_login_user")
    state = sa_inspect(user, raiseerr=False) if user is not None else None
    if state is None or not state.identity:
        return None
    return str(state.identity[0])


def metrics_page() -> Response:
    """Prometheus text format. With ``KASANE_METRICS_TOKEN`` set, only a scraper that sends it
    (``Authorization: Bearer …``) gets an answer; without it, only outside production."""
    token = current_app.config.get("KASANE_METRICS_TOKEN")
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), str(token).encode()):
            return Response("", status=404)
    elif current_app.config.get("KASANE_ENV") == "production":
        return Response("", status=404)
    return Response(metrics.exposition(), mimetype=metrics.CONTENT_TYPE)
