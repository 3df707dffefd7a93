"""Engine benchmark: the in-memory floor against Kasane's whole persisted completion path.

Also what running designer code in sandbox processes costs: one script step (the loop's
``count = count + 1``) in a sandbox against in-process, and the SQLite h10 completion (two
scripts and a condition) both ways. Prints a table and, last, a line ``RESULT {json}``.
Run with ``make bench`` (or ``.venv/bin/python bench/engine_bench.py``); set
KASANE_TEST_DATABASE_URL to include PostgreSQL.
"""

from __future__ import annotations

import gc
import json
import math
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


def script_step_us(sandboxed: bool) -> float:
    """One script step (the loop's script task) through Kasane's restricted environment."""
    from app.engine.scripting import make_script_engine

    environment = make_script_engine(sandboxed=sandboxed).environment
    data = {"count": 0, "limit": 10**9, "note": "bench"}
    environment.execute("count = count + 1", data)  # compiles, and starts a sandbox process
    times = []
    for _ in range(SAMPLES * 25):
        started = time.perf_counter()
        environment.execute("count = count + 1", data)
        times.append((time.perf_counter() - started) * 1e6)
    return statistics.median(times)


def persisted(database_url: str, history: int, compare: bool = False) -> tuple[float, float]:
    """Kasane's path: load, validate, run, compact, save, rebuild work items, audit, commit.
    With ``compare``, every other sample runs the diagram's scripts in-process instead of in a
    sandbox process (same case, same moment); the second median is theirs (else NaN)."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import create_app
    from app.engine import runtime
    from app.engine.scripting import make_script_engine
    from app.extensions import db
    from app.models import User
    from app.services import definitions, demo, instances, work_items

    engines = {True: runtime._SCRIPT_ENGINE, False: make_script_engine(sandboxed=False)}
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
        times: dict[bool, list[float]] = {True: [], False: []}
        for sample in range(SAMPLES * (2 if compare else 1)):
            sandboxed = sample % 2 == 0 or not compare
            runtime._SCRIPT_ENGINE = engines[sandboxed]
            started = time.perf_counter()
            step()
            times[sandboxed].append((time.perf_counter() - started) * 1000)
        runtime._SCRIPT_ENGINE = engines[True]
        db.session.remove()
        db.engine.dispose()
    in_process = statistics.median(times[False]) if compare else math.nan
    return statistics.median(times[True]), in_process


def sqlite_url(folder: str, history: int) -> str:
    return f"sqlite:///{folder}/bench_{history}.db"


def with_pg_database(server_url: str, history: int) -> float:
    with scratch_database(server_url, "kasane_bench") as url:
        return persisted(url, history)[0]


def main() -> None:
    gc.collect()
    result: dict[str, float | None] = {}
    rows = []
    floor = {h: inmemory(h) for h in HISTORIES}
    result["inmemory_ms"] = round(floor[10], 3)
    rows.append(("bare SpiffWorkflow in memory (floor)", floor))
    with tempfile.TemporaryDirectory() as folder:
        sqlite = {h: persisted(sqlite_url(folder, h), h)[0] for h in HISTORIES}
        sqlite_compare, sqlite_in_process = persisted(
            f"sqlite:///{folder}/compare.db", 10, compare=True
        )
    rows.append(("Kasane, SQLite", sqlite))
    for h in HISTORIES:
        result[f"sqlite_h{h}_ms"] = round(sqlite[h], 3)
    pg_url = os.environ.get("KASANE_TEST_DATABASE_URL")
    if pg_url:
        pg = {h: with_pg_database(pg_url, h) for h in HISTORIES}
        rows.append(("Kasane, PostgreSQL", pg))
    for h in HISTORIES:
        result[f"pg_h{h}_ms"] = round(pg[h], 3) if pg_url else None

    step = {"sandbox": script_step_us(True), "inprocess": script_step_us(False)}
    result["script_step_sandbox_us"] = round(step["sandbox"], 1)
    result["script_step_inprocess_us"] = round(step["inprocess"], 1)
    result["sqlite_h10_inprocess_ms"] = round(sqlite_in_process, 3)
    result["sqlite_h10_sandboxed_alternating_ms"] = round(sqlite_compare, 3)

    print(f"median ms per user-task completion ({SAMPLES} samples each)")
    print(f"{'':40} {'h10':>9} {'h100':>9} {'h500':>9}")
    for label, values in rows:
        print(f"{label:40} " + " ".join(f"{values[h]:9.2f}" for h in HISTORIES))
    print(f"sqlite_h10 / inmemory = {sqlite[10] / floor[10]:.1f}x (target <= 10x)")
    print(
        f"script step: {step['sandbox']:.1f} us in a sandbox process, "
        f"{step['inprocess']:.1f} us in-process ({SAMPLES * 25} samples each)"
    )
    print(
        f"sqlite h10, samples alternating: scripts in-process {sqlite_in_process:.2f} ms, "
        f"in sandbox processes {sqlite_compare:.2f} ms (2 scripts and 1 condition a completion)"
    )
    print(f"sqlite h500 / h10 = {sqlite[500] / sqlite[10]:.2f} (target <= 1.5)")
    if pg_url:
        print(f"pg h500 / h10 = {pg[500] / pg[10]:.2f} (target <= 1.5)")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
