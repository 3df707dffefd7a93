"""What the load benchmark and the crash check share: a database with staff, API tokens and timer
instances; gunicorn and timer workers as child processes that can be killed and started again."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

BENCH = Path(__file__).parent
ROOT = BENCH.parent
# Where the servers run from: another checkout of Kasane (to measure a change) or this one.
SERVED = Path(os.environ.get("KASANE_BENCH_APP_ROOT", str(ROOT)))
sys.path.insert(0, str(ROOT))

from scratch_db import scratch_database  # noqa: E402

PASSWORD = "Load-Bench-Kasane-2026!"
SECRET = "load-bench-secret-not-for-production-use"
TIMER_KEY = "timer_bench"


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


@contextmanager
def bench_database(prefix: str) -> Iterator[str]:
    """KASANE_BENCH_DATABASE_URL as given (kept), else a scratch database on the PostgreSQL server
    of KASANE_TEST_DATABASE_URL (dropped afterwards)."""
    given = os.environ.get("KASANE_BENCH_DATABASE_URL")
    if given:
        yield given
        return
    server = os.environ.get("KASANE_TEST_DATABASE_URL")
    if not server:
        sys.exit(
            "KASANE_TEST_DATABASE_URL (PostgreSQL) か KASANE_BENCH_DATABASE_URL を指定してください"
        )
    with scratch_database(server, prefix) as url:
        yield url


def make_app(url: str) -> Any:
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url})


def prepare(app: Any) -> None:
    """Migrate, add the agencies and groups the lanes need, deploy processes/ and the timer bench."""
    from flask_migrate import upgrade

    from app.extensions import db
    from app.services import definitions, demo

    with app.app_context():
        upgrade()
        demo.ensure_reference_data()
        db.session.commit()
        definitions.deploy([str(ROOT / "processes")], str(ROOT / "forms"))
        definitions.deploy([str(BENCH / "timer.bpmn")], str(BENCH / "forms"))
        db.session.commit()


@dataclass(frozen=True)
class Staff:
    """A window worker with a window (agency) of their own, so the cases they open are theirs."""

    index: int
    username: str
    token: str


def create_staff(app: Any, count: int) -> list[Staff]:
    from app.extensions import db
    from app.models import Agency
    from app.services import users

    staff = []
    with app.app_context():
        shared = users.hash_password(PASSWORD)
        for i in range(count):
            agency = Agency(code=f"load-{i:03d}", name=f"負荷試験窓口{i:03d}", kind="other")
            db.session.add(agency)
            db.session.flush()
            user = users.create_user(
                f"load-{i:03d}",
                f"負荷試験職員{i:03d}",
                PASSWORD,
                "window_worker",
                agency_id=agency.id,
                password_hash=shared,
            )
            db.session.flush()
            staff.append(Staff(i, user.username, users.create_token(user, "load-bench")))
        db.session.commit()
    return staff


def create_coordinator(app: Any) -> None:
    """A member of 多機関協働, the lane of the timer bench's task (for the crash check's last step)."""
    from app.extensions import db
    from app.services import users

    with app.app_context():
        users.create_user(
            "load-coordinator", "負荷試験の推進員", PASSWORD, "coordinator", groups=["coordination"]
        )
        db.session.commit()


def start_timer_instances(app: Any, count: int, due: datetime, batch: int = 200) -> list[int]:
    """Start ``count`` instances of the timer bench, each waiting for a timer due at ``due``."""
    from app.extensions import db
    from app.services import instances

    ids: list[int] = []
    with app.app_context():
        for start in range(0, count, batch):
            for _ in range(min(batch, count - start)):
                instance = instances.start(TIMER_KEY, data={"due": due.isoformat()}, commit=False)
                ids.append(instance.id)
            db.session.commit()
        db.session.remove()
    return ids


def timer_fires(app: Any, ids: list[int]) -> dict[int, list[datetime]]:
    """When each instance's timer fired, from the ``process.timer`` audit rows (one expected)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import AuditEvent

    fired: dict[int, list[datetime]] = {i: [] for i in ids}
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.object_id, AuditEvent.at).where(
                AuditEvent.action == "process.timer", AuditEvent.object_type == "process_instance"
            )
        )
        for object_id, at in rows:
            if int(object_id) in fired:
                fired[int(object_id)].append(at)
        db.session.remove()
    return fired


