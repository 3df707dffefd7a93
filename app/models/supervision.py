"""What supervisors oversee, and the municipality's time limits per step (SLA)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow
from app.models.users import Agency, User


class SupervisorScope(db.Model):
    """One agency or one work queue a supervisor oversees (exactly one of the two per row).

    A supervisor with no rows oversees their own agency and the queues they belong to."""

    __tablename__ = "supervisor_scope"
    __table_args__ = (
        UniqueConstraint("user_id", "agency_id", "queue"),
        CheckConstraint(
            "(agency_id IS NULL AND queue IS NOT NULL) OR (agency_id IS NOT NULL AND queue IS NULL)",
            name="one_target",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    queue: Mapped[str | None] = mapped_column(String(80))

    user: Mapped[User] = relationship()
    agency: Mapped[Agency | None] = relationship()


class StepLimit(db.Model):
    """The municipality's limit for how long a case may wait at one step of a process (days),
    overriding the diagram's ``dueInDays`` when a supervisor judges lateness."""

    __tablename__ = "step_limit"
    __table_args__ = (
        UniqueConstraint("process_key", "element_id"),
        CheckConstraint("days >= 1 AND days <= 365", name="days"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(120))
    element_id: Mapped[str] = mapped_column(String(120))
    days: Mapped[int] = mapped_column(Integer)


class Escalation(db.Model):
    """A case (or one of its tasks) handed on by a supervisor to another supervisor, with the
    reason; it stays on the receiver's stalled list until they mark it dealt with."""

    __tablename__ = "escalation"
    __table_args__ = (Index("ix_escalation_to_open", "to_user_id", "resolved_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("support_case.id"), index=True)
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_item.id"))
    from_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    to_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    from_user: Mapped[User] = relationship(foreign_keys=[from_user_id])
    to_user: Mapped[User] = relationship(foreign_keys=[to_user_id])
