"""Meetings: the 重層的支援会議 (with consent) and the 支援会議 (106条の6, without consent)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import JSONDoc, UTCDateTime, utcnow

# The legal basis is a fixed attribute of each kind; only the label a municipality uses may change.
LEGAL_BASIS = {
    "plan_conference": "重層的支援体制整備事業（社会福祉法第106条の4）・本人同意に基づく情報共有",
    "support_council": "社会福祉法第106条の6（支援会議・構成員の守秘義務）",
}
DEFAULT_LABELS = {"plan_conference": "重層的支援会議", "support_council": "支援会議"}


class Meeting(db.Model):
    """One held meeting of either kind."""

    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    label: Mapped[str] = mapped_column(String(100))
    held_on: Mapped[date] = mapped_column(Date)
    chair: Mapped[str | None] = mapped_column(String(200))
    non_public: Mapped[bool] = mapped_column(Boolean, default=False)
    # 支援会議 material: readable by pledged members until material_until, never in the case view.
    material: Mapped[dict | None] = mapped_column(JSONDoc)
    material_until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attendees: Mapped[list[MeetingAttendee]] = relationship(back_populates="meeting")
    cases: Mapped[list[MeetingCase]] = relationship(back_populates="meeting")

    @property
    def legal_basis(self) -> str:
        return LEGAL_BASIS[self.kind]


class MeetingAttendee(db.Model):
    """Who attended, and whether they signed the confidentiality pledge (支援会議)."""

    __tablename__ = "meeting_attendee"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    name: Mapped[str] = mapped_column(String(200))
    pledge_signed: Mapped[bool] = mapped_column(Boolean, default=False)
    pledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    meeting: Mapped[Meeting] = relationship(back_populates="attendees")


class MeetingCase(db.Model):
    """A case on a meeting's agenda, with its consent status and the decision taken."""

    __tablename__ = "meeting_case"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("support_case.id"), index=True)
    consent_status: Mapped[str] = mapped_column(String(20))  # given, not_given
    decision: Mapped[str] = mapped_column(String(40))
    decision_note: Mapped[str | None] = mapped_column(Text)
    rescoped_on: Mapped[date | None] = mapped_column(
        Date
    )  # consent obtained later: material joins the case

    meeting: Mapped[Meeting] = relationship(back_populates="cases")


class ActionItem(db.Model):
    """Something a meeting asked someone to do by a date."""

    __tablename__ = "action_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("support_case.id"))
    owner: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date | None] = mapped_column(Date)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