def still_due(app: Any, ids: list[int]) -> int:
    """How many of these instances still have a timer set (not fired yet). Asked of the range
    the ids span, with the ids themselves checked only if others lie in it: the question is
    asked every few seconds while the workers fire, and ten thousand bound ids would cost the
    measurement its own share of the cores."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import ProcessInstance

    if not ids:
        return 0
    low, high = min(ids), max(ids)
    contiguous = high - low + 1 == len(set(ids))
    where = ProcessInstance.id.between(low, high) if contiguous else ProcessInstance.id.in_(ids)
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).where(where, ProcessInstance.next_timer_at.is_not(None))
        )
        db.session.remove()
    return int(count or 0)


def read_model_lag(app: Any, limit: float = 120.0) -> tuple[int, float]:
    """How many cases' supervision rows are pending now, and how long until none is (the timer
    worker takes them; -1 s if it did not within ``limit``)."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import ReadModelPending

    def count() -> int:
        with app.app_context():
            found = db.session.scalar(select(func.count()).select_from(ReadModelPending))
            db.session.remove()
        return int(found or 0)

    began = time.monotonic()
    behind = left = count()
    while left and time.monotonic() - began < limit:
        time.sleep(0.2)
        left = count()
    return behind, (time.monotonic() - began) if not left else -1.0


def percentile(values: list[float], share: float) -> float:
    """The ``share`` (0..1) percentile, 0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[round(share * 1000) - 1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "KASANE_ENV": "production",
        "SECRET_KEY": SECRET,
        "PYTHONUNBUFFERED": "1",
    }


class Gunicorn:
    """``gunicorn --workers 2`` on loopback, as ``make serve`` runs it."""

    def __init__(self, url: str, log: IO[str], workers: int = 2) -> None:
        self.url, self.log, self.workers = url, log, workers
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:app.gunicorn_conf"]
            + ["--workers", str(self.workers)]
            + ["--bind", f"127.0.0.1:{self.port}", "app:create_app()"],
            cwd=SERVED,
            env=_server_env(self.url),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as response:
                    if response.status == 200 and len(self.worker_pids()) == self.workers:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become healthy within 60 s")

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def kill_worker(self, pid: int) -> None:
        """``kill -9`` one worker; the master starts a new one."""
        os.kill(pid, signal.SIGKILL)

    def kill_master(self) -> None:
        """``kill -9`` the master, then its orphaned workers, as a service manager reclaiming the
        unit would (an orphan keeps the port for up to half its timeout otherwise)."""
        assert self.proc is not None
        orphans = self.worker_pids()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        for pid in orphans:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        for pid in orphans:
            while _state(pid) != "Z" and time.monotonic() < deadline:
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _state(pid: int) -> str:
    """The process's state letter; "Z" also for one that is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


class TimerWorker:
    """``flask --app app kasane worker`` with its default interval, as operators run it."""

    def __init__(self, url: str, log: IO[str]) -> None:
        self.url, self.log = url, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.exits: list[int] = []  # exit codes of runs that ended without being killed or stopped

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "kasane", "worker"],
            cwd=SERVED,
            env=_server_env(self.url),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def alive(self) -> bool:
        if self.proc is None:
            return False
        code = self.proc.poll()
        if code is None:
            return True
        self.exits.append(code)
        self.proc = None
        return False

    def kill(self) -> None:
        """``kill -9``; a worker found already gone has its exit code kept in ``exits``."""
        if self.proc is not None:
            if self.proc.poll() is not None:
                self.exits.append(self.proc.returncode)
            else:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


def exit_codes(workers: list[TimerWorker]) -> list[int]:
    """Exit codes of timer workers that ended by themselves (a killed or stopped one does not)."""
    for worker in workers:
        worker.alive()
    return [code for worker in workers for code in worker.exits]
