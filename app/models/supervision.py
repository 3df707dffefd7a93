"""What supervisors oversee, and the municipality's time limits per step (SLA)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
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


class StallEntry(db.Model):
    """The supervisors' read model of what is stuck or will be: one row per possible stall (a
    reason, a case, a work item or instance) with the key that brings it into a supervisor's
    view (``services.supervision.keys``): about a piece of work, its queue's key (``g:``, ``o:``,
    or ``r:`` — whether the supervisor may open the case is then asked of ``access.case_filter``
    when the list is read); about a case as a whole, the key of the case's ``KeySet``.

    ``services.supervision.stalls`` rewrites a case's rows in the same transaction as every
    change to its work, instances, waits, agencies or plan dates, and moves ``stalled_at`` when a
    limit changes. ``stalled_at`` lies in the future for what is not late yet, so the list reads
    ``stalled_at <= now`` on one index and moving time needs no rewrite."""

    __tablename__ = "stall_entry"
    # Covers what the list reads of every row (the page's few rows read the rest by ``id``).
    __table_args__ = (
        Index(
            "ix_stall_entry_key",
            "scope_key",
            "stalled_at",
            "reason",
            "source_id",
            "case_id",
            "item_id",
            "queue",
            "assignee_id",
            "fresh_at",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope_key: Mapped[str] = mapped_column(String(90))
    case_id: Mapped[int] = mapped_column(ForeignKey("support_case.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    # What is stuck, with the reason: a work item, waiting event, instance or the case.
    source_id: Mapped[int] = mapped_column(Integer)
    stalled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    since: Mapped[datetime] = mapped_column(UTCDateTime)  # when the wait began
    fresh_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # an error's latest failure
    place: Mapped[str | None] = mapped_column(String(255))
    item_id: Mapped[int | None] = mapped_column(Integer)
    queue: Mapped[str | None] = mapped_column(String(80))
    assignee_id: Mapped[int | None] = mapped_column(Integer)
    instance_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(String(1000))


class WaitEntry(db.Model):
    """Where a case waits now, keyed as ``StallEntry`` (open work by its queue's key, a catch
    event by its case's key set): one row per open
    work item (``kind`` "item") and per waiting catch event ("event"), with its process and
    element, since when and until when. The heatmap reads it on one covering index; kept with
    the stall entries, case by case, at every step."""

    __tablename__ = "wait_entry"
    __table_args__ = (
        Index(
            "ix_wait_entry_key",
            "scope_key",
            "process_key",
            "element_id",
            "since",
            "due_at",
            "kind",
            "source_id",
            "case_id",
            "item_id",
            "queue",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope_key: Mapped[str] = mapped_column(String(90))
    case_id: Mapped[int] = mapped_column(ForeignKey("support_case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    source_id: Mapped[int] = mapped_column(Integer)  # the work item or waiting event
    process_key: Mapped[str | None] = mapped_column(String(120))
    element_id: Mapped[str] = mapped_column(String(120))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    item_id: Mapped[int | None] = mapped_column(Integer)
    queue: Mapped[str | None] = mapped_column(String(80))


class CaseKey(db.Model):
    """The scope keys of a case (see ``StallEntry``): what a supervisor's views of cases, such as
    the flows cases took, join to find the cases in view. Kept with the stall entries. Besides its
    keys, a case has one row ``s:<KeySet id>``: the set of all its keys."""

    __tablename__ = "case_key"
    __table_args__ = (Index("ix_case_key_key", "scope_key", "case_id"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("support_case.id"), primary_key=True)
    scope_key: Mapped[str] = mapped_column(String(90), primary_key=True)


class ReadModelPending(db.Model):
    """A case whose supervisors' rows are to be rewritten: noted as a step commits, taken (and
    deleted) by ``readmodel.catch_up``, which the timer worker runs every second and every view
    of those rows runs before it reads. A case noted twice has two rows; each is taken once."""

    __tablename__ = "read_model_pending"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    case_id: Mapped[int] = mapped_column(Integer)
    noted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KeySet(db.Model):
    """A set of scope keys some case has (``digest``: of its keys, sorted). The rows about a case
    as a whole carry the set's key (``s:<id>``) once, not every key of the case: a view reads the
    sets that hold one of its keys, and counts each row once without grouping."""

    __tablename__ = "key_set"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)


class KeySetMember(db.Model):
    """The keys of a ``KeySet`` (read by key: which sets hold it)."""

    __tablename__ = "key_set_member"

    scope_key: Mapped[str] = mapped_column(String(90), primary_key=True)
    key_set_id: Mapped[int] = mapped_column(ForeignKey("key_set.id"), primary_key=True)


class FlowTally(db.Model):
    """How many times the cases a supervisor could see took one sequence flow of a process on one
    day (in Japan), for the heatmap's throughput over long periods: added to by the timer worker
    from the path steps (``services.supervision.flows``), up to ``FlowTallyMark``."""

    __tablename__ = "flow_tally"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    process_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    target_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    taken: Mapped[int] = mapped_column(Integer)


class FlowTallyMonth(db.Model):
    """The same per month (``month``: its first day in Japan), so a year is a dozen rows a flow:
    a period adds its whole months here and its first days from ``FlowTally``."""

    __tablename__ = "flow_tally_month"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    process_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    target_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    taken: Mapped[int] = mapped_column(Integer)


class FlowTallyMark(db.Model):
    """The last path step a supervisor's tallies hold (later ones are counted as they are read)."""

    __tablename__ = "flow_tally_mark"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    last_step_id: Mapped[int] = mapped_column(Integer)
