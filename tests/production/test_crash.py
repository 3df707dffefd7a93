"""Crash safety, short form of bench/crash_check.py: under load over the API, ``kill -9`` a gunicorn
worker, the gunicorn master and the timer workers, start them again, and check that nothing a
client was told was saved is lost or doubled, no step ran twice, every instance loads and moves
on, and timers due while no worker ran fire once afterwards. On each backend the suite runs:
SQLite's file survives a killed writer too, and two gunicorn workers and two timer workers share
it (slowly)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKENDS

ROOT = Path(__file__).parent.parent.parent


@pytest.mark.parametrize("backend", BACKENDS)
def test_killed_processes_lose_and_double_nothing(backend: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "KASANE_BENCH_USERS": "3",
        "KASANE_BENCH_SECONDS": "6",
        "KASANE_BENCH_CASES": "8",
        "KASANE_BENCH_TIMERS": "40",
    }
    env.pop("KASANE_BENCH_APP_ROOT", None)
    if backend == "sqlite":
        env["KASANE_BENCH_DATABASE_URL"] = f"sqlite:///{tmp_path / 'crash.db'}"
    else:
        env.pop("KASANE_BENCH_DATABASE_URL", None)  # a scratch database on the PostgreSQL server
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "crash_check.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    output = done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, output
    result = json.loads(lines[-1].removeprefix("RESULT "))
    # The faults happened, and under load: otherwise the invariants below prove nothing.
    assert result["gunicorn_worker_killed"] and result["gunicorn_master_killed"], output
    assert "burst_fired_when_killed" in result and result["timer_outage_seconds"] >= 3, output
    assert result["acknowledged"] > 0 and result["continued"] > 0, output
    assert result["timers_outage_fired_once"] == result["timers_outage"] == 20, output
    assert result["timers_burst_fired_once"] == result["timers_burst"] == 20, output
    assert result["ok"] and done.returncode == 0, output
