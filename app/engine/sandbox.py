"""Sandbox processes the OS can stop, for designers' scripts, conditions and timer expressions.

RestrictedPython's guards refuse escapes and cap the sizes they know, but a C call they do not
know (``'x'.ljust(2 * 10**9).replace('x', 'yy')``) runs to its end, however long and however
large. So each evaluation runs in a small child process under kernel limits: a CPU timer
(ITIMER_PROF, with RLIMIT_CPU behind it) kills the child just past its CPU allowance, and an
address-space limit (RLIMIT_AS) turns an oversized allocation into MemoryError. A child that was
killed or ran out of memory is replaced; the web or worker process that asked goes on serving.

Children are started with ``subprocess`` (never forked from a process holding database
connections), in a session of their own, with almost no environment (no secrets) and only the
restricted runner imported, not the Flask application. Requests reach them pickled over a socket
pair; a reply may hold only plain data (JSON-like values, date, datetime, timedelta, Decimal,
UUID, set), and the parent unpickles it with an allow-list, so even a subverted child cannot make
the parent run code. Each process has its own pool, made on first use and anew after a fork.
"""

from __future__ import annotations

import atexit
import builtins
import io
import math
import os
import pickle
import resource
import signal
import socket
import subprocess
import sys
import threading
import types
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from app.config import ScriptLimits

Kind = Literal["cpu", "memory", "crash"]
# Python-level code is stopped at the limit by the restricted runner's own tracer, which names
# the line; the OS timer is the backstop for C code, so it allows a little more.
CPU_GRACE_SECONDS = 0.1
MAX_DEPTH = 200  # nesting of the data in a reply
_ROOT = Path(__file__).resolve().parents[2]
_ENVIRONMENT_KEPT = ("PATH", "LANG", "LC_ALL", "TZ")
_PLAIN = (type(None), bool, int, float, str, date, timedelta, Decimal, UUID)
_SAFE_GLOBALS = frozenset({
    ("datetime", "date"), ("datetime", "datetime"), ("datetime", "timedelta"),
    ("datetime", "timezone"), ("decimal", "Decimal"), ("uuid", "UUID"), ("uuid", "SafeUUID"),
})  # fmt: skip
_PROTOCOL = pickle.HIGHEST_PROTOCOL


class LimitExceeded(Exception):
    """The sandbox process was stopped: out of CPU time or memory, or it crashed."""

    def __init__(self, kind: Kind) -> None:
        super().__init__(kind)
        self.kind = kind


class NotPlainData(Exception):
    """The code produced a value that may not leave the sandbox (nor be kept in task data)."""

    def __init__(self, type_name: str) -> None:
        super().__init__(type_name)
        self.type_name = type_name


class _Gone(Exception):
    """The child had already exited before it got the request (nothing ran)."""


class _Child:
    """One sandbox process and the parent's end of its socket."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-I", __file__, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env={k: os.environ[k] for k in _ENVIRONMENT_KEPT if k in os.environ},
                cwd="/",
                start_new_session=True,  # a Ctrl-C meant for the server is not the child's
            )
        self.conn = Connection(ours.detach())

    def call(self, message: bytes, wall_seconds: float) -> bytes:
        try:
            self.conn.send_bytes(message)
        except OSError as exc:
            raise _Gone from exc
        try:
            if self.conn.poll(wall_seconds):
                return self.conn.recv_bytes()
        except (EOFError, OSError):
            raise LimitExceeded(_kind(self.process.wait())) from None
        raise LimitExceeded("cpu")  # no answer in many times its CPU allowance: stopped or stuck

    def stop(self) -> None:
        self.conn.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def _kind(return_code: int) -> Kind:
    killed_for_time = (-signal.SIGPROF, -signal.SIGXCPU, -signal.SIGKILL)
    return "cpu" if return_code in killed_for_time else "crash"


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} may not come out of a sandbox")


class Pool:
    """The sandbox processes of one process: at most ``size`` at work at once, each reused."""

    def __init__(self, size: int = 2) -> None:
        self.pid = os.getpid()
        self.started = 0  # processes started, replacements included
        self.replaced = 0  # processes stopped after a kill, a crash or running out of memory
        self._idle: list[_Child] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)

    def pids(self) -> list[int]:
        """The idle sandbox processes (for tests and operators)."""
        with self._lock:
            return [child.process.pid for child in self._idle]

    def run(self, request: Any, limits: ScriptLimits) -> Any:
        """Have a sandbox process handle ``request`` under ``limits``; its plain reply."""
        message = pickle.dumps((request, limits.cpu_seconds, limits.memory_mb), _PROTOCOL)
        wall_seconds = limits.cpu_seconds * 5 + 5
        with self._slots:
            for attempt in (1, 2):
                child = self._take()
                try:
                    status, value = _PlainUnpickler(
                        io.BytesIO(child.call(message, wall_seconds))
                    ).load()
                except _Gone:
                    self._replace(child)
                    if attempt == 2:
                        raise LimitExceeded("crash") from None
                    continue
                except pickle.UnpicklingError:
                    self._replace(child)
                    raise LimitExceeded("crash") from None
                except BaseException:
                    self._replace(child)
                    raise
                break
            if status == "memory":  # the child replied, then exited: its heap is not to be trusted
                self._replace(child)
                raise LimitExceeded("memory")
            with self._lock:
                self._idle.append(child)
        if status == "unplain":
            raise NotPlainData(value)
        return value

    def _take(self) -> _Child:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self.started += 1
        return _Child()

    def _replace(self, child: _Child) -> None:
        child.stop()
        fresh = _Child()  # started now, so it has booted by the time it is needed
        with self._lock:
            self.replaced += 1
            self.started += 1
            self._idle.append(fresh)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            child.stop()

    def abandon(self) -> None:
        """In a forked copy of the owning process: let go of the owner's children untouched."""
        for child in self._idle:
            child.conn.close()
        self._idle = []


