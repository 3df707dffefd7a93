"""Supervision benchmark: server time of the stalled-case page and the heatmap page at scale.

Fills a fresh database with the inbox bench's shape (100,000 open cases, one process instance and one
open work item each, 1,000,000 completed work items) plus what the supervisors' views read: waiting
timers and messages, the path the cases took over the last year, support plans and form submissions.
A supervisor oversees 3 of 20 agencies and 2 of 50 group queues, so thousands of stalled rows are
in scope. Times (in-process, through the Flask test client, logged in, each page requested once
first and the heap then frozen as a gunicorn worker of ``app/gunicorn_conf.py`` does) the stalled page
``/supervision/stalled`` unfiltered and filtered, and the heatmap page ``/supervision/heatmap`` with
the default period and with a year and one element chosen. The issue also names a workload page;
there was none when this bench was written, so ``/supervision/workload`` is timed only when the
application has that route (its figures are null otherwise). Prints a table, ``RESULT {json}`` last.

Sizes: KASANE_BENCH_CASES (100000), KASANE_BENCH_OPEN (= cases), KASANE_BENCH_DONE (10 per case),
KASANE_BENCH_PATHS (5 per case), KASANE_BENCH_SUBMISSIONS (2 per case). Each page is requested
KASANE_BENCH_SAMPLES (40) times, or fewer (never under 5) once it has taken KASANE_BENCH_BUDGET (120)
seconds: a page that takes seconds at full size would otherwise keep the machine for hours.
KASANE_BENCH_EXPLAIN=1 also prints the slowest statements of each page with their plans
(EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite).
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from inbox_bench import p95, quiet_request_log  # noqa: E402
from scratch_db import scratch_database  # noqa: E402

CASES = int(os.environ.get("KASANE_BENCH_CASES", "100000"))
OPEN = int(os.environ.get("KASANE_BENCH_OPEN", str(CASES)))
DONE = int(os.environ.get("KASANE_BENCH_DONE", str(CASES * 10)))
PATHS = int(os.environ.get("KASANE_BENCH_PATHS", str(CASES * 5)))
SUBMISSIONS = int(os.environ.get("KASANE_BENCH_SUBMISSIONS", str(CASES * 2)))
SAMPLES = int(os.environ.get("KASANE_BENCH_SAMPLES", "40"))
MIN_SAMPLES = min(5, SAMPLES)
BUDGET_MS = float(os.environ.get("KASANE_BENCH_BUDGET", "120")) * 1000
EXPLAIN = os.environ.get("KASANE_BENCH_EXPLAIN") == "1"
QUEUES, USERS, AGENCIES = 50, 2000, 20
SCOPE_AGENCIES, SCOPE_QUEUES = (1, 2, 3), ("queue00", "queue01")
PROCESS = "support_case"
PASSWORD = "Bench-Kasane-2026!"
BATCH = 20000
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
# Lanes whose work goes to an agency's own queue (the rest resolve to group queues).
AGENCY_LANES = {"受付窓口", "つなぎ先窓口", "主担当機関"}


def diagram() -> tuple[dict[str, bool], list[str], list[str], list[tuple[str, str]]]:
    """The case process's user tasks (True: in an agency lane), timer and message catch events, and
    sequence flows (source, target), read from the diagram the bench deploys."""
    root = ET.parse(ROOT / "processes" / f"{PROCESS}.bpmn").getroot()
    process = next(p for p in root.iter(BPMN + "process") if p.get("id") == PROCESS)
    agency_nodes = {
        ref.text
        for lane in process.iter(BPMN + "lane")
        if lane.get("name") in AGENCY_LANES
        for ref in lane.findall(BPMN + "flowNodeRef")
    }
    tasks = {t.get("id"): t.get("id") in agency_nodes for t in process.iter(BPMN + "userTask")}
    timers, messages = [], []
    for event in process.iter(BPMN + "intermediateCatchEvent"):
        kind = timers if event.find(BPMN + "timerEventDefinition") is not None else messages
        kind.append(event.get("id"))
    flows = [(f.get("sourceRef"), f.get("targetRef")) for f in process.iter(BPMN + "sequenceFlow")]
    return tasks, timers, messages, flows


def bulk(model, rows: Iterable[dict]) -> None:  # noqa: ANN001 - a mapped class
    from sqlalchemy import insert

    from app.extensions import db

    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            db.session.execute(insert(model), batch)
            batch = []
    if batch:
        db.session.execute(insert(model), batch)
    db.session.commit()


def fill(app) -> str:  # noqa: ANN001 - Flask app
    """Deploy the real processes, bulk-load the rows; returns the measured supervisor's username."""
    from app.extensions import db
    from app.models import (
        Agency,
        Case,
        Consent,
        FormSubmission,
        Group,
        Membership,
        PathStep,
        ProcessInstance,
        Referral,
        StepLimit,
        SupervisorScope,
        SupportPlan,
        User,
        WaitingEvent,
        WorkItem,
    )
    from app.services import definitions, users

    rng = random.Random(11)
    now = datetime.now(UTC)
    today = now.date()
    tasks, timers, messages, flows = diagram()
    task_ids = sorted(tasks)

    def ago(mean_days: float, cap: float = 400) -> datetime:
        """A time in the past, recent more often than not (most cases move; a tail does not)."""
        return now - timedelta(days=min(rng.expovariate(1 / mean_days), cap))

    with app.app_context():
        definitions.deploy([str(ROOT / "processes")], str(ROOT / "forms"))
        db.session.commit()
        definition_id = definitions.latest(PROCESS).id
        password = users.hash_password(PASSWORD)
        bulk(Agency, ({"id": a + 1, "code": f"ag{a:02d}", "name": f"窓口{a:02d}", "kind": "other"}
                      for a in range(AGENCIES)))  # fmt: skip
        bulk(Group, ({"id": q + 1, "key": f"queue{q:02d}", "name": f"キュー{q:02d}"}
                     for q in range(QUEUES)))  # fmt: skip
        bulk(User, ({"id": u + 1, "username": f"user{u:04d}", "display_name": f"職員{u:04d}", "password_hash": password,
                     "role": "coordinator", "active": True, "is_demo": False, "created_at": now,
                     "agency_id": u % AGENCIES + 1} for u in range(USERS)))  # fmt: skip
        chief = USERS + 1
        bulk(User, [{"id": chief, "username": "chief", "display_name": "係長", "password_hash": password,
                     "role": "supervisor", "active": True, "is_demo": False, "created_at": now, "agency_id": 1}])  # fmt: skip
        bulk(Membership, [{"user_id": u + 1, "group_id": q + 1} for u in range(USERS)
                          for q in {u % QUEUES, (u * 7 + 3) % QUEUES, (u * 13 + 5) % QUEUES}]
             + [{"user_id": chief, "group_id": 1}])  # fmt: skip
        bulk(SupervisorScope, [{"user_id": chief, "agency_id": a} for a in SCOPE_AGENCIES]
             + [{"user_id": chief, "queue": q} for q in SCOPE_QUEUES])  # fmt: skip
        # The municipality's own limits on two steps (read by the overdue reason per item).
        bulk(StepLimit, [{"process_key": PROCESS, "element_id": "assessment", "days": 21},
                         {"process_key": PROCESS, "element_id": "support_plan", "days": 30}])  # fmt: skip
        bulk(Case, ({"id": c + 1, "number": f"K-2026-{c + 1:06d}", "title": f"ベンチ用ケース{c + 1}", "status": "open",
                     "stage": rng.choice(["intake", "assessment", "support_plan", "monitoring"]), "intake": {},
                     "created_at": ago(120), "cycle": 1, "intake_agency_id": c % AGENCIES + 1,
                     "primary_agency_id": (c * 3) % AGENCIES + 1} for c in range(CASES)))  # fmt: skip
        bulk(Referral, ({"case_id": c + 1, "from_agency_id": c % AGENCIES + 1, "to_agency_id": (c * 7 + 1) % AGENCIES + 1,
                         "consent_basis": "consent", "status": "accepted", "created_at": now}
                        for c in range(0, CASES, 4)))  # fmt: skip
        bulk(Consent, ({"case_id": c + 1, "agencies": [], "info_kinds": [], "purposes": [], "given_on": today,
                        "source": "intake", "withdrawn_on": None if c % 3 else today, "created_at": now}
                       for c in range(0, CASES, 2)))  # fmt: skip

        # Each case's open step: when it began decides the instance's last progress.
        began = [ago(10) for _ in range(CASES)]
        bulk(ProcessInstance, ({"id": c + 1, "definition_id": definition_id, "case_id": c + 1,
                                "status": "waiting" if c % 5 else "running", "state": "{}", "lock_version": 1,
                                "last_progress_at": began[c], "created_at": began[c] - timedelta(days=30),
                                "error": "ValueError: 判定式が評価できません" if c % 200 == 7 else None,
                                "compactions": 0} for c in range(CASES)))  # fmt: skip

        def work(count: int, status: str, start: int) -> Iterator[dict]:
            for i in range(start, start + count):
                if status == "open":
                    case = i % CASES
                    created = began[case]
                else:
                    case = rng.randrange(CASES)
                    created = ago(120)
                element = rng.choice(task_ids)
                queue = (
                    f"agency:ag{(case * 3) % AGENCIES:02d}"
                    if tasks[element]
                    else f"queue{rng.randrange(QUEUES):02d}"
                )
                claimed = rng.random() < 0.7
                yield {
                    "id": i + 1, "instance_id": case + 1, "case_id": case + 1, "task_id": uuid.UUID(int=i).hex,
                    "element_id": element, "process_key": PROCESS, "title": f"{element} {i}", "lane": "l",
                    "queue": queue, "form_key": None, "status": status, "priority": rng.choice([30, 50, 50, 90]),
                    "due_at": created + timedelta(days=14) if rng.random() < 0.9 else None,
                    "assignee_id": rng.randrange(USERS) + 1 if claimed or status != "open" else None,
                    "created_at": created, "claimed_at": created + timedelta(hours=4) if claimed else None,
                    "completed_at": created + timedelta(days=2) if status != "open" else None,
                }  # fmt: skip

        bulk(WorkItem, work(OPEN, "open", 0))
        bulk(WorkItem, work(DONE, "completed", OPEN))

        def waits() -> Iterator[dict]:
            """A third of the cases also wait at a catch event: mostly timers, some messages."""
            for c in range(0, CASES, 3):
                if c % 4 == 0:
                    element = rng.choice(messages)
                    yield {"instance_id": c + 1, "case_id": c + 1, "element_id": element,
                           "process_key": PROCESS, "name": "知らせ待ち", "kind": "message",
                           "message_name": element, "due_at": None, "since": ago(10)}  # fmt: skip
                else:
                    since = ago(20)
                    yield {"instance_id": c + 1, "case_id": c + 1, "element_id": rng.choice(timers),
                           "process_key": PROCESS, "name": "期日待ち", "kind": "timer", "message_name": None,
                           "due_at": since + timedelta(days=30), "since": since}  # fmt: skip

        bulk(WaitingEvent, waits())
        bulk(PathStep, ({"instance_id": (c := rng.randrange(CASES)) + 1, "case_id": c + 1, "process_key": PROCESS,
                         "source_id": (flow := rng.choice(flows))[0], "target_id": flow[1],
                         "taken_at": now - timedelta(seconds=rng.randrange(365 * 86400))}
                        for _ in range(PATHS)))  # fmt: skip
        bulk(FormSubmission, ({"instance_id": (c := rng.randrange(CASES)) + 1, "case_id": c + 1,
                               "definition_id": definition_id, "element_id": rng.choice(task_ids), "form_key": None,
                               "data": {"memo": "ベンチ"}, "submitted_by_id": rng.randrange(USERS) + 1,
                               "submitted_at": ago(90)} for _ in range(SUBMISSIONS)))  # fmt: skip

        def plans() -> Iterator[dict]:
            """Three cases in ten have a plan, one in five of those a second version."""
            for c in range(0, CASES):
                if c % 10 >= 3:
                    continue
                for version in (1, 2) if c % 5 == 0 else (1,):
                    start = today - timedelta(days=rng.randrange(30, 300))
                    yield {"case_id": c + 1, "version": version, "primary_agency_id": (c * 3) % AGENCIES + 1,
                           "plan_start": start, "plan_end": start + timedelta(days=180),
                           "review_date": today + timedelta(days=rng.randrange(-120, 90)), "created_at": now}  # fmt: skip

        bulk(SupportPlan, plans())
        # What the services keep on each case as plans and submissions are recorded.
        db.session.execute(
            db.text(
                "UPDATE support_case SET review_due_on = (SELECT p.review_date FROM support_plan p"
                " WHERE p.case_id = support_case.id ORDER BY p.version DESC LIMIT 1),"
                " last_recorded_at = (SELECT max(f.submitted_at) FROM form_submission f"
                " WHERE f.case_id = support_case.id)"
            )
        )
        db.session.commit()
        # The rows were loaded in bulk, past the application: its read model is filled from them
        # as the migration that added it fills it from existing data.
        from app.services.supervision import readmodel

        began = time.perf_counter()
        readmodel.rebuild(db.session)
        db.session.commit()
        print(f"  read model rebuilt in {time.perf_counter() - began:.1f} s", flush=True)
        # The timer worker adds the path steps up per supervisor and day as they come.
        from app.services.supervision import flows

        began = time.perf_counter()
        while flows.roll_up():
            pass
        print(f"  flows tallied in {time.perf_counter() - began:.1f} s", flush=True)
        # What autovacuum does on a live server: statistics, and the visibility map for index-only scans.
        # Then, on PostgreSQL, the bulk load's gigabytes written out now (CHECKPOINT) rather than by
        # the checkpointer while pages are timed: each page commits its audit row, and a commit
        # waiting behind that flood of writes measures the disk, not the page.
        postgres = db.engine.dialect.name == "postgresql"
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(db.text("VACUUM ANALYZE" if postgres else "ANALYZE"))
            if postgres:
                conn.execute(db.text("CHECKPOINT"))
    return "chief"


