"""A case's timeline: when it was taken, each completed step, what went away, the news and dates
that moved it, and what supervisors did to its work, in the order they happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Case, FormSubmission, User, WorkItem
from app.services import clock


@dataclass
class TimelineEntry:
    at: datetime
    who: str
    what: str
    detail: str = ""
    kind: str = ""  # the kind of information the entry tells (``forms.INFO_KINDS``), if any


def user_names(ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {
        u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(wanted)))
    }


def build(
    case: Case, items: list[WorkItem], submissions: list[FormSubmission], names: dict[int, str]
) -> list[TimelineEntry]:
    titles = {i.id: i.title for i in items}
    council = {i.id for i in items if i.council_material}
    entries = [
        TimelineEntry(case.created_at, _creator(case), _("ケースを受け付けました"), case.number)
    ]
    for sub in submissions:
        title = titles.get(sub.work_item_id, sub.element_id)
        detail = (
            _("（内容は支援会議の構成員のみ閲覧できます）") if sub.work_item_id in council else ""
        )
        entries.append(
            TimelineEntry(
                sub.submitted_at,
                names.get(sub.submitted_by_id, "-"),
                _("「%(title)s」を完了", title=title),
                detail,
                kind="support_history",
            )
        )
    for item in items:
        if item.status == "cancelled":
            entries.append(
                TimelineEntry(
                    item.completed_at or item.created_at,
                    _("システム"),
                    _("「%(title)s」は不要になりました", title=item.title),
                )
            )
    events = list(
        db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.case_id == case.id,
                AuditEvent.action.in_(
                    ["process.message", "process.timer", "process.start_now", "case.reopen"]
                    + list(SUPERVISOR_ACTIONS)
                ),
                AuditEvent.outcome == "ok",
            )
        )
    )
    # People by the name staff know them by (never a login name); the worker is 「システム」.
    actors = user_names({e.actor_id for e in events})
    for event in events:
        who = actors.get(event.actor_id, event.actor_name) if event.actor_id else _("システム")
        entries.append(TimelineEntry(event.at, who, _event_label(event)))
    return sorted(entries, key=lambda e: e.at)


def _creator(case: Case) -> str:
    user = db.session.get(User, case.created_by_id) if case.created_by_id else None
    return user.display_name if user else "-"


# What supervisors do to a case's work, as its timeline tells it.
SUPERVISOR_ACTIONS = {
    "work_item.reassign": _l("作業の担当を割り振りました"),
    "work_item.due_change": _l("作業の期限を変えました"),
    "case.note": _l("メモ"),
    "process.retry": _l("止まっていた処理を再開しました"),
    "process.end": _l("ケースの処理を終了しました"),
    "process.hold": _l("ケースの処理を一時停止しました"),
    "process.resume": _l("一時停止していた処理を再開しました"),
    "case.escalate": _l("ほかの係長・課長に回しました"),
    "case.escalation_resolve": _l("回されてきたケースを対応済みにしました"),
}


def _event_label(event: AuditEvent) -> str:
    if event.action in SUPERVISOR_ACTIONS:
        label = _said_of(event) or str(SUPERVISOR_ACTIONS[event.action])
        extra = event.detail.get("text") or event.detail.get("reason")
        return _("%(label)s：%(extra)s", label=label, extra=extra) if extra else label
    if event.action == "process.message":
        name = event.detail.get("name") or _("外部からの連絡")
        return _("知らせを受けました（%(name)s）", name=name)
    if event.action == "process.start_now":
        return _("「%(name)s」を予定日より前に始めました", name=event.detail.get("name", ""))
    if event.action == "case.reopen":
        return _("ケースを再開しました（第%(cycle)s期）", cycle=event.detail.get("cycle"))
    names = _("・").join(_("「%(name)s」", name=name) for name in event.detail.get("names") or [])
    return _("予定日になりました（%(names)s）", names=names) if names else _("予定日になりました")


def _said_of(event: AuditEvent) -> str | None:
    """Which task, to whom, until when: what a supervisor's action names, when the record says."""
    detail = event.detail or {}
    if event.action == "work_item.reassign":
        item = db.session.get(WorkItem, int(event.object_id)) if event.object_id else None
        person = db.session.get(User, detail["to"]) if isinstance(detail.get("to"), int) else None
        if item is not None and person is not None:
            return _(
                "「%(task)s」を%(name)sさんに割り振りました",
                task=item.title,
                name=person.display_name,
            )
    if event.action == "work_item.due_change" and detail.get("to") and detail.get("title"):
        try:
            due = datetime.fromisoformat(detail["to"]).astimezone(clock.LOCAL).date()
        except (TypeError, ValueError):
            return None
        return _(
            "「%(task)s」の期限を%(date)sに変えました",
            task=detail["title"],
            date=format_date(due, "long"),
        )
    if event.action == "case.escalate" and detail.get("to_name"):
        return _("%(name)sさんに回しました", name=detail["to_name"])
    return None
