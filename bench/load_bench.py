"""Load benchmark: gunicorn (2 workers) on PostgreSQL under staff completing tasks over the API, the
bare engine doing the same completions in process, and many timers due at once for two workers.

Each of KASANE_BENCH_USERS (50) window workers has a window of their own and opens
KASANE_BENCH_CASES cases there over the API; then all of them, at once, work through their inboxes:
list the open items (100 at a time), complete each first assessment (handled at the window) and
the window support that follows (closed); one whose inbox runs empty opens 10 more cases (counted
apart). A small share of completions is deliberately submitted twice: the second must get 409.

Two loads, one after the other:
- paced, for KASANE_BENCH_SECONDS (60): each user starts a submission every KASANE_BENCH_PACE_MS
  (230) at most, so the users offer 50 x 1000/230 = 217 completions/s (a little over the target's
  200, for the start and the inbox readings); what is measured is how fast the servers answer at
  that rate (the target: 200/s with p95 at most 100 ms);
- capacity, for KASANE_BENCH_CAPACITY_SECONDS (20; 0: none): each user submits the next as soon as
  the answer came, so the servers run flat out; the completions/s are their capacity, and the
  latency is about users / rate (a user waits for the 49 others ahead).
In both, the users start at random moments over the first KASANE_BENCH_RAMP_SECONDS (5), as people
come in; the rates count the whole time, the start included.

The bare engine then does the same two completions per case in process. Last, KASANE_BENCH_TIMERS
(10000) instances wait for one timer due at the same moment, and two ``kasane worker`` processes
(default interval) fire them: each must fire exactly once; lateness is the audit row's time minus
the due time.

A ``kasane worker`` runs beside gunicorn during the loads (it rewrites the supervisors' rows of
the cases the load moves); how far behind it was when the loads ended is printed.

Needs KASANE_TEST_DATABASE_URL (a PostgreSQL server: a scratch database is made and dropped).
KASANE_BENCH_APP_ROOT serves another checkout (to measure a change). Prints a table and, last,
``RESULT {json}``.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _load_client import REFUSED, form_data, open_cases, work  # noqa: E402
from _load_common import (  # noqa: E402
    ROOT,
    Gunicorn,
    TimerWorker,
    bench_database,
    create_staff,
    env_int,
    exit_codes,
    make_app,
    percentile,
    prepare,
    read_model_lag,
    start_timer_instances,
    still_due,
    timer_fires,
)

USERS = env_int("KASANE_BENCH_USERS", 50)
SECONDS = env_int("KASANE_BENCH_SECONDS", 60)
PACE_MS = env_int("KASANE_BENCH_PACE_MS", 230)
RAMP_SECONDS = env_int("KASANE_BENCH_RAMP_SECONDS", 5)
CAPACITY_SECONDS = env_int("KASANE_BENCH_CAPACITY_SECONDS", 20)
TIMERS = env_int("KASANE_BENCH_TIMERS", 10000)
# Two completions per case, opened before the loads for what they take (the paced rate, 300/s
# flat out) and a tenth more (opening a case costs about two completions of the servers' time:
# opened during a load, they would eat into what is measured); a user who runs out opens a few
# more during the load (counted apart).
PACED_RATE = USERS * 1000 / PACE_MS if PACE_MS else 300
CASES = env_int(
    "KASANE_BENCH_CASES",
    math.ceil((PACED_RATE * SECONDS + 300 * CAPACITY_SECONDS) * 1.1 / USERS / 2) + 2,
)
BARE_CASES = env_int("KASANE_BENCH_BARE_CASES", 300)


def http_load(url: str, logdir: Path) -> dict[str, float | int]:
    app = make_app(url)
    staff = create_staff(app, USERS)
    with (logdir / "gunicorn.log").open("w") as log, (logdir / "worker.log").open("w") as wlog:
        server = Gunicorn(url, log)
        server.start()
        # The timer worker runs beside it, as in production: it keeps the supervisors' rows of
        # the cases the load moves (its share of the two cores counts against the load's).
        worker = TimerWorker(url, wlog)
        worker.start()
        try:
            started = time.perf_counter()
            made, problems = asyncio.run(open_cases(server.port, staff, CASES))
            took = time.perf_counter() - started
            print(f"cases opened over the API: {made} in {took:.1f} s ({made / took:.1f}/s)")
            for problem in problems[:5]:
                print(f"  refused: {problem}")
            paced = _load(server.port, staff, SECONDS, PACE_MS, "paced")
            result = {name: paced[name] for name in ("completions_per_s", "p50_ms", "p95_ms")}
            result |= {"p99_ms": paced["p99_ms"], "completions": paced["completions"]}
            errors, deliberate, opened = paced["errors"], paced["deliberate_409"], paced["opened"]
            if CAPACITY_SECONDS:
                flat = _load(server.port, staff, CAPACITY_SECONDS, 0, "capacity")
                result["capacity_per_s"] = flat["completions_per_s"]
                result["capacity_p95_ms"] = flat["p95_ms"]
                errors += flat["errors"]
                deliberate += flat["deliberate_409"]
                opened += flat["opened"]
            behind, caught_up = read_model_lag(app)
        finally:
            worker.stop()
            server.stop()
    print(
        f"supervisors' rows: {behind} cases pending when the loads ended, all rewritten"
        f" {caught_up:.1f} s later (timer worker beside the load)"
    )
    return result | {
        "errors": errors,
        "deliberate_409": deliberate,
        "cases_opened_during_load": opened,
        "read_model_pending_at_end": behind,
    }


def _load(port: int, staff: list[Any], seconds: int, pace_ms: int, name: str) -> dict[str, Any]:
    """One load of ``seconds``; prints its figures and returns them."""
    started = time.perf_counter()
    log_ = asyncio.run(
        work(
            port,
            staff,
            seconds,
            run_id=uuid.uuid4().hex[:6],
            pace=pace_ms / 1000,
            ramp=RAMP_SECONDS,
        )
    )
    elapsed = time.perf_counter() - started
    first = [s for s in log_.submissions if not s.resubmit]
    done = [s for s in first if 200 <= s.status < 300]
    again = [s for s in log_.submissions if s.resubmit]
    deliberate = sum(1 for s in again if s.status == 409)
    wrong = Counter(
        "no response" if s.status <= 0 else str(s.status)
        for s in first
        if not 200 <= s.status < 300
    )
    wrong.update(f"second submission got {s.status}" for s in again if s.status != 409)
    wrong.update(" ".join(e.split()[:3]) for e in log_.other_errors)
    latencies = [s.ms for s in done]
    errors = sum(wrong.values())
    # The latency over the load, 5 s at a time (a slow stretch shows where it came from).
    spans: dict[int, list[float]] = {}
    for s in done:
        spans.setdefault(int((s.at - started) // 5), []).append(s.ms)
    rate = len(done) / elapsed
    how = f"a submission every {pace_ms} ms at most" if pace_ms else "no pause"
    print(f"{name} load: {len(staff)} users for {elapsed:.1f} s on gunicorn (2 workers), {how}")
    print(f"  completions: {len(done)} ({rate:.1f}/s)")
    print(
        "  latency ms: p50 {:.1f}  p95 {:.1f}  p99 {:.1f}".format(
            *(percentile(latencies, q) for q in (0.5, 0.95, 0.99))
        )
    )
    print(
        "  p95 ms by 5 s: "
        + " ".join(f"{percentile(spans[k], 0.95):.0f}" for k in sorted(spans) if k >= 0)
    )
    print(f"  deliberate 409 (a completed task submitted again): {deliberate} of {len(again)}")
    print(f"  errors: {errors} {dict(wrong) if wrong else ''}")
    for problem in log_.other_errors[:5]:
        print(f"    {problem}")
    print(
        f"  inbox listings: {len(log_.listings)}, p95 {percentile(log_.listings, 0.95):.1f} ms;"
        f" cases opened by users out of work: {log_.cases_opened}"
    )
    if any(s.status == REFUSED for s in first):
        print("  (some requests found no server: see gunicorn.log)")
    return {
        "completions_per_s": round(rate, 1),
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "errors": errors,
        "deliberate_409": deliberate,
        "completions": len(done),
        "opened": log_.cases_opened,
    }


def bare_engine_per_s() -> float:
    """The same two completions per case with SpiffWorkflow alone: no database, no serialization."""
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    parser = SpiffBpmnParser()
    parser.add_bpmn_files(sorted(str(p) for p in (ROOT / "processes").glob("*.bpmn")))
    spec = parser.get_spec("support_case")
    subprocesses = parser.get_subprocess_specs("support_case")
    start = {"case_number": "K-2026-000001", "cycle": 1}
    start.update(intake_agency="load-000", primary_agency="load-000")
    elapsed, completions = 0.0, 0
    for _ in range(BARE_CASES):
        workflow = BpmnWorkflow(spec, subprocesses)
        for task in workflow.task_tree.children:
            task.data.update(start)
        workflow.do_engine_steps()
        for element in ("first_assessment", "window_support"):
            began = time.perf_counter()
            [task] = [
                t
                for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                if t.task_spec.name == element
            ]
            task.data.update(form_data(element, "mbare") or {})
            task.run()
            workflow.do_engine_steps()
            elapsed += time.perf_counter() - began
            completions += 1
    return completions / elapsed


def timers_at_scale(url: str, logdir: Path) -> dict[str, float | int]:
    app = make_app(url)
    began = time.perf_counter()
    start_timer_instances(app, 20, datetime(2100, 1, 1, tzinfo=UTC))  # warm-up, never due
    per_start = (time.perf_counter() - began) / 20
    due = datetime.now(UTC) + timedelta(seconds=TIMERS * per_start * 1.5 + 15)
    due = due.replace(microsecond=0)
    with (logdir / "workers.log").open("w") as log:
        workers = [TimerWorker(url, log) for _ in range(2)]
        for worker in workers:
            worker.start()
        try:
            ids = start_timer_instances(app, TIMERS, due)
            ready = datetime.now(UTC)
            if ready > due:
                print(f"  (setup ended {(ready - due).total_seconds():.1f} s after the due time)")
            limit = due + timedelta(seconds=max(60.0, TIMERS * 0.1))
            while datetime.now(UTC) < limit and still_due(app, ids):
                time.sleep(2)
            died = exit_codes(workers)
        finally:
            for worker in workers:
                worker.stop()
    fires = timer_fires(app, ids)
    once = sum(1 for at in fires.values() if len(at) == 1)
    twice = sum(1 for at in fires.values() if len(at) > 1)
    never = sum(1 for at in fires.values() if not at)
    lateness = [(min(at) - due).total_seconds() for at in fires.values() if at]
    last = max(lateness) if lateness else 0.0
    print(f"timers: {TIMERS} due at {due:%H:%M:%S} UTC, 2 timer workers")
    print(f"  fired exactly once: {once}, more than once: {twice}, not fired: {never}")
    print(
        f"  lateness s: p50 {percentile(lateness, 0.5):.1f}  p95 {percentile(lateness, 0.95):.1f}"
        f"  last {last:.1f}  ({len(lateness) / max(last, 0.001):.0f} timers/s)"
    )
    if died:
        print(f"  a timer worker exited by itself: codes {died} (see workers.log)")
    return {
        "timer_lateness_p95_s": round(percentile(lateness, 0.95), 2),
        "timers_fired_once": once,
        "timers_fired_twice": twice,
        "timers_not_fired": never,
        "timer_workers_died": len(died),
    }


def main() -> None:
    result: dict[str, float | int] = {"users": USERS, "seconds": SECONDS, "timers": TIMERS}
    result["pace_ms"] = PACE_MS
    logdir = Path(tempfile.mkdtemp(prefix="kasane_load_"))
    print(f"logs: {logdir}")
    with bench_database("kasane_load") as url:
        prepare(make_app(url))
        result.update(http_load(url, logdir))
        bare = bare_engine_per_s()
        ratio = bare / result["completions_per_s"] if result["completions_per_s"] else 0.0
        print(f"bare SpiffWorkflow, same completions in process: {bare:.0f}/s ({ratio:.1f}x)")
        result["bare_engine_per_s"] = round(bare, 1)
        if TIMERS:
            result.update(timers_at_scale(url, logdir))
        for name in ("gunicorn.log", "workers.log"):
            path = logdir / name
            if path.exists() and "Traceback" in path.read_text():
                print(f"  {path} has tracebacks")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
