"""Kasane: the application factory."""

from __future__ import annotations

import os

from flask import Flask

from app.config import flask_config, read_settings
from app.extensions import babel, csrf, db, login_manager, migrate


def create_app(overrides: dict[str, object] | None = None) -> Flask:
    """Build the Flask application: settings, extensions, blueprints, CLI commands."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(flask_config(read_settings(), app.instance_path))
    if overrides:
        app.config.update(overrides)
        if "SQLALCHEMY_DATABASE_URI" in overrides and "SQLALCHEMY_ENGINE_OPTIONS" not in overrides:
            from app.config import engine_options

            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
                str(overrides["SQLALCHEMY_DATABASE_URI"])
            )
    os.makedirs(app.instance_path, exist_ok=True)

    from app import models  # noqa: F401  (registers the tables on the metadata)
    from app.services.supervision import readmodel  # noqa: F401  (keeps the stalled list's rows)

    db.init_app(app)
    from app import connections, transactions

    connections.init_app(app)
    transactions.init_app(app)
    migrate.init_app(
        app,
        db,
        render_as_batch=True,
        directory=os.path.join(os.path.dirname(app.root_path), "migrations"),
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    from app.web.i18n import select_locale

    babel.init_app(app, locale_selector=select_locale)

    from app.web import register_web

    register_web(app)

    from app.cli import register_cli

    register_cli(app)
    return app
