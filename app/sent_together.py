"""Writes sent to the database together, in the session's transaction.

A completion ends with a handful of writes that nothing reads back in the request (the form's
submission, the instance's new state, its new work items, path steps, the audit row). Sent one by
one, each costs a round trip to PostgreSQL and SQLAlchemy's work around a statement, together more
than the engine's step itself. On PostgreSQL (psycopg) they go out in one pipeline: one round trip
for all of them, each statement compiled once per process. Elsewhere (SQLite) they run one after
another on the session's connection. Either way they run in order, in the session's transaction,
and a statement expected to change a given number of rows that changed another fails the whole
(``StaleDataError``, which ``instances.saving`` turns into a Conflict), even when a later statement
then failed for it (a lost race: the other transaction's rows are there); any other database error
comes as SQLAlchemy's own exception, as if the statement had been run through it.

Only plain statements go here: no RETURNING, no expanding ``IN`` lists; a column default must be a
constant or a function of no arguments (it is filled in here, as SQLAlchemy would).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import Connection, bindparam, inspect, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql import ClauseElement, Executable

from app import transactions


@dataclass
class _Queued:
    statement: Executable
    rows: list[dict[str, Any]]
    expect: int | None  # rows it must change (None: not checked)


@dataclass
class _Compiled:
    sql: str
    fixed: dict[str, Any]  # the values the statement itself gives (``values(status="done")``)
    processors: dict[str, Any]
    defaults: list[tuple[str, Any]]  # (parameter, its column's default) for columns not given


@dataclass
class Together:
    """Statements waiting to be sent together (``send``)."""

    queued: list[_Queued] = field(default_factory=list)

    def add(
        self, statement: Executable, rows: list[dict[str, Any]], *, expect: int | None = None
    ) -> None:
        """Queue ``statement`` with one parameter set a row (nothing for no rows); ``expect``: how
        many rows it must change in all."""
        if rows:
            self.queued.append(_Queued(statement, rows, expect))

    def update_loaded(self, obj: Any) -> None:
        """Queue the UPDATE of what changed in a loaded object's columns (by its primary key);
        the object shows the new values from now on as if loaded so, so the flush does not write
        them again. Its relationships are left to the flush, and so is all of an object not yet
        in the database or given a SQL expression for a value."""
        state = inspect(obj)
        if state.identity is None:
            return
        changed: dict[str, tuple[str, Any]] = {}
        for prop in state.mapper.column_attrs:
            added = state.attrs[prop.key].history.added
            if added:
                changed[prop.columns[0].key] = (prop.key, added[0])
        if not changed or any(isinstance(v, ClauseElement) for _, v in changed.values()):
            return
        table = state.mapper.local_table
        keys = tuple(sorted(changed))
        statement = _UPDATES.get((table, keys))
        if statement is None:
            (primary,) = table.primary_key.columns
            statement = (
                update(table)
                .where(primary == bindparam("b_primary_key"))
                .values({key: bindparam(f"b_{key}") for key in keys})
            )
            _UPDATES[(table, keys)] = statement
        (identity,) = state.identity
        row = {"b_primary_key": identity} | {f"b_{key}": changed[key][1] for key in keys}
        self.add(statement, [row], expect=1)
        for attribute, value in changed.values():
            set_committed_value(obj, attribute, value)

    def send(self, session: Session) -> None:
        """Run what is queued, in order, in the session's transaction (not flushed first)."""
        queued, self.queued = self.queued, []
        if not queued:
            return
        connection = session.connection()
        if connection.dialect.driver == "psycopg":
            _pipelined(connection, queued)
            return
        for entry in queued:
            result = connection.execute(
                entry.statement, entry.rows if len(entry.rows) > 1 else entry.rows[0]
            )
            _check(entry, result.rowcount)


_UPDATES: dict[tuple[Any, tuple[str, ...]], Executable] = {}
_COMPILED: dict[tuple[int, tuple[str, ...]], tuple[Executable, _Compiled]] = {}


def _compiled(connection: Connection, statement: Executable, keys: tuple[str, ...]) -> _Compiled:
    """The statement's SQL for these parameter names (an INSERT names only the columns given),
    compiled once per process. The statements are module constants: the entry keeps it alive."""
    key = (id(statement), keys)
    found = _COMPILED.get(key)
    if found is not None and found[0] is statement:
        return found[1]
    compiled = statement.compile(dialect=connection.dialect, column_keys=list(keys))
    if compiled.returning or compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError(f"not a plain statement: {compiled.string}")
    defaults = []
    for column, default in [
        *((column, column.default) for column in compiled.insert_prefetch),
        *((column, column.onupdate) for column in compiled.update_prefetch),
    ]:
        if column.key in keys or default is None:
            continue
        if not (default.is_scalar or default.is_callable):
            raise ValueError(f"a default sent together must be a value or a function: {column}")
        defaults.append((column.key, default))
    fixed = {
        name: value
        for name, value in compiled.construct_params(_check=False).items()
        if not compiled.binds[name].required
    }
    result = _Compiled(compiled.string, fixed, dict(compiled._bind_processors), defaults)
    _COMPILED[key] = (statement, result)
    return result


def _parameters(compiled: _Compiled, row: dict[str, Any]) -> dict[str, Any]:
    values = compiled.fixed | row
    for name, default in compiled.defaults:
        values[name] = default.arg(None) if default.is_callable else default.arg
    for name, process in compiled.processors.items():
        if name in values:
            values[name] = process(values[name])
    return values


def _pipelined(connection: Connection, queued: list[_Queued]) -> None:
    raw = connection.connection.driver_connection
    transactions.note_write(connection)
    sent: list[tuple[_Queued, Any]] = []
    sql, parameters = "", []
    try:
        with raw.pipeline():
            for entry in queued:
                compiled = _compiled(connection, entry.statement, tuple(entry.rows[0]))
                sql = compiled.sql
                parameters = [_parameters(compiled, row) for row in entry.rows]
                cursor = raw.cursor()
                if len(parameters) == 1:
                    cursor.execute(sql, parameters[0])
                else:
                    cursor.executemany(sql, parameters)
                sent.append((entry, cursor))
    except psycopg.Error as exc:
        # A statement before the failed one that changed fewer rows than it must is why the
        # later one failed (a lost race: the other transaction's rows are there): a conflict.
        for entry, cursor in sent:
            if cursor.rowcount >= 0:
                try:
                    _check(entry, cursor.rowcount)
                except StaleDataError as stale:
                    raise stale from exc
        invalidated = connection.dialect.is_disconnect(exc, raw, None)
        if invalidated:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            sql,
            parameters,
            exc,
            psycopg.Error,
            connection_invalidated=invalidated,
            dialect=connection.dialect,
        ) from exc
    for entry, cursor in sent:
        _check(entry, cursor.rowcount)
        cursor.close()


def _check(entry: _Queued, changed: int) -> None:
    if entry.expect is not None and changed != entry.expect:
        raise StaleDataError(
            f"{entry.expect - changed} of {entry.expect} rows were changed by another transaction"
        )
