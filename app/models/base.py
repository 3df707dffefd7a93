"""Shared column helpers for the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, DateTime, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONDoc = JSON().with_variant(JSONB(), "postgresql")


def one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    """A CHECK that the database itself refuses any value outside ``values`` (named
    ``ck_<table>_<column>`` by the naming convention)."""
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


class days_after(FunctionElement):  # noqa: N801 - reads as SQL
    """SQL: a UTC timestamp column (or a date column, at its midnight UTC) plus a whole number of
    days, on both databases (``make_interval`` on PostgreSQL, ``datetime()`` on SQLite)."""

    type = UTCDateTime()
    inherit_cache = True
    name = "days_after"


@compiles(days_after, "postgresql")
def _days_after_pg(element: days_after, compiler: Any, **kw: Any) -> str:
    moment, days = list(element.clauses)
    return (
        f"(CAST({compiler.process(moment, **kw)} AS TIMESTAMP WITHOUT TIME ZONE) AT TIME ZONE 'UTC'"
        f" + make_interval(days => {compiler.process(days, **kw)}))"
    )


@compiles(days_after, "sqlite")
def _days_after_sqlite(element: days_after, compiler: Any, **kw: Any) -> str:
    moment, days = list(element.clauses)
    return (
        f"strftime('%Y-%m-%d %H:%M:%f', {compiler.process(moment, **kw)}, "
        f"'+' || {compiler.process(days, **kw)} || ' days')"
    )


class local_day(FunctionElement):  # noqa: N801 - reads as SQL
    """SQL: the calendar day in Japan of a UTC timestamp column, on both databases (Japan keeps
    no summer time: nine hours ahead of UTC all year)."""

    type = Date()
    inherit_cache = True
    name = "local_day"


class month_start(FunctionElement):  # noqa: N801 - reads as SQL
    """SQL: the first day of the month of a date."""

    type = Date()
    inherit_cache = True
    name = "month_start"


@compiles(month_start, "postgresql")
def _month_start_pg(element: month_start, compiler: Any, **kw: Any) -> str:
    (day,) = list(element.clauses)
    return f"CAST(date_trunc('month', {compiler.process(day, **kw)}) AS DATE)"


@compiles(month_start, "sqlite")
def _month_start_sqlite(element: month_start, compiler: Any, **kw: Any) -> str:
    (day,) = list(element.clauses)
    return f"date({compiler.process(day, **kw)}, 'start of month')"


@compiles(local_day, "postgresql")
def _local_day_pg(element: local_day, compiler: Any, **kw: Any) -> str:
    (moment,) = list(element.clauses)
    return f"CAST(timezone('Asia/Tokyo', {compiler.process(moment, **kw)}) AS DATE)"


@compiles(local_day, "sqlite")
def _local_day_sqlite(element: local_day, compiler: Any, **kw: Any) -> str:
    (moment,) = list(element.clauses)
    return f"date({compiler.process(moment, **kw)}, '+9 hours')"
