"""Stalled cases: which cases in a supervisor's scope are stuck, why, where and for how long.

Read from the read model ``stalls`` keeps at each step (and the escalations), never from engine
state (the SQL is in ``readers``): which cases are in view is the scope's keys within
``access.case_filter``; the listing is audited like every other listing of personal data. A page holds ``PAGE_SIZE`` rows, the latest first;
the counts at the top are exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import User
from app.models.base import utcnow
from app.services import audit, case_progress, overview
from app.services.errors import Forbidden
from app.services.supervision import readers, readmodel, view
from app.services.supervision import scope as scopes

REASONS = {
    "error": _l("エンジンのエラーで止まっている"),
    "overdue_step": _l("期限を過ぎたステップ"),
    "unclaimed": _l("担当者が決まっていない"),
    "message_wait": _l("知らせを長く待っている"),
    "review_overdue": _l("プランの見直しが遅れている"),
    "no_activity": _l("動きがない"),
    "held": _l("一時停止している"),
    "escalated": _l("ほかの係長・課長から回された"),
}
PAGE_SIZE = 50  # rows a page: the bulk actions below stay within reach
# The most rows one listing returns when the caller asks for all of them (the daily digest).
ALL_ROWS = 5000


@dataclass
class StalledRow:
    """One stuck thing: a case waiting at a step (or as a whole) and why."""

    reason: str
    case_id: int
    case_number: str
    case_title: str
    stage: str
    where: str  # the step's name, or what the case waits for
    since: datetime  # when the case began to wait there
    days_late: float  # days since it became stuck (past its limit)
    stalled_at: datetime | None = None  # when it became stuck
    item_id: int | None = None
    queue: str | None = None
    assignee_id: int | None = None
    assignee_name: str | None = None
    instance_id: int | None = None
    detail: str = ""
    escalation_id: int | None = None


@dataclass
class StalledFilter:
    reason: str | None = None
    queue: str | None = None
    agency_id: int | None = None
    stage: str | None = None
    worker_id: int | None = None
    new_only: bool = False  # only what became stuck in the last 24 hours


@dataclass
class StalledPage:
    rows: list[StalledRow]
    counts: dict[str, int] = field(default_factory=dict)
    queue_labels: dict[str, str] = field(default_factory=dict)
    page: int = 1
    total: int = 0  # rows of the chosen reason (or of all), over every page
    fresh: int = 0  # rows (of every reason) that became stuck in the last 24 hours
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def listing(
    actor: User,
    flt: StalledFilter,
    now: datetime | None = None,
    page: int = 1,
    size: int = PAGE_SIZE,
) -> StalledPage:
    """The stuck cases in the actor's scope, the latest first, with counts per reason."""
    if actor.role != scopes.SUPERVISOR or not actor.active:
        audit.record_alone("stalled.list", "case", None, actor, outcome="denied")
        raise Forbidden(_("停滞しているケースを見られるのは係長・課長だけです。"))
    readmodel.catch_up(db.session())  # the rows of every step committed before this moment
    now = now or utcnow()
    scope = scopes.of(actor)
    frame = view.Frame(
        actor=actor,
        scope=scope,
        now=now,
        queue=flt.queue,
        agency_id=flt.agency_id,
        worker_id=flt.worker_id,
        new_only=flt.new_only,
    )
    chosen = [flt.reason] if flt.reason in REASONS else list(REASONS)
    page = max(1, page)
    stmt, values = readers.statement(frame, chosen, flt.stage, (page - 1) * size + 1, page * size)
    counts = {key: 0 for key in REASONS}
    rows = []
    fresh = 0
    for found in db.session.execute(stmt, values):
        m = found._mapping
        counts = {key: int(m[f"n_{key}"] or 0) for key in REASONS}
        fresh = int(m["fresh_count"] or 0)
        if m["reason"] is not None:
            rows.append(_row(found, now))
    total = sum(counts[key] for key in chosen)
    queue_keys = sorted({row.queue for row in rows if row.queue} | scope.queues)
    audit.record(
        "stalled.list",
        "case",
        None,
        actor,
        detail={"count": total, "page": page, "reason": flt.reason, "queue": flt.queue},
    )
    audit.commit_read()
    return StalledPage(
        rows=rows,
        counts=counts,
        queue_labels=overview.labels(queue_keys),
        page=page,
        total=total,
        fresh=fresh,
        size=size,
    )


def _row(found: object, now: datetime) -> StalledRow:
    m = found._mapping  # type: ignore[attr-defined]
    reason = m["reason"]
    where = m["place"]
    detail = m["detail"] or ""
    if reason == "held":
        # The hold's reason is what to read; the place is the case as a whole.
        detail = _("%(name)s さんが一時停止：%(reason)s", name=detail, reason=where or "")
        where = None
    if where is None:
        if reason == "no_activity":
            where = str(case_progress.stage_labels().get(m["stage"], m["stage"]))
        elif reason == "review_overdue":
            where = _("プランの見直し")
        else:
            where = _("ケース全体")
    return StalledRow(
        reason=reason,
        case_id=m["case_id"],
        case_number=m["number"],
        case_title=m["title"],
        stage=m["stage"],
        where=where,
        since=m["since"],
        stalled_at=m["stalled_at"],
        days_late=round(max((now - m["stalled_at"]).total_seconds(), 0) / 86400, 1),
        item_id=m["item_id"],
        queue=m["queue"],
        assignee_id=m["assignee_id"],
        assignee_name=m["display_name"],
        instance_id=m["instance_id"],
        detail=detail,
        escalation_id=m["ref_id"],
    )
