"""Writes sent together (one pipeline on PostgreSQL, one by one on SQLite) land in order in the
session's transaction, fill the columns' defaults, check the rows a statement must change, and
fail as SQLAlchemy would: nothing of them kept, the error SQLAlchemy's own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.models import AuditEvent, Setting
from app.sent_together import Together

_AUDIT = insert(AuditEvent.__table__).inline()
_TABLE = AuditEvent.__table__
_RENAME = (
    update(_TABLE).where(_TABLE.c.action == bindparam("b_from")).values(action=bindparam("b_to"))
)
_SETTING = insert(Setting.__table__).inline()
# A statement giving values of its own besides those of each row.
_DONE = (
    update(_TABLE)
    .where(_TABLE.c.action == bindparam("b_action"), _TABLE.c.outcome == "ok")
    .values(outcome="done", detail={"by": "statement"})
)


def _row(action: str, **more: object) -> dict[str, object]:
    return {"actor_name": "system", "action": action, "object_type": "test"} | more


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_statements_run_in_order_with_the_columns_defaults(ctx: Flask) -> None:
    together = Together()
    together.add(_AUDIT, [_row("a.one", detail={"n": 1}), _row("a.two", detail={"n": 2})])
    together.add(_RENAME, [{"b_from": "a.one", "b_to": "a.first"}], expect=1)
    together.add(_AUDIT, [])  # nothing to send: nothing sent
    together.send(db.session)
    db.session.commit()
    rows = db.session.execute(
        select(AuditEvent.action, AuditEvent.outcome, AuditEvent.detail, AuditEvent.at).order_by(
            AuditEvent.id
        )
    ).all()
    assert [(r.action, r.outcome, r.detail) for r in rows] == [
        ("a.first", "ok", {"n": 1}),  # the UPDATE saw the INSERT before it
        ("a.two", "ok", {"n": 2}),
    ]
    # ``at`` has a default made by a function: each row got one.
    assert all(r.at is not None for r in rows)
    assert together.queued == []


def test_a_statements_own_values_go_with_each_rows(ctx: Flask) -> None:
    together = Together()
    together.add(_AUDIT, [_row("f.one"), _row("f.two")])
    together.add(_DONE, [{"b_action": "f.one"}], expect=1)
    together.send(db.session)
    db.session.commit()
    rows = db.session.execute(
        select(AuditEvent.action, AuditEvent.outcome, AuditEvent.detail).order_by(AuditEvent.id)
    ).all()
    assert [tuple(r) for r in rows] == [
        ("f.one", "done", {"by": "statement"}),
        ("f.two", "ok", {}),
    ]


def test_a_statement_changing_other_rows_than_expected_fails_the_whole(ctx: Flask) -> None:
    together = Together()
    together.add(_AUDIT, [_row("b.one")])
    together.add(_RENAME, [{"b_from": "b.nowhere", "b_to": "b.x"}], expect=1)
    with pytest.raises(StaleDataError):
        together.send(db.session)
    db.session.rollback()
    assert _actions() == []


def test_a_lost_race_is_stale_even_when_a_later_statement_fails_for_it(ctx: Flask) -> None:
    db.session.add(Setting(key="together.race", value={"v": 1}))
    db.session.commit()
    together = Together()
    # The other transaction got there first: the rename finds nothing, and the row it had
    # written is there to collide with.
    together.add(_RENAME, [{"b_from": "g.nowhere", "b_to": "g.x"}], expect=1)
    together.add(_SETTING, [{"key": "together.race", "value": {"v": 2}}])
    with pytest.raises(StaleDataError):
        together.send(db.session)
    db.session.rollback()


def test_a_database_error_is_sqlalchemys_and_keeps_nothing(ctx: Flask) -> None:
    db.session.add(Setting(key="together.test", value={"v": 1}))
    db.session.commit()
    together = Together()
    together.add(_AUDIT, [_row("c.one")])
    together.add(_SETTING, [{"key": "together.test", "value": {"v": 2}}])  # the key is taken
    together.add(_AUDIT, [_row("c.two")])
    with pytest.raises(IntegrityError):
        together.send(db.session)
    db.session.rollback()
    assert _actions() == []
    # The session goes on: the connection is usable after the failed transaction.
    assert db.session.scalar(select(func.count()).select_from(Setting)) >= 1


def test_only_plain_statements_are_sent_together(ctx: Flask) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs each statement through SQLAlchemy, RETURNING included")
    together = Together()
    together.add(insert(_TABLE).returning(_TABLE.c.id), [_row("d.one")])
    with pytest.raises(ValueError):
        together.send(db.session)
    db.session.rollback()


def test_a_write_sent_together_is_not_committed_as_a_read(ctx: Flask) -> None:
    from app import transactions

    together = Together()
    together.add(_AUDIT, [_row("e.one", at=datetime.now(UTC))])
    together.send(db.session)
    transactions.end_reads(None)  # the request's end: a transaction that wrote is not committed
    db.session.rollback()
    assert _actions() == []


def test_a_loaded_objects_changed_columns_are_written_once(ctx: Flask) -> None:
    db.session.add(Setting(key="together.loaded", value={"v": 1}, updated_by="a"))
    db.session.commit()
    setting = db.session.get(Setting, "together.loaded")
    before = setting.updated_at
    setting.value = {"v": 2}
    setting.updated_by = "b"
    together = Together()
    together.update_loaded(setting)
    assert not db.session.is_modified(setting)  # the flush has nothing left to write
    together.send(db.session)
    db.session.commit()
    db.session.expire_all()
    again = db.session.get(Setting, "together.loaded")
    assert (again.value, again.updated_by) == ({"v": 2}, "b")
    assert again.updated_at > before  # the column's onupdate, filled in as the flush would


def test_a_new_object_or_a_sql_value_is_left_to_the_flush(ctx: Flask) -> None:
    fresh = Setting(key="together.new", value={"v": 1})
    db.session.add(fresh)
    together = Together()
    together.update_loaded(fresh)
    assert together.queued == []
    db.session.commit()
    fresh.updated_by = func.lower("X")
    together.update_loaded(fresh)
    assert together.queued == [] and fresh in db.session.dirty
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Setting, "together.new").updated_by == "x"