_pool: Pool | None = None
_pool_lock = threading.Lock()


def pool() -> Pool:
    """This process's pool, made on first use (and anew in a forked child)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool.pid != os.getpid():
            _pool = Pool()
        return _pool


def run(request: Any, limits: ScriptLimits) -> Any:
    """Handle ``request`` in one of this process's sandbox processes (see ``Pool.run``)."""
    return pool().run(request, limits)


def _after_fork_in_child() -> None:
    global _pool, _pool_lock
    _pool_lock = threading.Lock()  # another thread may have held it at the fork
    if _pool is not None:
        _pool.abandon()
    _pool = None


def _close_at_exit() -> None:
    if _pool is not None and _pool.pid == os.getpid():
        _pool.close()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_close_at_exit)


# The sandbox process


def serve(fd: int, handle: Callable[[Any], Any]) -> None:
    """A sandbox process's loop: one request at a time, each under the OS limits."""
    conn = Connection(fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGPROF, signal.SIG_DFL)  # its default action ends the process
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    out_of_memory = pickle.dumps(("memory", None), _PROTOCOL)
    while True:
        try:
            request, cpu_seconds, memory_mb = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):  # the parent closed its end, or died (a killed worker)
            return
        recycle = False
        _limit(cpu_seconds, memory_mb)
        try:
            reply = pickle.dumps(("ok", _plain(handle(request))), _PROTOCOL)
        except MemoryError:
            reply, recycle = out_of_memory, True
        except NotPlainData as exc:
            reply = pickle.dumps(("unplain", exc.type_name), _PROTOCOL)
        finally:
            _unlimit()
        try:
            conn.send_bytes(reply)
        except OSError:  # the parent died while this ran: nobody is waiting for the answer
            return
        if recycle:
            return


def _limit(cpu_seconds: float, memory_mb: int) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    # Whole seconds of the process's total: the kernel's last word if the timer were missed.
    _set_soft(resource.RLIMIT_CPU, math.ceil(used + cpu_seconds + CPU_GRACE_SECONDS) + 1)
    _set_soft(resource.RLIMIT_AS, _mapped_bytes() + memory_mb * 1024 * 1024)
    signal.setitimer(signal.ITIMER_PROF, cpu_seconds + CPU_GRACE_SECONDS)


def _unlimit() -> None:
    signal.setitimer(signal.ITIMER_PROF, 0)
    _set_soft(resource.RLIMIT_AS, resource.RLIM_INFINITY)


def _set_soft(which: int, soft: int) -> None:
    # The hard limit stays: lowering it could not be undone for the next request.
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        soft = hard if soft == resource.RLIM_INFINITY else min(soft, hard)
    resource.setrlimit(which, (soft, hard))


def _mapped_bytes() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def _plain(value: Any, depth: int = 0) -> Any:
    """``value`` itself if it is plain data all the way down; NotPlainData otherwise."""
    if depth > MAX_DEPTH:
        raise NotPlainData("depth")
    if isinstance(value, datetime):
        if value.tzinfo is not None and type(value.tzinfo) is not timezone:
            raise NotPlainData(type(value.tzinfo).__name__)
    elif isinstance(value, dict):
        for key, item in value.items():
            _plain(key, depth + 1)
            _plain(item, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _plain(item, depth + 1)
    elif not isinstance(value, _PLAIN):
        raise NotPlainData(type(value).__name__)
    return value


def describe(exc: BaseException | None) -> tuple[str, str, str | None] | None:
    """An exception as plain values, to cross back to the parent (see ``remade``)."""
    if exc is None:
        return None
    name = getattr(exc, "name", None) if isinstance(exc, NameError) else None
    return (type(exc).__name__, str(exc), name)


def remade(description: tuple[str, str, str | None] | None) -> Exception | None:
    """A builtin exception like the one ``describe`` saw: its class, text and NameError's name."""
    if description is None:
        return None
    type_name, text, name = description
    kind = getattr(builtins, type_name, None)
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        return None
    try:
        exc = kind(text)
    except Exception:  # noqa: BLE001 - a cause that cannot be remade is left out
        return None
    if isinstance(exc, NameError):
        exc.name = name
    return exc


def _bootstrap(fd: int) -> None:
    """Become a sandbox process: import the restricted runner alone, then serve."""
    sys.path.insert(0, str(_ROOT))
    # app/__init__ imports Flask and every extension (over a second and 60 MB per process); the
    # sandbox needs one module of app.engine, so the packages are entered without their __init__.
    for name in ("app", "app.engine"):
        package = types.ModuleType(name)
        package.__path__ = [str(_ROOT.joinpath(*name.split(".")))]
        sys.modules[name] = package
    from app.engine import sandbox, scripting

    sandbox.serve(fd, scripting.run_request)


if __name__ == "__main__":
    _bootstrap(int(sys.argv[1]))
