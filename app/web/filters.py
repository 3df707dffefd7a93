"""Jinja filters: dates and times shown in Japan time."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask

JST = ZoneInfo("Asia/Tokyo")


def jst_date(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(JST).date()
    return f"{value.year}年{value.month}月{value.day}日"


def jst_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(JST)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def init_app(app: Flask) -> None:
    app.add_template_filter(jst_date)
    app.add_template_filter(jst_datetime)
