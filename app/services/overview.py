"""The home page at a glance: open work per queue and the work assigned to the user."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, union_all

from app.extensions import db
from app.models import Agency, Group, User, WorkItem
from app.services import access, queues


@dataclass(frozen=True)
class QueueCount:
    """One of a user's queues with how many open work items wait in it."""

    key: str
    label: str
    open_count: int


def queue_counts(user: User) -> list[QueueCount]:
    """Every queue the user works from (empty ones too), group queues first, then agency queues."""
    keys = queues.queues_of(user)
    if not keys:
        return []
    # The branches are disjoint; each is read on its own index, and counted in one statement.
    parts = [
        select(WorkItem.queue).where(WorkItem.status == "open", WorkItem.queue.in_(keys), branch)
        for branch in access.work_item_branches(user)
    ]
    counts: dict[str, int] = {}
    if parts:
        merged = union_all(*parts).subquery()
        stmt = select(merged.c.queue, func.count()).group_by(merged.c.queue)
        counts = {queue: count for queue, count in db.session.execute(stmt)}
    labels = _labels_of(user, keys)
    rows = [QueueCount(key, labels.get(key, key), counts.get(key, 0)) for key in keys]
    return sorted(rows, key=lambda row: (_is_agency(row.key), row.label))


def assigned_count(user: User) -> int:
    """How many open work items are assigned to the user, in whatever queue."""
    stmt = select(func.count()).where(
        WorkItem.status == "open",
        WorkItem.assignee_id == user.id,
        access.work_item_filter(user),
    )
    return db.session.scalar(stmt) or 0


def _is_agency(key: str) -> bool:
    return key.startswith(queues.agency_queue(""))


def _labels_of(user: User, keys: list[str]) -> dict[str, str]:
    """The names of the user's own queues, from what is loaded with the user."""
    labels = {group.key: group.name for group in user.groups}
    if user.agency is not None:
        labels[queues.agency_queue(user.agency.code)] = user.agency.name
    missing = [key for key in keys if key not in labels]
    return {**labels, **(_labels(missing) if missing else {})}


def _labels(keys: list[str]) -> dict[str, str]:
    """Readable names: group names for group keys, agency names for ``agency:<code>`` keys."""
    prefix = queues.agency_queue("")
    group_keys = [key for key in keys if not key.startswith(prefix)]
    agency_codes = [key[len(prefix) :] for key in keys if key.startswith(prefix)]
    labels: dict[str, str] = {}
    if group_keys:
        stmt = select(Group.key, Group.name).where(Group.key.in_(group_keys))
        labels.update({key: name for key, name in db.session.execute(stmt)})
    if agency_codes:
        stmt = select(Agency.code, Agency.name).where(Agency.code.in_(agency_codes))
        labels.update({prefix + code: name for code, name in db.session.execute(stmt)})
    return labels
