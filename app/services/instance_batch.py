"""What persisting a step of many instances at once needs (the timer worker's batch): read for
all of them in one statement each, so ``instances.persist`` reads nothing per instance."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select

from app.extensions import db
from app.models import (
    Case,
    Group,
    MessageSubscription,
    PathStep,
    ProcessInstance,
    WaitingEvent,
    WorkItem,
)


@dataclass
class Loaded:
    """What ``persist`` reads of many instances, read for all of them at once (the timer worker's
    batch): their open work items, message subscriptions, waiting events, cases and the groups
    lanes route to. Path steps wait here to be written in one statement for the batch."""

    open_items: dict[int, list[WorkItem]] = field(default_factory=lambda: defaultdict(list))
    subscriptions: dict[int, list[MessageSubscription]] = field(
        default_factory=lambda: defaultdict(list)
    )
    waiting: dict[int, list[WaitingEvent]] = field(default_factory=lambda: defaultdict(list))
    cases: dict[int, Case] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)


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


def write_steps(loaded: Loaded) -> None:
    """Append the batch's path steps in one multi-row insert."""
    if loaded.steps:
        db.session.execute(insert(PathStep), loaded.steps)
        loaded.steps = []
