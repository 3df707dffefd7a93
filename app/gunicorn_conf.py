"""gunicorn settings for Kasane (``gunicorn -c python:app.gunicorn_conf 'app:create_app()'``).

Once a worker has loaded the application, everything it holds then (modules, the SQL metadata,
templates' machinery: some 150,000 objects) is moved out of the garbage collector's way with
``gc.freeze()``: they live as long as the worker, and a full collection that walked them all
paused a request for about 75 ms every few requests."""

from __future__ import annotations

import gc
from typing import Any


def post_worker_init(worker: Any) -> None:
    """gunicorn hook: the worker has loaded the application."""
    gc.freeze()
