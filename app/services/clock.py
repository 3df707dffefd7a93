"""The municipality's calendar day: dates people record (受付日, 同意日, 撤回日) are days in Japan,
not the server's UTC day."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Tokyo")


def today() -> date:
    """Today in Japan (09:00 JST is still yesterday in UTC before midnight UTC, and vice versa)."""
    return datetime.now(LOCAL).date()
