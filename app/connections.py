"""PostgreSQL connections are checked before use only when they have lain idle.

A pooled connection can have died while it waited (the server restarted, a proxy dropped it):
using it would fail the request. Asking the server first (``SELECT 1``) on every checkout, as
SQLAlchemy's ``pool_pre_ping`` does, costs every request a round trip; a gunicorn worker under load
takes the same connection back within milliseconds, when it cannot have died unnoticed. So a
connection is asked only after ``PING_AFTER_IDLE`` seconds in the pool; one that does not answer is
replaced (the pool connects anew) and the request goes on."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

from app.extensions import db

PING_AFTER_IDLE = 1.0  # seconds
_IDLE_SINCE = "kasane_idle_since"


def init_app(app: Flask) -> None:
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "postgresql":
                ping_when_idle(engine)


def ping_when_idle(engine: Engine) -> None:
    dialect = engine.dialect

    def checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - any failure: the pool makes a new connection
            raise DisconnectionError("the pooled connection did not answer") from exc

    event.listen(engine.pool, "checkin", checked_in)
    event.listen(engine.pool, "checkout", checked_out)
