"""Handing a stuck case on to another supervisor (エスカレーション): the receiver finds it on their
stalled list with the reason, until they mark it dealt with. Audited on the case's timeline."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import Case, Escalation, User
from app.models.base import utcnow
from app.services import access, audit
from app.services.errors import InvalidInput, NotFound
from app.services.supervision import scope as scopes
from app.services.supervision.actions import (
    ItemResult,
    _chosen,
    _reason,
    _require_supervisor,
    _workable,
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


def escalate_many(item_ids: list[int], username: str, reason: str, actor: User) -> list[ItemResult]:
    """Hand each chosen item's case to another supervisor, with the reason. Refused for an item the
    receiver could not open (outside their scope): the receiver must be able to act on it."""
    scope = _require_supervisor(actor, "case.escalate")
    ids = _chosen(item_ids)
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
    for item in _workable(ids, scope, actor, "case.escalate", results):
        case = db.session.get(Case, item.case_id) if item.case_id else None
        if (
            case is None
            or item.queue not in scopes.of(target).queues
            or not access.may_see_case(target, case)
        ):
            audit.record(
                "case.escalate",
                "work_item",
                item.id,
                actor,
                case_id=item.case_id,
                outcome="denied",
                detail={"to": target.id},
            )
            results.append(
                ItemResult(
                    item.id,
                    False,
                    _("%(name)s さんの監督の範囲外です。", name=target.display_name),
                    item.title,
                )
            )
            continue
        db.session.add(
            Escalation(
                case_id=case.id,
                work_item_id=item.id,
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
        results.append(
            ItemResult(
                item.id,
                True,
                _("%(name)s さんに回しました。", name=target.display_name),
                item.title,
            )
        )
    db.session.commit()
    return results


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
