"""Jinja filters: dates and times shown in Japan time, written the way the page's language writes them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date
from flask import Flask, url_for
from flask_babel import get_locale, gettext
from markupsafe import Markup, escape

JST = ZoneInfo("Asia/Tokyo")


def _locale() -> Locale:
    return get_locale() or Locale("ja")


def jst_date(value: datetime | date | None) -> str:
    """``2024年1月2日`` in Japanese, ``January 2, 2024`` in English (CLDR's long date)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(JST).date()
    return _long_date(value, _locale())


@lru_cache(maxsize=4096)
def _long_date(value: date, locale: Locale) -> str:
    """CLDR's long date (a list repeats the same few dates: each is written once)."""
    return format_date(value, "long", locale=locale)


def iso_date(value: str | None) -> str:
    """A stored ISO date (``2026-04-06``) written as the page's language writes dates."""
    try:
        return jst_date(date.fromisoformat(value or ""))
    except ValueError:
        return value or ""


def shown(value: object) -> str:
    """A value of a record as the page shows it: dates in the page's language, the rest as text."""
    if isinstance(value, date):
        return jst_date(value)
    return "" if value is None else str(value)


def jst_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(JST)
    return f"{_long_date(local.date(), _locale())} {local:%H:%M}"


def person_options(people: Iterable[Any], picked: str | None = None) -> Markup:
    """``<option>``s of people by name, their username the value (a picker of hundreds of
    names is written in one pass, not one template step per name)."""
    return Markup(
        "".join(
            f'<option value="{escape(person.username)}"'
            f"{' selected' if person.username == picked else ''}>{escape(person.display_name)}"
            "</option>"
            for person in people
        )
    )


def url_maker(endpoint: str, name: str) -> Callable[[object], str]:
    """The address of ``endpoint`` for any value of its one argument ``name``, routed once: a list
    of hundreds of rows links each row without asking the router each time."""
    marker = 987654321
    head, tail = url_for(endpoint, **{name: marker}).split(str(marker), 1)
    return lambda value: f"{head}{value}{tail}"


def punctuation() -> dict[str, str]:
    """Separators that differ between Japanese and English (、 / ,  ： / :  〜 / –)."""
    return {"sep": gettext("、"), "colon": gettext("："), "range_sep": gettext("〜")}


def init_app(app: Flask) -> None:
    app.add_template_filter(jst_date)
    app.add_template_filter(jst_datetime)
    app.add_template_filter(iso_date)
    app.add_template_filter(shown)
    app.add_template_filter(person_options)
    app.context_processor(punctuation)
    app.add_template_global(url_maker)
