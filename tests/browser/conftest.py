"""Browser tests: Debian's Chromium driven by Playwright against a live server on a fresh database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from app.extensions import db
from app.models import PathStep
from app.services import definitions
from tests import journey_paths

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture
def live_server(request: pytest.FixtureRequest, ctx: Flask, demo: None) -> Iterator[str]:
    """The app served over HTTP on a free local port, with the real processes deployed. After a
    journey, the flows its cases took are left for the path check (``tests/journey_paths.py``)."""
    definitions.deploy([str(ROOT / "processes")], str(ROOT / "forms"))
    server = make_server("127.0.0.1", 0, ctx, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
    steps = db.session.execute(
        select(PathStep.process_key, PathStep.source_id, PathStep.target_id).distinct()
    )
    journey_paths.write_trace(request.node.nodeid, [tuple(row) for row in steps])


@pytest.fixture
def new_page(browser: object) -> Iterator[object]:
    """Opens fresh browser contexts (one per person) and closes them afterwards."""
    contexts = []

    def open_page() -> object:
        context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def log_in(page: object, base: str, username: str) -> None:
    from app.services.demo import DEMO_PASSWORD

    page.goto(f"{base}/login")
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("パスワード").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(f"{base}/")
