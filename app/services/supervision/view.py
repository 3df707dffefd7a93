"""What every reader of one supervisor's listing shares (``Frame``): who asks, their scope (the
agencies and queues they oversee), the moment and the filters. Which cases are in view is read by
scope key (``keys``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.models import User
from app.services.supervision import scope as scopes

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
