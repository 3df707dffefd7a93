"""Test fixtures: the app on a fresh database per backend (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app import create_app
from app.extensions import db

pytest_plugins = ["tests.harness", "tests.journey_paths"]

FIXTURES = Path(__file__).parent / "fixtures"
CHROMIUM = os.environ.get("KASANE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Debian Chromium for the whole session (Playwright allows one sync driver at a time)."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        message = (
            f"Chromium is required for the browser tests: {CHROMIUM} (apt-get install chromium)"
        )
        if os.environ.get("KASANE_REQUIRE_BROWSER"):
            pytest.fail(message)  # CI installs it, so a missing browser there is a failure
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


PG_URL = os.environ.get("KASANE_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _pg_server_url() -> str:
    url = PG_URL or ""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _pg_admin(url: str, sql: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    with psycopg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname=parsed.database or "postgres",
        autocommit=True,
    ) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A new empty database for this test session, dropped at the end."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'kasane.db'}"
        return
    from sqlalchemy.engine import make_url

    server = _pg_server_url()
    name = f"kasane_test_{uuid.uuid4().hex[:10]}"
    _pg_admin(server, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        _pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The application on a migrated database (migrations are part of what is tested)."""
    from flask_migrate import upgrade

    application = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "KASANE_FORMS_DIR": str(FIXTURES / "forms"),
        }
    )
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An application context with empty tables, cleaned again afterwards."""
    with app.app_context():
        _wipe()
        yield app
        db.session.rollback()
        _wipe()
        db.session.remove()


def _wipe() -> None:
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


class ServerLikeClient(FlaskClient):
    """A test client whose every request gets its own app context, as on a real server.

    ``ctx`` keeps an app context pushed and Flask would reuse it for test requests, so ``g``
    (where flask-login keeps the current user) would leak from one request to the next.
    """

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(ctx: Flask) -> FlaskClient:
    return ServerLikeClient(ctx, ctx.response_class, use_cookies=True)


@pytest.fixture
def demo(ctx: Flask) -> None:
    """Reference data and the demo users."""
    from app.services import demo as demo_service

    demo_service.load_demo_users()


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