TARGETS = {
    "stalled_all": "/supervision/stalled",
    "stalled_filtered": "/supervision/stalled?reason=unclaimed&agency=ag01",
    "heatmap": "/supervision/heatmap",
    "heatmap_element": "/supervision/heatmap?days=365&element=assessment",
    "workload": "/supervision/workload",
}
PAGES = ("stalled", "heatmap", "workload")


def targets(app) -> dict[str, str]:  # noqa: ANN001 - Flask app
    """The pages to time: all but the workload page when the application has none."""
    present = "supervision.workload" in app.view_functions
    return {name: url for name, url in TARGETS.items() if present or name != "workload"}


def login(app, username: str):  # noqa: ANN001, ANN201 - Flask app and test client
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    done = client.post(
        "/login", data={"csrf_token": csrf, "username": username, "password": PASSWORD}
    )
    assert done.status_code == 302, "the supervisor could not log in"
    return client


def stalled_counts(html: str) -> list[int]:
    """The per-reason counts at the top of the stalled page (what the supervisor sees)."""
    counts = html.split('class="reason-counts"')[1].split("</ul>")[0]
    return [int(part.split("<")[0]) for part in counts.split('<strong class="num">')[1:]]


def measure(app, username: str) -> dict[str, float]:  # noqa: ANN001
    from app.services.supervision.stalled import PAGE_SIZE

    client = login(app, username)
    pages = targets(app)
    first = client.get(pages["stalled_all"])
    assert first.status_code == 200, first.status_code
    counts = stalled_counts(first.get_data(as_text=True))
    print(
        f"  stalled rows per reason: {counts} (total {sum(counts)}; a page lists {PAGE_SIZE}), "
        f"{len(first.data) // 1024} KiB of HTML",
        flush=True,
    )
    # As a served worker runs: each page once before timing (templates compiled, statements
    # cached), then the heap frozen as gunicorn's worker hook does (app/gunicorn_conf.py).
    from app.gunicorn_conf import post_worker_init

    for url in pages.values():
        assert client.get(url).status_code == 200, url
    post_worker_init(None)
    times: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(SAMPLES):
        for name, url in pages.items():
            if len(times[name]) >= MIN_SAMPLES and sum(times[name]) > BUDGET_MS:
                continue
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (url, response.status_code)
            times[name].append(elapsed)
    print("  requests: " + ", ".join(f"{k} {len(v)}" for k, v in times.items()), flush=True)
    if EXPLAIN:
        explain(app, client, pages)
    return {name: p95(values) for name, values in times.items()}


