"""Inbox benchmark: server time of the inbox page and the work-item API on a large work-item table.

Fills a fresh database with open and completed work items across many queues and users, then
times (in-process, through the Flask test client) the inbox page and GET /api/v1/work-items for
a user who belongs to three group queues and an agency (whose queue holds cases the agency owns,
cases referred to it with or without a standing consent, and cases it may not see): the first page
and a filtered, sorted page. Prints a table and
``RESULT {json}`` last. Sizes: KASANE_BENCH_OPEN (100000), KASANE_BENCH_DONE (1000000); the share
of open work in agency queues: KASANE_BENCH_AGENCY_SHARE (0.3; 0 gives the earlier shape, where
every item sits in a group queue).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))
sys.path.insert(0, str(Path(__file__).parent))

from scratch_db import scratch_database  # noqa: E402

OPEN = int(os.environ.get("KASANE_BENCH_OPEN", "100000"))
DONE = int(os.environ.get("KASANE_BENCH_DONE", "1000000"))
QUEUES, USERS, CASES, AGENCIES = 50, 2000, 20000, 20
# A share of the open work sits in agency queues, where the access query must check that the
# agency holds the case or got it by a referral the person's consent still covers.
AGENCY_SHARE = float(os.environ.get("KASANE_BENCH_AGENCY_SHARE", "0.3"))
SAMPLES = int(os.environ.get("KASANE_BENCH_SAMPLES", "40"))
WARMUP = int(os.environ.get("KASANE_BENCH_WARMUP", "3"))
BATCH = 20000


def fill(app) -> str:  # noqa: ANN001 - Flask app
    """Bulk-load reference rows and work items; returns the username of the measured user."""
    from sqlalchemy import insert

    from app.extensions import db
    from app.models import (
        Agency,
        Case,
        Consent,
        Group,
        Membership,
        ProcessDefinition,
        ProcessInstance,
        Referral,
        User,
        WorkItem,
    )
    from app.services import users

    rng = random.Random(7)
    now = datetime.now(UTC)
    with app.app_context():
        password = users.hash_password("Bench-Kasane-2026!")
        db.session.execute(
            insert(Agency),
            [
                {"id": a + 1, "code": f"ag{a:02d}", "name": f"窓口{a:02d}", "kind": "other"}
                for a in range(AGENCIES)
            ],
        )
        db.session.execute(
            insert(Group),
            [
                {"id": q + 1, "key": f"queue{q:02d}", "name": f"キュー{q:02d}"}
                for q in range(QUEUES)
            ],
        )
        db.session.execute(
            insert(User),
            [
                {"id": u + 1, "username": f"user{u:04d}", "display_name": f"職員{u:04d}", "password_hash": password,
                 "role": "coordinator", "active": True, "is_demo": False, "created_at": now,
                 "agency_id": u % AGENCIES + 1}
                for u in range(USERS)
            ],
        )  # fmt: skip
        db.session.execute(
            insert(Membership),
            [
                {"user_id": u + 1, "group_id": q + 1}
                for u in range(USERS)
                for q in {u % QUEUES, (u * 7 + 3) % QUEUES, (u * 13 + 5) % QUEUES}
            ],
        )
        db.session.execute(
            insert(ProcessDefinition),
            [{"id": 1, "key": "bench", "version": 1, "name": "bench", "file_name": "bench.bpmn", "bpmn_xml": "<x/>",
              "forms": {}, "called_definition_ids": [], "content_hash": "0" * 64, "deployed_by": "bench", "deployed_at": now}],
        )  # fmt: skip
        db.session.execute(
            insert(Case),
            [{"id": c + 1, "number": f"K-2026-{c + 1:06d}", "title": f"ベンチ用ケース{c + 1}", "status": "open",
              "stage": rng.choice(["intake", "assessment", "monitoring", "support_plan"]), "intake": {}, "created_at": now, "cycle": 1,
              "intake_agency_id": c % AGENCIES + 1, "primary_agency_id": (c * 3) % AGENCIES + 1}
             for c in range(CASES)],
        )  # fmt: skip
        # Every fourth case was referred to another window; two thirds of those still have consent.
        db.session.execute(
            insert(Referral),
            [{"case_id": c + 1, "from_agency_id": c % AGENCIES + 1, "to_agency_id": (c * 7 + 1) % AGENCIES + 1,
              "consent_basis": "consent", "status": "accepted", "created_at": now}
             for c in range(0, CASES, 4)],
        )  # fmt: skip
        db.session.execute(
            insert(Consent),
            [{"case_id": c + 1, "agencies": [], "info_kinds": [], "purposes": [], "given_on": now.date(),
              "source": "intake", "withdrawn_on": None if c % 3 else now.date(), "created_at": now}
             for c in range(0, CASES, 2)],
        )  # fmt: skip
        db.session.execute(
            insert(ProcessInstance),
            [{"id": c + 1, "definition_id": 1, "case_id": c + 1, "status": "waiting", "state": "{}", "lock_version": 1,
              "last_progress_at": now, "created_at": now, "compactions": 0} for c in range(CASES)],
        )  # fmt: skip
        db.session.commit()

        def rows(count: int, status: str, start: int):
            for i in range(start, start + count):
                case = rng.randrange(CASES) + 1
                created = now - timedelta(days=rng.randrange(400))
                yield {
                    "id": i + 1, "instance_id": case, "case_id": case, "task_id": uuid.UUID(int=i).hex,
                    "element_id": "task", "process_key": "bench", "title": f"タスク{i}", "lane": "l",
                    "queue": f"agency:ag{rng.randrange(AGENCIES):02d}" if rng.random() < AGENCY_SHARE
                    else f"queue{rng.randrange(QUEUES):02d}", "form_key": None, "status": status,
                    "priority": rng.choice([30, 50, 50, 90]),
                    "due_at": created + timedelta(days=rng.randrange(30)) if rng.random() < 0.9 else None,
                    "assignee_id": rng.randrange(USERS) + 1 if rng.random() < 0.3 else None,
                    "created_at": created,
                    "completed_at": created + timedelta(days=1) if status != "open" else None,
                }  # fmt: skip

        for status, count, start in (("open", OPEN, 0), ("completed", DONE, OPEN)):
            batch = []
            for row in rows(count, status, start):
                batch.append(row)
                if len(batch) == BATCH:
                    db.session.execute(insert(WorkItem), batch)
                    batch = []
            if batch:
                db.session.execute(insert(WorkItem), batch)
            db.session.commit()
        db.session.commit()
        # What autovacuum does on a live server: statistics, and the visibility map for index-only scans.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(
                db.text("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE")
            )
    return "user0000"


def measure(app, username: str) -> dict[str, float]:  # noqa: ANN001
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User
    from app.services import users

    with app.app_context():
        token = users.create_token(
            db.session.scalar(select(User).where(User.username == username)), "bench"
        )
    client = app.test_client()
    login = client.get("/login")
    csrf = login.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login", data={"csrf_token": csrf, "username": username, "password": "Bench-Kasane-2026!"}
    )
    headers = {"Authorization": f"Bearer {token}"}
    targets = {
        "inbox_first": ("/inbox", {}),
        "inbox_filtered": ("/inbox?queue=queue03&overdue=yes&sort=priority&page=2", {}),
        "api_first": ("/api/v1/work-items", headers),
        "api_filtered": (
            "/api/v1/work-items?queue=queue03&overdue=true&sort=priority&page=2",
            headers,
        ),
    }
    # Warm up first (templates compiled, statements built and cached): a server answers thousands
    # of requests, and the first two of a fresh process would otherwise make the p95 of 40.
    for _ in range(WARMUP):
        for url, hdrs in targets.values():
            client.get(url, headers=hdrs)
    times: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(SAMPLES):
        for name, (url, hdrs) in targets.items():
            started = time.perf_counter()
            response = client.get(url, headers=hdrs)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (url, response.status_code)
            times[name].append(elapsed)
    return {name: p95(values) for name, values in times.items()}


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def quiet_request_log() -> None:
    """Each request's log line is still made (as in production) but written nowhere, so the
    figures are readable."""
    import logging

    from app.web.observability import REQUEST_LOG

    for handler in REQUEST_LOG.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the run


def run(url: str) -> dict[str, float]:
    from flask_migrate import upgrade

    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    quiet_request_log()
    with app.app_context():
        upgrade()
    started = time.perf_counter()
    username = fill(app)
    print(
        f"  filled {OPEN} open + {DONE} completed work items in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    figures = measure(app, username)
    print("  p95 ms: " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()), flush=True)
    return figures


def main() -> None:
    result: dict[str, float | int | None] = {"open_items": OPEN, "agency_share": AGENCY_SHARE}
    with tempfile.TemporaryDirectory() as folder:
        print("SQLite", flush=True)
        sqlite = run(f"sqlite:///{folder}/inbox_bench.db")
    pg = None
    pg_url = os.environ.get("KASANE_TEST_DATABASE_URL")
    if pg_url:
        with scratch_database(pg_url, "kasane_inbox") as url:
            print("PostgreSQL", flush=True)
            pg = run(url)
    print(f"p95 ms over {SAMPLES} requests each")
    print(f"{'':16} {'inbox 1st':>10} {'inbox filt':>10} {'api 1st':>10} {'api filt':>10}")
    for label, values in (("SQLite", sqlite), ("PostgreSQL", pg)):
        if values:
            print(
                f"{label:16} "
                + " ".join(
                    f"{values[k]:10.1f}"
                    for k in ("inbox_first", "inbox_filtered", "api_first", "api_filtered")
                )
            )
    result["sqlite_inbox_p95_ms"] = round(max(sqlite["inbox_first"], sqlite["inbox_filtered"]), 1)
    result["sqlite_api_p95_ms"] = round(max(sqlite["api_first"], sqlite["api_filtered"]), 1)
    result["pg_inbox_p95_ms"] = (
        round(max(pg["inbox_first"], pg["inbox_filtered"]), 1) if pg else None
    )
    result["pg_api_p95_ms"] = round(max(pg["api_first"], pg["api_filtered"]), 1) if pg else None
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
