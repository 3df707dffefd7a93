"""The cases a supervisor's views may list: their scope (the agencies and queues they oversee)
within what ``access.case_filter`` lets them open, as one SELECT read on indexes, and what every
reader of one listing shares (``Frame``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, false, func, or_, select, true, union
from sqlalchemy.orm import aliased

from app.models import Case, User, WorkItem
from app.services import access
from app.services.supervision import scope as scopes

# The listed work item, apart from the work items the scope conditions look into.
Item = aliased(WorkItem, name="listed_item")
# Open work that brings a case into a supervisor's scope (apart from what ``access`` looks into).
Waiting = aliased(WorkItem, name="scope_item")
NEW_WINDOW = timedelta(days=1)


@dataclass
class Frame:
    """What every reader of one listing shares."""

    actor: User
    scope: scopes.Scope
    now: datetime
    queue: str | None = None
    agency_id: int | None = None
    worker_id: int | None = None
    new_only: bool = False

    @property
    def new_since(self) -> datetime:
        return self.now - NEW_WINDOW


def in_view(frame: Frame) -> Select[tuple[int]]:
    """The ids of the cases in the supervisor's scope that they may open: held by an agency they
    oversee, or with open work in a queue they oversee (narrowed by the queue and agency filters).

    Exactly ``scope ∩ access.case_filter`` (a test holds the two equal), read on indexes: a case an
    overseen agency holds is always one the supervisor may open, and so is one with open work in an
    overseen group queue that carries no 支援会議 material; only the rest (work in an agency's queue,
    or carrying material) is asked of ``case_filter`` row by row."""
    agencies = set(frame.scope.agency_ids)
    if frame.agency_id is not None:
        agencies &= {frame.agency_id}
    queues = set(frame.scope.queues)
    if frame.queue:
        queues &= {frame.queue}
    # The queue filter leaves out what is there only because an overseen agency holds it.
    held_in = agencies if not frame.queue else set()
    parts: list[Select[Any]] = []
    if held_in:
        parts += [
            select(Case.id).where(Case.intake_agency_id.in_(sorted(held_in))),
            select(Case.id).where(Case.primary_agency_id.in_(sorted(held_in))),
        ]
    if queues and frame.agency_id is None:
        groups = sorted(queues & frame.scope.group_queues)
        others = sorted(queues - frame.scope.group_queues)
        open_work = [Waiting.status == "open", Waiting.case_id.is_not(None)]
        if groups:
            parts.append(
                select(Waiting.case_id).where(
                    *open_work, Waiting.queue.in_(groups), Waiting.council_material.is_(False)
                )
            )
        # Work in an agency's queue, or carrying 支援会議 material: asked of ``case_filter``, one
        # condition per index range (an OR of the two would read every open item).
        asked = []
        if others:
            asked.append(Waiting.queue.in_(others))
        if groups:
            asked.append(and_(Waiting.queue.in_(groups), Waiting.council_material.is_(True)))
        # A case an overseen agency holds is already in (above): ask only of the others.
        held_here = [
            func.coalesce(column, 0).in_(sorted(held_in))
            for column in (Case.intake_agency_id, Case.primary_agency_id)
        ]
        for condition in asked:
            parts.append(
                select(Case.id)
                .join(Waiting, Waiting.case_id == Case.id)
                .where(*open_work, condition, ~or_(*held_here) if held_in else true())
                .where(access.case_filter(frame.actor))
            )
    if not parts:
        return select(Case.id).where(false())
    # Each case once: the statements join this set.
    return union(*parts) if len(parts) > 1 else parts[0].distinct()  # type: ignore[return-value]
