"""Open work at a glance (the home page, the inbox tabs): per queue, and assigned to the user."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import CompoundSelect, Select, func, null, or_, select, union_all

from app.extensions import db
from app.models import Agency, Group, User, WorkItem
from app.services import access, memo, queues


@dataclass(frozen=True)
class QueueCount:
    """One of a user's queues with how many open work items wait in it."""

    key: str
    label: str
    open_count: int


@dataclass(frozen=True)
class Glance:
    """The counts a page of work shows at a glance: each of the user's queues, the work assigned
    to the user, and all the open work the user may open (in any queue)."""

    queues: list[QueueCount]
    assigned: int
    open_total: int


def glance(user: User) -> Glance:
    """The queue counts, the assigned count and the open total, in one round trip."""
    stmt = _both(tuple(access.work_item_branches(user)), user.id)
    counts = _summed(db.session.execute(stmt) if stmt is not None else [])
    # Queue keys are never NULL, so the row without one is the assigned count.
    mine = counts.pop(None, 0)
    return Glance(_rows(user, counts), mine, sum(counts.values()))


def queue_counts(user: User) -> list[QueueCount]:
    """Every queue the user works from (empty ones too), group queues first, then agency queues."""
    if not queues.queues_of(user):
        return []
    stmt = _per_queue(tuple(access.work_item_branches(user)))
    return _rows(user, _summed(db.session.execute(stmt) if stmt is not None else []))


def assigned_count(user: User) -> int:
    """How many open work items are assigned to the user, in whatever queue."""
    stmt = _assigned(tuple(access.work_item_branches(user)), user.id)
    return (db.session.scalar(stmt) or 0) if stmt is not None else 0


def _summed(rows: Iterable[Any]) -> dict[Any, int]:
    counts: dict[Any, int] = {}
    for queue, count in rows:
        counts[queue] = counts.get(queue, 0) + count
    return counts


# The statements are built once per standing (the branches are ``access``'s own cached objects):
# building them costs more than running them on the hot path.


def _per_branch(branches: tuple[Any, ...]) -> list[Select[Any]]:
    """SQL, one per branch: the open work the user may open in it, per queue (queue, count).
    Each is counted on its own index as it is read; the branches are disjoint."""
    return [
        select(WorkItem.queue, func.count())
        .where(WorkItem.status == "open", branch)
        .group_by(WorkItem.queue)
        for branch in branches
    ]


@lru_cache(maxsize=512)
def _per_queue(branches: tuple[Any, ...]) -> CompoundSelect[Any] | None:
    """SQL: the open work the user may open, per queue and branch (queue, count)."""
    return union_all(*_per_branch(branches)) if branches else None


@lru_cache(maxsize=512)
def _assigned(branches: tuple[Any, ...], user_id: int) -> Select[Any] | None:
    """SQL: how many open work items the user may open are assigned to them (count)."""
    if not branches:
        return None
    return select(func.count()).where(
        WorkItem.status == "open", WorkItem.assignee_id == user_id, or_(*branches)
    )


@lru_cache(maxsize=512)
def _both(branches: tuple[Any, ...], user_id: int) -> CompoundSelect[Any] | None:
    """SQL: ``_per_queue`` and then ``_assigned`` under a NULL queue, in one statement."""
    assigned = _assigned(branches, user_id)
    if assigned is None:
        return None
    return union_all(*_per_branch(branches), assigned.with_only_columns(null(), func.count()))


def _rows(user: User, counts: dict[str, int]) -> list[QueueCount]:
    """The user's queues (empty ones too) with their counts, group queues first."""
    keys = queues.queues_of(user)
    labels = _labels_of(user, keys)
    rows = [QueueCount(key, labels.get(key, key), counts.get(key, 0)) for key in keys]
    return sorted(rows, key=lambda row: (_is_agency(row.key), row.label))


def _is_agency(key: str) -> bool:
    return key.startswith(queues.agency_queue(""))


def _labels_of(user: User, keys: list[str]) -> dict[str, str]:
    """The names of the user's own queues, from what is loaded with the user."""
    labels = {group.key: group.name for group in user.groups}
    if user.agency is not None:
        labels[queues.agency_queue(user.agency.code)] = user.agency.name
    missing = [key for key in keys if key not in labels]
    return {**labels, **(labels(missing) if missing else {})}


def labels(keys: list[str]) -> dict[str, str]:
    """Readable names: group names for group keys, agency names for ``agency:<code>`` keys (read
    once per request for the same keys)."""
    return dict(
        memo.remembered(("queue labels", tuple(sorted(keys))), lambda: _labels(keys), Group, Agency)
    )


def _labels(keys: list[str]) -> dict[str, str]:
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
