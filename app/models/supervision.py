"""What supervisors oversee, and the municipality's time limits per step (SLA)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
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
