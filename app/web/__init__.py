"""Blueprints: thin handlers that parse a request, call a service and render the answer."""

from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    """Attach every blueprint and the error handlers."""
    from app.web import api, auth, errors, home

    auth.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    errors.init_app(app)
