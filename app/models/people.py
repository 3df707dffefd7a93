"""People, households (世帯) and who in a household is involved with which window."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import JSONDoc, UTCDateTime, utcnow
from app.models.users import Agency


class Person(db.Model):
    """A person known to the support system; most fields are optional (anonymous intake is allowed)."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    kana: Mapped[str | None] = mapped_column(String(200), index=True)
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(Text)  # sensitivity X (a DV victim's address)
    phone: Mapped[str | None] = mapped_column(String(40))
    contact_note: Mapped[str | None] = mapped_column(Text)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Household(db.Model):
    """A household (世帯); people join and leave it over time."""

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[HouseholdMember]] = relationship(back_populates="household")


class HouseholdMember(db.Model):
    """A person's membership in a household for a period, with relation and carer roles."""

    __tablename__ = "household_member"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    relation: Mapped[str] = mapped_column(String(60))
    age_group: Mapped[str | None] = mapped_column(String(40))
    living_together: Mapped[bool] = mapped_column(Boolean, default=True)
    roles: Mapped[list] = mapped_column(JSONDoc, default=list)  # key_person, carer, young_carer
    since: Mapped[date | None] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)

    household: Mapped[Household] = relationship(back_populates="members")
    person: Mapped[Person | None] = relationship()
    involvements: Mapped[list[Involvement]] = relationship(back_populates="member")


class Involvement(db.Model):
    """That a household member is involved with a window, for what, and whom to contact."""

    __tablename__ = "involvement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("household_member.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    agency_text: Mapped[str | None] = mapped_column(String(200))
    purpose: Mapped[str | None] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(200))
    since: Mapped[date | None] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)

    member: Mapped[HouseholdMember] = relationship(back_populates="involvements")
    agency: Mapped[Agency | None] = relationship()
