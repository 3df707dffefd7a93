"""Crash check: ``kill -9`` gunicorn and the timer workers under load, then check what survived.

The load of ``load_bench.py`` (KASANE_BENCH_USERS staff completing tasks of their own cases over
the API for KASANE_BENCH_SECONDS, each submission with a unique marker) runs against gunicorn with
2 workers and two ``kasane worker`` processes, while at random moments (KASANE_BENCH_SEED):

- a gunicorn worker is killed (the master starts another);
- the gunicorn master is killed (and its orphaned workers, as a service manager would), and
  started again after a pause;
- both timer workers are killed for an outage during which timers come due, then started again;
- then a timer worker is killed while it fires a burst of timers due together, and started again.

Afterwards: every submission answered 2xx is stored exactly once and none refused is; no step was
applied twice; every instance loads with the engine and moves on; every timer fired exactly once,
those due in the outage after the restart. KASANE_BENCH_TIMERS (1000) is split between the batch
and the outage. Uses KASANE_BENCH_DATABASE_URL as given (SQLite or PostgreSQL), else a scratch
database on KASANE_TEST_DATABASE_URL. Prints the counts and, last, ``RESULT {json}``; exits 1 when
an invariant does not hold.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import _crash_verify as verify  # noqa: E402
from _load_client import Log, open_cases, work  # noqa: E402
from _load_common import (  # noqa: E402
    Gunicorn,
    Staff,
    TimerWorker,
    bench_database,
    create_coordinator,
    create_staff,
    env_int,
    exit_codes,
    make_app,
    prepare,
    start_timer_instances,
    still_due,
    timer_fires,
)

USERS = env_int("KASANE_BENCH_USERS", 50)
SECONDS = env_int("KASANE_BENCH_SECONDS", 60)
TIMERS = env_int("KASANE_BENCH_TIMERS", 1000)
CASES = env_int("KASANE_BENCH_CASES", math.ceil(60 * SECONDS / USERS / 2) + 2)
SEED = env_int("KASANE_BENCH_SEED", random.randrange(10**6))

MUST_BE_ZERO = (
    "acknowledged_missing",
    "acknowledged_twice",
    "refused_but_stored",
    "second_submission_accepted",
    "markers_stored_twice",
    "server_errors",
    "case_open_server_errors",
    "other_request_errors",
    "work_items_submitted_twice",
    "completed_without_submission",
    "tasks_with_two_work_items",
    "flows_out_not_matching_completions",
    "load_failed",
    "ready_not_matching_work",
    "continue_failed",
    "timers_burst_fired_twice",
    "timers_burst_not_fired",
    "timers_outage_fired_twice",
    "timers_outage_not_fired",
    "timers_outage_fired_too_early",
    "timer_workers_died",
)


@dataclass
class Plan:
    """When each fault happens, in seconds from the start of the load."""

    worker_kill: float
    outage_start: float
    outage_seconds: float
    burst_due: float
    master_kill: float
    master_down: float
    happened: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def draw(cls, rng: random.Random, seconds: float) -> Plan:
        outage_start = rng.uniform(0.1, 0.3) * seconds
        outage_seconds = max(3.0, 0.15 * seconds)
        return cls(
            worker_kill=rng.uniform(0.1, 0.45) * seconds,
            outage_start=outage_start,
            outage_seconds=outage_seconds,
            # After the outage, so that the workers are back when the burst comes due.
            burst_due=outage_start + outage_seconds + 0.5,
            master_kill=rng.uniform(0.55, 0.85) * seconds,
            master_down=rng.uniform(0.5, 2.0),
        )


class Faults:
    """The faults of a plan, run beside the load on the same event loop."""

    def __init__(self, plan: Plan, server: Gunicorn, workers: list[TimerWorker], app: Any) -> None:
        self.plan, self.server, self.workers, self.app = plan, server, workers, app
        self.rng = random.Random(SEED + 1)
        self.t0 = time.monotonic()
        self.outage_over = asyncio.Event()

    async def _until(self, offset: float) -> None:
        await asyncio.sleep(max(0.0, self.t0 + offset - time.monotonic()))

    async def kill_gunicorn_worker(self) -> None:
        await self._until(self.plan.worker_kill)
        pids = self.server.worker_pids()
        if pids:
            self.server.kill_worker(self.rng.choice(pids))
        self.plan.happened["gunicorn_worker_killed"] = bool(pids)

    async def kill_gunicorn_master(self) -> None:
        await self._until(self.plan.master_kill)
        await asyncio.to_thread(self.server.kill_master)
        await asyncio.sleep(self.plan.master_down)
        await asyncio.to_thread(self.server.start)
        self.plan.happened["gunicorn_master_killed"] = True

    async def timer_outage(self) -> datetime:
        """Both timer workers down for a while; returns when they were started again."""
        try:
            await self._until(self.plan.outage_start)
            for worker in self.workers:
                worker.kill()
            await self._until(self.plan.outage_start + self.plan.outage_seconds)
            back = datetime.now(UTC)
            for worker in self.workers:
                worker.start()
            self.plan.happened["timer_outage_seconds"] = round(self.plan.outage_seconds, 1)
            return back
        finally:
            self.outage_over.set()

    async def kill_worker_in_burst(self, burst: list[int]) -> None:
        """Kill one timer worker once some, not all, of the burst has fired; start it again."""
        await self.outage_over.wait()
        await self._until(self.plan.burst_due)
        deadline = time.monotonic() + 15
        fired = 0
        while time.monotonic() < deadline:
            fired = await asyncio.to_thread(_fired, self.app, burst)
            if fired:
                break
            await asyncio.sleep(0.05)
        victim = self.rng.choice(self.workers)
        victim.kill()
        self.plan.happened["burst_fired_when_killed"] = f"{fired}/{len(burst)}"
        await asyncio.sleep(1.0)
        victim.start()


BEGAN = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - BEGAN:5.1f} s] {message}", flush=True)


def _status(error: str) -> int:
    """The status in a client's error line ("POST /api/v1/cases 500 {...}"); 0 for none."""
    try:
        return int(error.split()[2])
    except (IndexError, ValueError):
        return 0


