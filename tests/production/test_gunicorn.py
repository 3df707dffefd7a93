"""Production serving: gunicorn with two workers on the suite's database, a case driven through it
over HTTP, and the health endpoints a load balancer reads."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services import clock, definitions, users
from tests.harness import first_assessment

ROOT = Path(__file__).parent.parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(base: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}{path}", data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
def gunicorn(
    ctx: Flask, demo: None, database_url: str, tmp_path: Path
) -> Iterator[tuple[str, int]]:
    definitions.deploy([str(ROOT / "processes")], str(ROOT / "forms"))
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KASANE_ENV": "production",
        "SECRET_KEY": "a-long-random-secret-for-this-test-only",
    }
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:app.gunicorn_conf", "--workers", "2"]
        + ["--bind", f"127.0.0.1:{port}"]
        + ["app:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if call(base, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.2)
        yield base, server.pid
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def _workers(pid: int) -> list[str]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return children.read_text().split() if children.exists() else []


def test_gunicorn_with_two_workers_serves_a_case_from_intake_to_the_next_task(
    gunicorn: tuple[str, int],
) -> None:
    base, master = gunicorn
    assert len(_workers(master)) == 2
    status, body = call(base, "/readyz")
    assert status == 200 and body["status"] == "ready", body
    window = db.session.scalar(select(User).where(User.username == "demo-elderly"))
    token = users.create_token(window, "gunicorn-test")
    db.session.commit()

    status, case = call(
        base,
        "/api/v1/cases",
        token,
        {
            "title": "【テスト】本番構成で受け付けた世帯",
            "intake": {"received_on": clock.today().isoformat(), "concerns": ["care"]},
        },
    )
    assert status == 201, case
    [first] = case["work_items"]
    assert first["element_id"] == "first_assessment"
    # Several requests: whichever worker answers, the state is the database's.
    for _ in range(4):
        assert call(base, f"/api/v1/cases/{case['id']}", token)[0] == 200
    status, done = call(
        base,
        f"/api/v1/work-items/{first['id']}/complete",
        token,
        first_assessment("window"),
    )
    assert status == 200 and done["status"] == "completed", done
    status, after = call(base, f"/api/v1/cases/{case['id']}", token)
    assert [i["element_id"] for i in after["work_items"]] == ["window_support"]
    # A refusal keeps its shape through gunicorn: JSON, Japanese, no traceback.
    status, refused = call(base, "/api/v1/cases/999999", token)
    assert status == 404 and "Traceback" not in json.dumps(refused, ensure_ascii=False)
