"""Prometheus metrics: what operators graph and alert on. Web processes, the timer worker and the
services record here; ``/metrics`` exposes them. Under gunicorn, set ``PROMETHEUS_MULTIPROC_DIR``
so that every worker's figures are summed (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as multiprocess_mode

REQUEST_SECONDS = Histogram(
    "kasane_request_seconds",
    "Time to answer a request, by endpoint",
    ["endpoint", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
COMPLETIONS = Counter("kasane_task_completions_total", "User tasks completed", ["element"])
ERRORS = Counter("kasane_errors_total", "Failures answered to a user, by code", ["code"])
TIMER_LAG_SECONDS = Histogram(
    "kasane_timer_lag_seconds",
    "How late a timer fired after its due time",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
)
WORKER_ROUNDS = Counter(
    "kasane_worker_rounds_total", "Timer worker rounds, by outcome", ["outcome"]
)
TIMERS_FIRED = Counter("kasane_timers_fired_total", "Instances whose due timers were run")
READ_MODEL_REWRITES = Counter(
    "kasane_read_model_rewrites_total",
    "Pending rewrites of cases' supervision rows taken by the timer worker",
)

CONTENT_TYPE = CONTENT_TYPE_LATEST


def exposition() -> bytes:
    """The text format of every metric (of all worker processes in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess_mode.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()
