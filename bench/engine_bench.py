"""Engine benchmark: the in-memory floor against Kasane's whole persisted completion path.

Prints a table and, last, a line ``RESULT {json}``. Run with ``make bench`` (or
``.venv/bin/python bench/engine_bench.py``); set KASANE_TEST_DATABASE_URL to include PostgreSQL.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from scratch_db import scratch_database  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

import app.engine  # noqa: E402,F401  (lifts the library's depth-1000 stall, or h500 cannot run at all)

HISTORIES = (10, 100, 500)
SAMPLES = int(os.environ.get("KASANE_BENCH_SAMPLES", "40"))
PROCESS = HERE / "loop.bpmn"


def inmemory(history: int) -> float:
    """Bare SpiffWorkflow: one user-task completion plus engine steps, no database, no serialization."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(PROCESS))
    workflow = BpmnWorkflow(parser.get_spec("loop"))
    workflow.task_tree.children[0].data["limit"] = 10**9
    workflow.do_engine_steps()

    def step() -> None:
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        task.data["note"] = "bench"
        task.run()
        workflow.do_engine_steps()

    for _ in range(history):
        step()
    times = []
    for _ in range(SAMPLES):
        started = time.perf_counter()
        step()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def persisted(database_url: str, history: int) -> float:
    """Kasane's path: load, validate, run, compact, save, rebuild work items, audit, commit."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import create_app
    from app.extensions import db
    from app.models import User
    from app.services import definitions, demo, instances, work_items

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "KASANE_FORMS_DIR": str(HERE / "forms")}
    )
    with app.app_context():
        upgrade()
        demo.load_demo_users()
        definitions.deploy([str(PROCESS)], str(HERE / "forms"))
        actor = db.session.scalar(select(User).where(User.username == "demo-coordinator"))
        instance = instances.start("loop", data={"limit": 10**9})

        def step() -> None:
            [item] = instances.open_items(instance)
            work_items.complete(item.id, actor, {"note": "bench"})

        for _ in range(history):
            step()
        times = []
        for _ in range(SAMPLES):
            started = time.perf_counter()
            step()
            times.append((time.perf_counter() - started) * 1000)
        db.session.remove()
        db.engine.dispose()
    return statistics.median(times)


def sqlite_url(folder: str, history: int) -> str:
    return f"sqlite:///{folder}/bench_{history}.db"


def with_pg_database(server_url: str, history: int) -> float:
    with scratch_database(server_url, "kasane_bench") as url:
        return persisted(url, history)


def main() -> None:
    gc.collect()
    result: dict[str, float | None] = {}
    rows = []
    floor = {h: inmemory(h) for h in HISTORIES}
    result["inmemory_ms"] = round(floor[10], 3)
    rows.append(("bare SpiffWorkflow in memory (floor)", floor))
    with tempfile.TemporaryDirectory() as folder:
        sqlite = {h: persisted(sqlite_url(folder, h), h) for h in HISTORIES}
    rows.append(("Kasane, SQLite", sqlite))
    for h in HISTORIES:
        result[f"sqlite_h{h}_ms"] = round(sqlite[h], 3)
    pg_url = os.environ.get("KASANE_TEST_DATABASE_URL")
    if pg_url:
        pg = {h: with_pg_database(pg_url, h) for h in HISTORIES}
        rows.append(("Kasane, PostgreSQL", pg))
    for h in HISTORIES:
        result[f"pg_h{h}_ms"] = round(pg[h], 3) if pg_url else None

    print(f"median ms per user-task completion ({SAMPLES} samples each)")
    print(f"{'':40} {'h10':>9} {'h100':>9} {'h500':>9}")
    for label, values in rows:
        print(f"{label:40} " + " ".join(f"{values[h]:9.2f}" for h in HISTORIES))
    print(f"sqlite_h10 / inmemory = {sqlite[10] / floor[10]:.1f}x (target <= 10x)")
    print(f"sqlite h500 / h10 = {sqlite[500] / sqlite[10]:.2f} (target <= 1.5)")
    if pg_url:
        print(f"pg h500 / h10 = {pg[500] / pg[10]:.2f} (target <= 1.5)")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
