"""The person's consent (本人同意): scoped, dated, withdrawable."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import JSONDoc, UTCDateTime, utcnow


class Consent(db.Model):
    """Consent to share: which agencies, which kinds of information, for which purpose."""

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("support_case.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    agencies: Mapped[list] = mapped_column(JSONDoc, default=list)
    info_kinds: Mapped[list] = mapped_column(JSONDoc, default=list)
    purpose: Mapped[str | None] = mapped_column(Text)  # in the person's own words
    # Purposes as codes (``consent.PURPOSES``) the sharing steps are checked against; empty = all.
    purposes: Mapped[list] = mapped_column(JSONDoc, default=list, server_default="[]")
    given_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(40))  # intake, outreach, message
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def active(self) -> bool:
        return self.withdrawn_on is None
