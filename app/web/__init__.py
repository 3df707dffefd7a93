"""Blueprints: thin handlers that parse a request, call a service and render the answer."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter


class RecordId(IntegerConverter):
    """``<int:…>`` in every route: a record id the database can hold (1 … 2³¹−1); anything else
    matches no route (404), instead of reaching the database as a number it cannot store."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002  (werkzeug's own name)
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def register_web(app: Flask) -> None:
    """Attach every blueprint and the error handlers."""
    app.url_map.converters["int"] = RecordId
    from app.web import (
        admin,
        admin_webhooks,
        api,
        audit,
        auth,
        cases,
        council,
        design,
        errors,
        filters,
        health,
        home,
        i18n,
        inbox,
        observability,
        openapi,
        processes,
        security,
        supervision,
        tasks,
    )

    observability.init_app(app)
    auth.init_app(app)
    filters.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(inbox.bp)
    app.register_blueprint(tasks.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(council.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(processes.bp)
    app.register_blueprint(design.bp)
    app.register_blueprint(supervision.bp)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.register_blueprint(openapi.bp)
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(admin_webhooks.bp, url_prefix="/admin/webhooks")
    errors.init_app(app)
