"""Writes audit events in the caller's transaction (or in one of their own, for failures)."""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models import AuditEvent, User
from app.services import webhooks


def record(
    action: str,
    object_type: str,
    object_id: object | None,
    actor: User | None,
    *,
    case_id: int | None = None,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
    actor_name: str | None = None,
    into: list[dict[str, Any]] | None = None,
) -> None:
    """Add an audit event to the current session; it commits with the change it describes.
    ``into``: kept there as a row instead (a batch writes its rows at once, in its transaction)."""
    values = {
        "actor_id": actor.id if actor is not None else None,
        "actor_name": actor_name or (actor.username if actor is not None else "system"),
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "case_id": case_id,
        "outcome": outcome,
        "detail": detail or {},
    }
    if into is not None:
        into.append(values)
    else:
        db.session.add(AuditEvent(**values))
    webhooks.on_audit(values)  # an integration event, when the change is one


def record_alone(
    action: str, object_type: str, object_id: object | None, actor: User | None, **kw: Any
) -> None:
    """Record and commit at once: for refusals and failures, whose own change is rolled back."""
    db.session.rollback()
    record(action, object_type, object_id, actor, **kw)
    db.session.commit()


def commit_read() -> None:
    """Commit the audit event of a read (a listing, a page view) without expiring what the request
    has already loaded: nothing else changed, and reloading every shown row would double the work."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
