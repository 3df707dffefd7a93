"""Facts a page asks for several times (a supervisor's scope, the municipality's settings), read
once per request, and read again as soon as the request writes what they are read from (or rolls
back). Outside a request (the timer worker, commands, tests calling services) nothing is kept:
every call reads."""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain
from typing import Any, TypeVar

from flask import g, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")
_KNOWN = "_kasane_memo"


def remembered(key: Any, read: Callable[[], T], *sources: type) -> T:
    """``read()`` once for this request, until it flushes a change to one of ``sources``."""
    if not has_request_context():
        return read()
    known = g.setdefault(_KNOWN, {})
    if key not in known:
        known[key] = (read(), sources)
    return known[key][0]


def forget() -> None:
    """Read everything again (after a change made in SQL, which the flush does not see)."""
    if has_request_context():
        g.pop(_KNOWN, None)


@event.listens_for(Session, "after_flush")
def _forget_changed(session: Session, context: Any) -> None:
    known = g.get(_KNOWN) if has_request_context() else None
    if not known:
        return
    changed = {type(obj) for obj in chain(session.new, session.dirty, session.deleted)}
    for key in [k for k, (_, sources) in known.items() if changed.intersection(sources)]:
        del known[key]


@event.listens_for(Session, "after_soft_rollback")
def _forget_all(session: Session, previous_transaction: Any) -> None:
    forget()
