"""Fixtures for service tests: deployed fixture processes and demo users."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services import definitions


@pytest.fixture
def deployed(ctx: Flask, demo: None, fixtures_dir: Path) -> Flask:
    definitions.deploy([str(fixtures_dir / "bpmn")], ctx.config["KASANE_FORMS_DIR"])
    return ctx


@pytest.fixture
def user():
    def get(username: str) -> User:
        return db.session.scalar(select(User).where(User.username == username))

    return get
