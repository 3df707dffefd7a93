"""Support plans (支援プラン), versioned per case, with their goals; evaluations at termination."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import JSONDoc, UTCDateTime, utcnow
from app.models.users import Agency


class SupportPlan(db.Model):
    """One version of a case's support plan."""

    __tablename__ = "support_plan"
    __table_args__ = (UniqueConstraint("case_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("support_case.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    primary_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    plan_start: Mapped[date] = mapped_column(Date)
    plan_end: Mapped[date] = mapped_column(Date)
    review_date: Mapped[date] = mapped_column(Date)
    participation_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    outreach_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    person_consented: Mapped[bool] = mapped_column(Boolean, default=False)
    approved_meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"))
    approved_on: Mapped[date | None] = mapped_column(Date)
    support_decision_on: Mapped[date | None] = mapped_column(Date)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("form_submission.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    goals: Mapped[list[PlanGoal]] = relationship(
        order_by="PlanGoal.position", back_populates="plan"
    )
    primary_agency: Mapped[Agency | None] = relationship()


class PlanGoal(db.Model):
    """A goal of a plan with the support content and who is responsible (役割分担)."""

    __tablename__ = "plan_goal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("support_plan.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    goal: Mapped[str] = mapped_column(Text)
    support_content: Mapped[str] = mapped_column(Text)
    responsible_agency: Mapped[str] = mapped_column(String(200))
    staff: Mapped[str | None] = mapped_column(String(100))
    frequency: Mapped[str | None] = mapped_column(String(100))
    period: Mapped[str | None] = mapped_column(String(100))

    plan: Mapped[SupportPlan] = relationship(back_populates="goals")


class Evaluation(db.Model):
    """The evaluation at a plan conference: per-goal results and termination, interruption or continuation."""

    __tablename__ = "evaluation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("support_case.id"), index=True)
    evaluated_on: Mapped[date] = mapped_column(Date)
    goal_results: Mapped[list] = mapped_column(JSONDoc, default=list)
    decision: Mapped[str] = mapped_column(String(20))  # closure, interruption, continue
    closure_type: Mapped[str | None] = mapped_column(String(40))
    interruption_reason: Mapped[str | None] = mapped_column(Text)
    next_primary_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    resource_gaps: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
