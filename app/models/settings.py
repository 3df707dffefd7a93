"""Municipality settings (per deployment): timings and optional steps of the support flow."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import JSONDoc, UTCDateTime, utcnow


class Setting(db.Model):
    """One named setting; unknown keys fall back to the defaults in services.settings."""

    __tablename__ = "municipality_setting"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[object] = mapped_column(JSONDoc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(120))
