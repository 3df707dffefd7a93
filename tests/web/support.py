"""Helpers for web tests: read the CSRF token from a page, log in."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.services.demo import DEMO_PASSWORD

COORDINATOR = "demo-coordinator"
CSRF_INPUT = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]+)"')


def csrf_from(page: TestResponse) -> str:
    match = CSRF_INPUT.search(page.get_data(as_text=True))
    assert match, "the page has no CSRF token"
    return match.group(1)


def log_in(
    web: FlaskClient, username: str = COORDINATOR, password: str = DEMO_PASSWORD, **extra: str
) -> TestResponse:
    token = csrf_from(web.get("/login"))
    form = {"csrf_token": token, "username": username, "password": password, **extra}
    return web.post("/login", data=form)
