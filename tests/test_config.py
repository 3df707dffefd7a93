"""Settings: production refuses to start without a real secret; SQLite under instance/ by default."""

from __future__ import annotations

import pytest

from app import create_app
from app.config import DEFAULT_SECRET, ConfigError, read_settings


@pytest.mark.parametrize("secret", [None, "", DEFAULT_SECRET, "short"])
def test_production_refuses_missing_or_default_secret(secret: str | None, monkeypatch) -> None:
    monkeypatch.setenv("KASANE_ENV", "production")
    if secret is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError):
        create_app()


def test_production_with_a_real_secret_sets_secure_cookies(monkeypatch) -> None:
    monkeypatch.setenv("KASANE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-long-random-production-secret-value")
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SECRET_KEY"] == "a-long-random-production-secret-value"


def test_development_defaults_to_sqlite_under_instance(monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("KASANE_ENV", raising=False)
    settings = read_settings({})
    assert settings.database_url is None and not settings.production
    app = create_app()
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    assert uri.startswith("sqlite:///") and uri.endswith("instance/kasane.db")
