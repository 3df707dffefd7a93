"""Social resources (社会資源), placements of people in them, and the register of gaps (不足)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class Resource(db.Model):
    """A place or partner: 居場所, 就労体験先, 住まい, 見守り."""

    __tablename__ = "resource"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    host_contact: Mapped[str | None] = mapped_column(String(200))
    partner_business: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Placement(db.Model):
    """A person matched with a resource through participation support, and how it lasts."""

    __tablename__ = "placement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("support_case.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"), index=True)
    matched_on: Mapped[date | None] = mapped_column(Date)
    started_on: Mapped[date | None] = mapped_column(Date)
    retention_status: Mapped[str | None] = mapped_column(String(20))
    ended_on: Mapped[date | None] = mapped_column(Date)


class ResourceGap(db.Model):
    """An unmet need found in a case, feeding 地域づくり and the 実施計画."""

    __tablename__ = "resource_gap"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unmet_need: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(
        String(40)
    )  # participation_matching, plan_conference, evaluation
    case_id: Mapped[int | None] = mapped_column(ForeignKey("support_case.id"), index=True)
    proposal: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
