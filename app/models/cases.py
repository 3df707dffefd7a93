"""Support cases: the unit a process instance runs for."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import JSONDoc, UTCDateTime, one_of, utcnow
from app.models.users import Agency

CASE_STATUSES = ("open", "interrupted", "closed")


class Case(db.Model):
    """A support case (ケース) for a person and household."""

    __tablename__ = "support_case"
    __table_args__ = (one_of("status", CASE_STATUSES),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    stage: Mapped[str] = mapped_column(String(40), default="intake")
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    act_items: Mapped[list] = mapped_column(JSONDoc, default=list)  # 号 tags (106条の4第2項)
    # Indexed: the access query looks up the cases an agency holds.
    intake_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    primary_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    intake: Mapped[dict] = mapped_column(JSONDoc, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cycle: Mapped[int] = mapped_column(Integer, default=1)
    # Kept at each plan version and each submission, so that supervisors' views find plans past
    # their review on one index instead of comparing every plan with every submission.
    review_due_on: Mapped[date | None] = mapped_column(Date, index=True)  # the latest plan's
    last_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the latest submission

    intake_agency: Mapped[Agency | None] = relationship(foreign_keys=[intake_agency_id])
    primary_agency: Mapped[Agency | None] = relationship(foreign_keys=[primary_agency_id])

    @property
    def received_on(self) -> date:
        """受付日: the date the intake form gives, else the day (in Japan) the case was recorded."""
        given = (self.intake or {}).get("received_on")
        try:
            return date.fromisoformat(given) if isinstance(given, str) else self._recorded_on()
        except ValueError:
            return self._recorded_on()

    def _recorded_on(self) -> date:
        return self.created_at.astimezone(ZoneInfo("Asia/Tokyo")).date()
