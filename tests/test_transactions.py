"""A request's transaction that only read is committed at its end (psycopg keeps the prepared
statements then); one that wrote, has unflushed changes, or ended in an error is not."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, insert, select

from app import transactions
from app.extensions import db
from app.models import AuditEvent, Setting


def _audit_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_a_transaction_that_only_read_is_committed(ctx: Flask) -> None:
    db.session.scalar(select(func.count()).select_from(Setting))
    assert db.session().in_transaction()
    transactions.end_reads(None)
    assert not db.session().in_transaction()


def test_a_transaction_that_wrote_is_left_to_the_rollback(ctx: Flask) -> None:
    db.session.execute(
        insert(AuditEvent).values(
            actor_name="system", action="t", object_type="t", outcome="ok", detail={}
        )
    )
    transactions.end_reads(None)
    assert db.session().in_transaction()  # not committed here
    db.session.rollback()  # what the session's removal does
    assert _audit_rows() == 0


def test_unflushed_changes_and_errors_are_left_to_the_rollback(ctx: Flask) -> None:
    db.session.add(AuditEvent(actor_name="system", action="t", object_type="t", detail={}))
    transactions.end_reads(None)
    assert db.session().in_transaction() and db.session.new
    db.session.rollback()
    db.session.scalar(select(func.count()).select_from(Setting))
    transactions.end_reads(RuntimeError("the request failed"))
    assert db.session().in_transaction()
    db.session.rollback()
    assert _audit_rows() == 0


def test_prepared_statements_outlive_a_read_only_request(ctx: Flask) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("psycopg's prepared statements (PostgreSQL) are what this keeps")
    for _ in range(6):  # psycopg prepares a statement on its fifth run
        db.session.scalar(select(func.count()).select_from(Setting))
    # Asked of the connection itself: the pool may hand the session another one next.
    raw = db.session.connection().connection.dbapi_connection

    def prepared() -> int:
        with raw.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            return int(cursor.fetchone()[0])

    transactions.end_reads(None)
    assert prepared() >= 1
    raw.rollback()  # a rollback drops them: what every read-only request used to do
    assert prepared() == 0
    raw.rollback()
