"""Handing a stuck case on to another supervisor (エスカレーション): the receiver finds it on their
stalled list with the reason, until they mark it dealt with. Audited on the case's timeline."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import Case, Escalation, User, WorkItem
from app.models.base import utcnow
from app.services import access, audit
from app.services.errors import InvalidInput, NotFound
from app.services.supervision import scope as scopes
from app.services.supervision.actions import (
    ItemResult,
    _cases,
    _chosen,
    _reason,
    _require_supervisor,
    _workable,
    case_label,
    item_label,
)


def receivers(actor: User) -> list[User]:
    """The other active supervisors (the picker); each item is checked against the receiver's own
    scope when it is handed on."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == scopes.SUPERVISOR, User.active.is_(True), User.id != actor.id)
            .order_by(User.display_name)
        )
    )


def escalate_many(
    item_ids: list[int], username: str, reason: str, actor: User, case_ids: Sequence[int] = ()
) -> list[ItemResult]:
    """Hand each chosen item's case (and each chosen case) to another supervisor, with the reason.
    Refused for one the receiver could not open (outside their scope): they must be able to act."""
    scope = _require_supervisor(actor, "case.escalate")
    ids = _chosen(item_ids, case_ids)
    target = db.session.scalar(
        select(User).where(
            User.username == username,
            User.role == scopes.SUPERVISOR,
            User.active.is_(True),
            User.id != actor.id,
        )
    )
    if target is None:
        message = _("回す先の係長・課長を一覧から選んでください。")
        raise InvalidInput(message, fields={"escalate_to": message})
    reason = _reason(reason, what=_("回す理由"))
    results: list[ItemResult] = []
    theirs = scopes.of(target)
    for item in _workable(ids, scope, actor, "case.escalate", results):
        case = db.session.get(Case, item.case_id) if item.case_id else None
        allowed = case is not None and item.queue in theirs.queues
        results.append(_hand_on(case, item.id, item_label(item), allowed, target, reason, actor))
    for case in _cases(case_ids, actor, "case.escalate", results):
        results.append(
            _hand_on(case, None, case_label(case), _oversees(theirs, case), target, reason, actor)
        )
    db.session.commit()
    return results


def _oversees(scope: scopes.Scope, case: Case) -> bool:
    """The case is in a supervisor's scope: held by an agency they oversee, or with open work in a
    queue they oversee."""
    if {case.intake_agency_id, case.primary_agency_id} & scope.agency_ids:
        return True
    return bool(
        scope.queues
        and db.session.scalar(
            select(WorkItem.id)
            .where(
                WorkItem.case_id == case.id,
                WorkItem.status == "open",
                WorkItem.queue.in_(sorted(scope.queues)),
            )
            .limit(1)
        )
    )


def _hand_on(
    case: Case | None,
    item_id: int | None,
    title: str,
    allowed: bool,
    target: User,
    reason: str,
    actor: User,
) -> ItemResult:
    """Hand one case on (from a row of its task, ``item_id``, or of the case as a whole)."""
    shown = item_id if item_id is not None else (case.id if case else 0)
    if case is None or not allowed or not access.may_see_case(target, case):
        audit.record(
            "case.escalate",
            "work_item" if item_id is not None else "case",
            shown,
            actor,
            case_id=case.id if case else None,
            outcome="denied",
            detail={"to": target.id},
        )
        return ItemResult(
            shown, False, _("%(name)s さんの監督の範囲外です。", name=target.display_name), title
        )
    pending = select(Escalation.id).where(
        Escalation.case_id == case.id,
        Escalation.to_user_id == target.id,
        Escalation.resolved_at.is_(None),
    )
    if db.session.scalar(pending.limit(1)) is not None:
        return ItemResult(
            shown,
            False,
            _(
                "すでに %(name)s さんに回してあります（対応済みになるまで）。",
                name=target.display_name,
            ),
            title,
        )
    db.session.add(
        Escalation(
            case_id=case.id,
            work_item_id=item_id,
            from_user_id=actor.id,
            to_user_id=target.id,
            reason=reason,
        )
    )
    audit.record(
        "case.escalate",
        "case",
        case.id,
        actor,
        case_id=case.id,
        detail={"to": target.id, "to_name": target.display_name, "reason": reason},
    )
    return ItemResult(
        shown, True, _("%(name)s さんに回しました。", name=target.display_name), title
    )


def resolve(escalation_id: int, actor: User) -> ItemResult:
    """The receiver marks a handed-on case dealt with; it leaves their list."""
    _require_supervisor(actor, "case.escalation_resolve")
    row = db.session.get(Escalation, escalation_id)
    if row is None or row.to_user_id != actor.id or row.resolved_at is not None:
        audit.record_alone(
            "case.escalation_resolve", "escalation", escalation_id, actor, outcome="denied"
        )
        raise NotFound(_("この依頼は見つからないか、すでに対応済みです。"))
    row.resolved_at = utcnow()
    audit.record("case.escalation_resolve", "case", row.case_id, actor, case_id=row.case_id)
    db.session.commit()
    return ItemResult(escalation_id, True, _("対応済みにしました。"))
