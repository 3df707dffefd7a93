"""How a request's transaction ends when the request itself did not end it.

A request that only read (a page, a listing, the rest of a completion after its commit) leaves a
transaction open; ending it with ROLLBACK makes psycopg deallocate every statement the connection
had prepared, so PostgreSQL parses and plans each statement of the next request again. Such a
transaction is committed instead: nothing was written, so a commit is the same as a rollback for
the data, and the prepared statements stay.

Whether a transaction wrote is decided at the connection, by every statement sent on it: anything
but a plain SELECT counts as a write (an INSERT, an UPDATE, a DELETE, a savepoint, text SQL), and
so does a change the session has not flushed yet. A transaction that wrote, or a request that ended
in an error, is rolled back as before: a half-done change is never committed here.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db

_WROTE = "kasane_wrote"


@event.listens_for(Engine, "before_cursor_execute")
def _note_write(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    if not conn.info.get(_WROTE) and statement.lstrip()[:6].upper() != "SELECT":
        note_write(conn)


def note_write(conn: Any) -> None:
    """Note that the connection's transaction wrote (also called for what ``sent_together``
    sends past SQLAlchemy)."""
    conn.info[_WROTE] = True


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _forget_write(conn: Any) -> None:
    if conn.invalidated:  # the connection broke: its record (and what it noted) is gone
        return
    conn.info.pop(_WROTE, None)


def end_reads(exc: BaseException | None) -> None:
    """Commit the session's transaction if it only read (see the module's text); otherwise leave
    it to the session's removal, which rolls it back."""
    session = db.session()
    if exc is not None or not session.in_transaction():
        return
    if session.new or session.dirty or session.deleted:
        return
    if session.connection().info.get(_WROTE):
        return
    try:
        session.commit()
    except SQLAlchemyError:  # the connection broke: nothing was written, nothing is lost
        session.rollback()


def init_app(app: Flask) -> None:
    """Registered after Flask-SQLAlchemy, so it runs before the session is removed."""
    app.teardown_appcontext(end_reads)
