"""What persisting a step of many instances at once needs (the timer worker's batch): read for
all of them in one statement each, so ``instances.persist`` reads nothing per instance, and written
for all of them in one statement each, sent together (``write``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import (
    AuditEvent,
    Case,
    Group,
    MessageSubscription,
    PathStep,
    ProcessInstance,
    ReadModelPending,
    WaitingEvent,
    WorkItem,
)
from app.sent_together import Together
from app.services.supervision import readmodel

# The columns of an instance a step rewrites (``instances.persist``).
STEP_COLUMNS = (
    "state",
    "error",
    "status",
    "next_timer_at",
    "last_progress_at",
    "completed_at",
    "compactions",
)


@dataclass
class Loaded:
    """What ``persist`` reads of many instances, read for all of them at once (the timer worker's
    batch): their open work items, message subscriptions, waiting events, cases and the groups
    lanes route to. What the batch writes that nothing reads back waits here to be written in one
    statement per table: the instances' new state (with their optimistic lock), new work items,
    path steps, audit rows and the waiting-event rows no longer waited at."""

    open_items: dict[int, list[WorkItem]] = field(default_factory=lambda: defaultdict(list))
    subscriptions: dict[int, list[MessageSubscription]] = field(
        default_factory=lambda: defaultdict(list)
    )
    waiting: dict[int, list[WaitingEvent]] = field(default_factory=lambda: defaultdict(list))
    cases: dict[int, Case] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    instances: list[dict[str, Any]] = field(default_factory=list)
    work_items: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)
    gone_waiting: list[int] = field(default_factory=list)  # waiting-event rows to delete
    cases_stepped: set[int] = field(default_factory=set)
    # Other writes the caller has for the same trip to the database (sent first).
    together: Together = field(default_factory=Together)

    def step(self, instance: ProcessInstance, values: dict[str, Any]) -> None:
        """Keep an instance's new state for ``write``; the object shows it from now on (as if
        loaded so), so the flush does not write it a second time."""
        version = instance.lock_version
        self.instances.append(
            {"b_id": instance.id, "b_version": version, "b_next": version + 1}
            | {f"b_{name}": values[name] for name in STEP_COLUMNS}
        )
        for name in STEP_COLUMNS:
            set_committed_value(instance, name, values[name])
        set_committed_value(instance, "lock_version", version + 1)
        if instance.case_id is not None:
            self.cases_stepped.add(instance.case_id)


def preload(batch: list[ProcessInstance]) -> Loaded:
    """Read, in one statement each, what persisting a step of each of ``batch`` needs."""
    loaded = Loaded()
    ids = [instance.id for instance in batch]
    for item in db.session.scalars(
        select(WorkItem).where(WorkItem.instance_id.in_(ids), WorkItem.status == "open")
    ):
        loaded.open_items[item.instance_id].append(item)
    for sub in db.session.scalars(
        select(MessageSubscription).where(MessageSubscription.instance_id.in_(ids))
    ):
        loaded.subscriptions[sub.instance_id].append(sub)
    for row in db.session.scalars(select(WaitingEvent).where(WaitingEvent.instance_id.in_(ids))):
        loaded.waiting[row.instance_id].append(row)
    case_ids = {instance.case_id for instance in batch if instance.case_id is not None}
    if case_ids:
        loaded.cases = {
            case.id: case for case in db.session.scalars(select(Case).where(Case.id.in_(case_ids)))
        }
    for group in db.session.scalars(select(Group)):
        loaded.groups[group.name] = group.key
        loaded.groups[group.key] = group.key
    return loaded


def _instance_update() -> Any:
    table = ProcessInstance.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.lock_version == bindparam("b_version"))
        .values(
            {name: bindparam(f"b_{name}") for name in STEP_COLUMNS}
            | {"lock_version": bindparam("b_next")}
        )
    )


_INSTANCE_UPDATE = _instance_update()
_INSERT = {model: insert(model.__table__).inline() for model in (WorkItem, PathStep, AuditEvent)}
_PENDING = insert(ReadModelPending.__table__).inline()
_GONE_WAITING = delete(WaitingEvent.__table__).where(
    WaitingEvent.__table__.c.id == bindparam("b_id")
)


def write(loaded: Loaded) -> None:
    """Write what the batch kept, one statement per table (each with all its rows), all sent
    together (``sent_together``) after what the caller added. An instance changed by someone else
    since it was read fails the whole batch (StaleDataError, which ``instances.saving`` turns into
    a Conflict): nothing of it is saved."""
    together = loaded.together
    together.add(_INSTANCE_UPDATE, loaded.instances, expect=len(loaded.instances))
    together.add(_INSERT[WorkItem], loaded.work_items)
    together.add(_INSERT[PathStep], loaded.steps)
    together.add(_INSERT[AuditEvent], loaded.audits)
    together.add(_GONE_WAITING, [{"b_id": row_id} for row_id in loaded.gone_waiting])
    # The supervisors' rows of these cases (and of any noted before) may have changed: noted as
    # pending here, since the flush sees none of this.
    for case_id in loaded.cases_stepped:
        readmodel.touch(db.session, case_id)
    together.add(_PENDING, readmodel.take_noted(db.session))
    together.send(db.session)
    loaded.instances, loaded.work_items, loaded.steps, loaded.audits = [], [], [], []
    loaded.gone_waiting, loaded.cases_stepped = [], set()
