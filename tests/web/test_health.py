"""/healthz and /readyz: answered without a login, saying exactly what is not ready."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import text

from app.extensions import db
from app.services import definitions

ROOT = Path(__file__).parent.parent.parent


def test_healthz_answers_without_a_login(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_waits_for_the_processes_and_the_newest_schema(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["database"]["ok"] and body["checks"]["migrations"]["ok"]
    assert not body["checks"]["processes"]["ok"]
    assert "flask kasane deploy" in body["checks"]["processes"]["message"]

    definitions.deploy([str(ROOT / "processes")], str(ROOT / "forms"))
    response = client.get("/readyz")
    assert response.status_code == 200 and response.get_json()["status"] == "ready"

    head = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    db.session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    db.session.commit()
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        message = response.get_json()["checks"]["migrations"]["message"]
        assert "flask db upgrade" in message and head in message
    finally:
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        db.session.commit()


def test_the_icon_browsers_ask_for_is_there_without_a_login(client: FlaskClient) -> None:
    asked = client.get("/favicon.ico")
    assert asked.status_code == 301
    icon = client.get(asked.headers["Location"])
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert 'rel="icon"' in client.get("/login").get_data(as_text=True)