def _fired(app: Any, ids: list[int]) -> int:
    return sum(1 for at in timer_fires(app, ids).values() if at)


async def under_load(
    server: Gunicorn,
    workers: list[TimerWorker],
    app: Any,
    plan: Plan,
    burst: list[int],
    staff: list[Staff],
) -> tuple[Log, datetime]:
    faults = Faults(plan, server, workers, app)
    results = await asyncio.gather(
        work(server.port, staff, SECONDS, run_id=uuid.uuid4().hex[:6], seed=SEED),
        faults.kill_gunicorn_worker(),
        faults.timer_outage(),
        faults.kill_worker_in_burst(burst),
        faults.kill_gunicorn_master(),
    )
    return results[0], results[2]


def run(url: str, logdir: Path) -> dict[str, Any]:
    rng = random.Random(SEED)
    plan = Plan.draw(rng, SECONDS)
    app = make_app(url)
    prepare(app)
    staff = create_staff(app, USERS)
    create_coordinator(app)
    say("database ready")
    server_log = (logdir / "gunicorn.log").open("w")
    worker_log = (logdir / "workers.log").open("w")
    server = Gunicorn(url, server_log)
    workers = [TimerWorker(url, worker_log) for _ in range(2)]
    try:
        server.start()
        made, problems = asyncio.run(open_cases(server.port, staff, CASES))
        say(f"cases opened over the API: {made} ({len(problems)} refused)")
        for problem in problems[:3]:
            print(f"  {problem}")
        for worker in workers:
            worker.start()
        # Timers: a group due in the middle of the outage, and a burst due after it.
        began = time.perf_counter()
        start_timer_instances(app, 5, datetime(2100, 1, 1, tzinfo=UTC))  # warm-up, never due
        setup = (time.perf_counter() - began) / 5 * TIMERS * 1.5 + 2
        t0 = datetime.now(UTC) + timedelta(seconds=setup)
        outage_due = t0 + timedelta(seconds=plan.outage_start + plan.outage_seconds / 2)
        burst = start_timer_instances(app, TIMERS // 2, t0 + timedelta(seconds=plan.burst_due))
        outage = start_timer_instances(app, TIMERS - TIMERS // 2, outage_due)
        say(f"timers set: {len(burst)} in a burst, {len(outage)} due in the outage")
        time.sleep(max(0.0, (t0 - datetime.now(UTC)).total_seconds()))
        log, back = asyncio.run(under_load(server, workers, app, plan, burst, staff))
        say(f"load over: {len(log.submissions)} submissions")
        if server.proc is None or server.proc.poll() is not None:
            server.start()
        deadline = time.monotonic() + 60 + 0.1 * TIMERS
        while still_due(app, burst + outage) and time.monotonic() < deadline:
            time.sleep(1)
        died = exit_codes(workers)
        say("timers fired")
    finally:
        server.stop()
        for worker in workers:
            worker.stop()
        server_log.close()
        worker_log.close()
    counts: dict[str, Any] = {"users": USERS, "seconds": SECONDS, "seed": SEED}
    counts.update(plan.happened)
    counts.update(verify.submissions(app, log))
    others = problems + log.other_errors
    opens = [e for e in others if e.startswith("POST /api/v1/cases ")]
    counts["case_open_server_errors"] = sum(1 for e in opens if _status(e) >= 500)
    counts["other_request_errors"] = sum(
        1 for e in others if _status(e) > 0 and not (e in opens and _status(e) >= 500)
    )
    counts.update(verify.steps(app))
    burst_due = t0 + timedelta(seconds=plan.burst_due)
    counts.update(verify.timers(app, {"burst": (burst, burst_due), "outage": (outage, back)}))
    counts["timer_workers_died"] = len(died)
    counts.update(verify.instances(app, verify.touched_instances(app, log, burst + outage)))
    say("verified")
    return counts


def main() -> None:
    logdir = Path(tempfile.mkdtemp(prefix="kasane_crash_"))
    print(f"seed {SEED}; logs: {logdir}")
    with bench_database("kasane_crash") as url:
        counts = run(url, logdir)
    failed = [name for name in MUST_BE_ZERO if counts.get(name)]
    for name, value in counts.items():
        mark = "  <-- must be 0" if name in failed else ""
        print(f"  {name:40} {value}{mark}")
    counts["ok"] = not failed
    print("RESULT " + json.dumps(counts))
    sys.exit(0 if not failed else 1)


if __name__ == "__main__":
    main()
