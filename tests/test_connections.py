"""A pooled PostgreSQL connection that died while it lay idle is replaced before a request uses
it; one taken back at once is used without asking the server first (app.connections)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app import connections
from app.extensions import db


def _use_the_pool() -> None:
    """A request that leaves its connection in the pool."""
    db.session.scalar(select(func.pg_backend_pid()))
    db.session.commit()
    db.session.remove()


def _terminate_pool(url: str) -> set[int]:
    """Stop the server side of every connection to the test database (the pool's): whichever
    the next request takes has died while it lay in the pool."""
    db.session.remove()
    parsed = make_url(url)
    with psycopg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, dbname=parsed.database
    ) as admin:
        rows = admin.execute(
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return {int(pid) for pid, _ in rows}


@pytest.fixture
def postgresql(ctx: Flask, database_url: str) -> Iterator[str]:
    if not database_url.startswith("postgresql"):
        pytest.skip("connections are checked on PostgreSQL only")
    yield database_url
    db.session.remove()
    db.engine.dispose()  # no dead connection is left for the tests that follow


def test_a_connection_that_died_while_idle_is_replaced(
    postgresql: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connections, "PING_AFTER_IDLE", 0.0)  # every connection has lain idle
    _use_the_pool()
    dead = _terminate_pool(postgresql)
    assert dead and db.session.scalar(select(func.pg_backend_pid())) not in dead  # no error


def test_a_connection_taken_back_at_once_is_not_asked(
    postgresql: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connections, "PING_AFTER_IDLE", 3600.0)
    _use_the_pool()
    dead = _terminate_pool(postgresql)
    # Not asked first: the dead connection is used and fails (what the check on idle ones
    # spares a request); the pool then drops it and the next request gets a new one.
    with pytest.raises(OperationalError):
        db.session.scalar(select(func.pg_backend_pid()))
    db.session.remove()  # the request ends
    assert dead
