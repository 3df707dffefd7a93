"""Liveness and readiness for load balancers: no login, no case data, no audit rows."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from app.services import readiness

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up and answering (nothing else is checked)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready to serve: database reachable, schema at the newest migration, processes deployed."""
    found = readiness.checks()
    ready = all(c.ok for c in found)
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {c.name: {"ok": c.ok, "message": c.message} for c in found},
    }
    return jsonify(body), 200 if ready else 503
