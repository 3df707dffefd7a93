"""Referrals (つなぎ) between windows, with their status history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, one_of, utcnow
from app.models.users import Agency

STATUSES = ("sent", "accepted", "declined", "done", "withdrawn")


REFERRAL_STATUSES = ("sent", "accepted", "declined", "done")


class Referral(db.Model):
    """A case passed from one window to another: purpose, consent basis and status."""

    __tablename__ = "referral"
    __table_args__ = (one_of("status", REFERRAL_STATUSES),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("support_case.id"), index=True)
    from_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    to_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    purpose: Mapped[str | None] = mapped_column(Text)
    consent_basis: Mapped[str] = mapped_column(String(20))  # consent, none
    status: Mapped[str] = mapped_column(String(20), default="sent")
    decline_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    from_agency: Mapped[Agency | None] = relationship(foreign_keys=[from_agency_id])
    to_agency: Mapped[Agency] = relationship(foreign_keys=[to_agency_id])
    events: Mapped[list[ReferralEvent]] = relationship(order_by="ReferralEvent.id")


class ReferralEvent(db.Model):
    """One status change of a referral: when, by whom, why."""

    __tablename__ = "referral_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
