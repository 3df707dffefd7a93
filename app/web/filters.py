"""Jinja filters: dates and times shown in Japan time, written the way the page's language writes them."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date
from flask import Flask
from flask_babel import get_locale, gettext

JST = ZoneInfo("Asia/Tokyo")


def _locale() -> Locale:
    return get_locale() or Locale("ja")


def jst_date(value: datetime | date | None) -> str:
    """``2024年1月2日`` in Japanese, ``January 2, 2024`` in English (CLDR's long date)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(JST).date()
    return format_date(value, "long", locale=_locale())


def jst_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(JST)
    return f"{format_date(local.date(), 'long', locale=_locale())} {local:%H:%M}"


def punctuation() -> dict[str, str]:
    """Separators that differ between Japanese and English (、 / ,  ： / :  〜 / –)."""
    return {"sep": gettext("、"), "colon": gettext("："), "range_sep": gettext("〜")}


def init_app(app: Flask) -> None:
    app.add_template_filter(jst_date)
    app.add_template_filter(jst_datetime)
    app.context_processor(punctuation)
