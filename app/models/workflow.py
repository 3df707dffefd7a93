"""Process definitions, running instances, work items, form submissions and message subscriptions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import JSONDoc, UTCDateTime, one_of, utcnow
from app.models.users import User

INSTANCE_STATUSES = ("running", "waiting", "completed")
WORK_ITEM_STATUSES = ("open", "completed", "cancelled")
WAITING_KINDS = ("timer", "message")


class ProcessDefinition(db.Model):
    """One version of one BPMN process, with the forms it uses and the called processes it needs."""

    __tablename__ = "process_definition"
    __table_args__ = (
        UniqueConstraint("key", "version"),
        UniqueConstraint("key", "content_hash", name="uq_process_definition_key_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(255))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    forms: Mapped[dict] = mapped_column(JSONDoc, default=dict)
    start_form: Mapped[str | None] = mapped_column(String(255))
    called_definition_ids: Mapped[list] = mapped_column(JSONDoc, default=list)
    # Called process key → the call activity calling it (computed at deploy).
    call_activities: Mapped[dict | None] = mapped_column(JSONDoc, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    deployed_by: Mapped[str] = mapped_column(String(120))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessInstance(db.Model):
    """A running (or finished) process; its engine state is stored without the specs."""

    __tablename__ = "process_instance"
    __table_args__ = (
        one_of("status", INSTANCE_STATUSES),
        Index("ix_process_instance_progress", "status", "last_progress_at"),
        # Few instances are held: the index holds just those (SQLite reads it for IS NOT NULL).
        Index(
            "ix_process_instance_held",
            "held_at",
            postgresql_where=text("held_at IS NOT NULL"),
            sqlite_where=text("held_at IS NOT NULL"),
        ),
        # Few instances are in error: the supervisors' list reads just those.
        Index(
            "ix_process_instance_failed",
            "last_progress_at",
            postgresql_where=text("error IS NOT NULL"),
            sqlite_where=text("error IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("support_case.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="running")
    state: Mapped[str] = mapped_column(Text, default="")
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_progress_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    correlation_key: Mapped[str | None] = mapped_column(String(120), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    # A supervisor's hold: while set, no task of the instance may be completed and no timer fires.
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    held_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    hold_reason: Mapped[str | None] = mapped_column(Text)
    compactions: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    definition: Mapped[ProcessDefinition] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}


class WorkItem(db.Model):
    """A waiting user task as the inbox sees it; made from the engine's READY manual tasks."""

    __tablename__ = "work_item"
    __table_args__ = (
        one_of("status", WORK_ITEM_STATUSES),
        UniqueConstraint("instance_id", "task_id"),
        # The access query reads open work from this index alone (counts, and the ids of a page
        # in due order): council_material, id and case_id are in the key for that.
        Index(
            "ix_work_item_queue_open",
            "status",
            "queue",
            "council_material",
            "due_at",
            "id",
            "case_id",
        ),
        Index("ix_work_item_assignee_open", "assignee_id", "status", "due_at"),
        # The supervisors' workload: open work per queue and worker, read from this index alone.
        Index("ix_work_item_workload", "status", "queue", "assignee_id", "due_at", "created_at"),
        # Whether a person may open a case from its work: read from this index alone.
        Index(
            "ix_work_item_case_visibility",
            "case_id",
            "queue",
            "status",
            "council_material",
            "assignee_id",
            "completed_by_id",
        ),
        Index("ix_work_item_completed_by", "completed_by_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("support_case.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(120))
    process_key: Mapped[str | None] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(255))
    lane: Mapped[str | None] = mapped_column(String(120))
    queue: Mapped[str] = mapped_column(String(80))
    form_key: Mapped[str | None] = mapped_column(String(255))
    # The task carries 支援会議 material (its element declares ``councilMaterial``): chair only.
    council_material: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(20), default="open")
    priority: Mapped[int] = mapped_column(Integer, default=50)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    draft: Mapped[dict | None] = mapped_column(JSONDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    instance: Mapped[ProcessInstance] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])


class FormSubmission(db.Model):
    """A completed form exactly as submitted: who, when, which form version, what data."""

    __tablename__ = "form_submission"
    # Whether anything was recorded on a case since a date (the stalled list's plan reviews).
    __table_args__ = (Index("ix_form_submission_case_time", "case_id", "submitted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_item.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("support_case.id"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    element_id: Mapped[str] = mapped_column(String(120))
    form_key: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict] = mapped_column(JSONDoc)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageSubscription(db.Model):
    """An instance waiting for a message, found by message name and correlation value."""

    __tablename__ = "message_subscription"
    __table_args__ = (
        UniqueConstraint("instance_id", "message_name"),
        Index("ix_message_subscription_lookup", "message_name", "correlation_value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    message_name: Mapped[str] = mapped_column(String(120))
    correlation_value: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WaitingEvent(db.Model):
    """A catch event an instance waits at (a timer with its due time, or a message), rebuilt at
    each step like work items: the case page and the supervisors' views read it, never engine state."""

    __tablename__ = "waiting_event"
    __table_args__ = (
        one_of("kind", WAITING_KINDS),
        UniqueConstraint("instance_id", "element_id"),
        Index("ix_waiting_event_due", "kind", "due_at"),
        Index("ix_waiting_event_since", "kind", "since"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("support_case.id"), index=True)
    element_id: Mapped[str] = mapped_column(String(120))
    process_key: Mapped[str | None] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(20))  # timer, message
    message_name: Mapped[str | None] = mapped_column(String(120))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The element declares ``startNow``: the person responsible may act before the date.
    start_now: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PathStep(db.Model):
    """A sequence flow an instance went along (from one element to the next), appended at each
    step and never rewritten: the path a case took, drawn on its diagram, and counted per flow
    for the people who watch and change the process."""

    __tablename__ = "path_step"
    __table_args__ = (
        Index("ix_path_step_flow", "process_key", "source_id", "target_id"),
        # A period's throughput per flow, read from this index alone (the heatmap).
        Index(
            "ix_path_step_period", "process_key", "taken_at", "case_id", "source_id", "target_id"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("support_case.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(120))
    source_id: Mapped[str] = mapped_column(String(120))
    target_id: Mapped[str] = mapped_column(String(120))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
