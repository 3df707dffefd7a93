"""What every reader of one supervisor's listing shares (``Frame``): who asks, their scope (the
agencies and queues they oversee), the moment and the filters. Which cases are in view is read by
scope key (``keys``)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam

from app.extensions import db
from app.models import User
from app.models.base import UTCDateTime
from app.services import queues
from app.services.supervision import scope as scopes

NEW_WINDOW = timedelta(days=1)
# The moment of a listing and the start of its last 24 hours, bound when a statement runs: a
# statement is built once per standing and filter shape (``built``) and run with these.
NOW = bindparam("now", type_=UTCDateTime())
NEW_SINCE = bindparam("new_since", type_=UTCDateTime())
_BUILT: dict[Hashable, Any] = {}


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

    def standing(self) -> tuple[Any, ...]:
        """What the rows in view depend on besides the data: who asks (``access`` decides by their
        role, agency and queues), what they oversee, and the filters."""
        actor, scope = self.actor, self.scope
        return (
            actor.id,
            actor.role,
            actor.agency_id,
            tuple(queues.queues_of(actor)),
            tuple(sorted(scope.agency_ids)),
            tuple(sorted(scope.queues)),
            tuple(sorted(scope.group_queues)),
            self.queue,
            self.agency_id,
            self.worker_id,
            self.new_only,
        )

    def bound(self) -> dict[str, datetime]:
        """The values of ``NOW`` and ``NEW_SINCE`` for this frame."""
        return {"now": self.now, "new_since": self.new_since}


def built(shape: Hashable, make: Callable[[], Any]) -> Any:
    """A statement built once per shape and database kind (building one costs more than running
    it; some parts are written for one kind); its moments are bound parameters (``NOW``,
    ``NEW_SINCE``)."""
    key = (db.engine.dialect.name, shape)
    found = _BUILT.get(key)
    if found is None:
        if len(_BUILT) >= 1024:
            _BUILT.clear()
        found = _BUILT[key] = make()
    return found