def explain(app, client, pages: dict[str, str]) -> None:  # noqa: ANN001
    """Each page once more with its statements captured; each SELECT is run again on its own (rows
    fetched: SQLite does its work while rows are fetched, after the cursor returns), and the slowest
    three are printed with their plans."""
    from sqlalchemy import event

    from app.extensions import db

    with app.app_context():
        engine = db.engine
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, many) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        for name, url in pages.items():
            seen.clear()
            started = time.perf_counter()
            client.get(url)
            total = (time.perf_counter() - started) * 1000
            captured = list(seen)
            seen.clear()
            timed = []
            for statement, params in captured:
                with engine.connect() as conn:
                    began = time.perf_counter()
                    conn.exec_driver_sql(statement, params).all()
                    timed.append(((time.perf_counter() - began) * 1000, statement, params))
            spent = sum(ms for ms, _, _ in timed)
            print(f"\n  == {name}: {total:.1f} ms, {len(timed)} SELECTs, {spent:.1f} ms in SQL")
            for ms, statement, parameters in sorted(timed, key=lambda s: -s[0])[:3]:
                print(f"  -- {ms:.1f} ms: {' '.join(statement.split())[:700]}")
                print("     " + "\n     ".join(plan(engine, statement, parameters)))
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def plan(engine, statement: str, parameters: object) -> list[str]:  # noqa: ANN001
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, parameters).all()
    if postgres:
        return [row[0] for row in rows]
    depth = {0: -1}
    for node, parent, *_ in rows:
        depth[node] = depth.get(parent, -1) + 1
    return ["  " * depth[row[0]] + row[-1] for row in rows]


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
        f"  filled {CASES} cases, {OPEN} open + {DONE} completed work items, {PATHS} path steps, "
        f"{SUBMISSIONS} submissions in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    figures = measure(app, username)
    print("  p95 ms: " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()), flush=True)
    return figures


def main() -> None:
    result: dict[str, float | int | None] = {"cases": CASES, "open_items": OPEN, "done_items": DONE}
    with tempfile.TemporaryDirectory() as folder:
        print("SQLite", flush=True)
        sqlite = run(f"sqlite:///{folder}/stalled_bench.db")
    pg = None
    pg_url = os.environ.get("KASANE_TEST_DATABASE_URL")
    if pg_url:
        with scratch_database(pg_url, "kasane_stalled") as url:
            print("PostgreSQL", flush=True)
            pg = run(url)
    print(f"p95 ms over up to {SAMPLES} requests each")
    print(f"{'':12}" + "".join(f"{name:>18}" for name in sqlite))
    for label, values in (("SQLite", sqlite), ("PostgreSQL", pg)):
        if values:
            print(f"{label:12}" + "".join(f"{values[name]:18.1f}" for name in values))
    for prefix, values in (("sqlite", sqlite), ("pg", pg)):
        for page in PAGES:
            found = [v for k, v in (values or {}).items() if k.startswith(page)]
            result[f"{prefix}_{page}_p95_ms"] = round(max(found), 1) if found else None
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
