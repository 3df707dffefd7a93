"""Noting integration events where a change happens, and turning them into one delivery per
subscription as that change commits (in the same transaction).

``on_audit`` is called by ``audit.record`` for every audited change and picks out the ones a
receiving system hears of; ``case_closing`` is called as a case's flow ends. The notes wait on the
session until it commits: a change rolled back sends nothing, a change committed is never lost, and
the body shows the case as the change left it. The body is a pointer (ids, case number, stage,
agencies), never a name, a birth date or what was said.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Case, Referral, SupportPlan
from app.models.base import utcnow
from app.models.users import Agency
from app.models.webhooks import WebhookDelivery, WebhookSubscription

_NOTES = "kasane_webhook_events"


@dataclass
class _Note:
    kind: str
    case_id: int
    at: datetime
    referral_id: int | None = None
    plan_id: int | None = None


def on_audit(row: Mapping[str, Any]) -> None:
    """Note the integration event an audited change is, if it is one (called by ``audit.record``
    with the audit row's values)."""
    case_id, action = row["case_id"], row["action"]
    if case_id is None or row["outcome"] != "ok":
        return
    status = (row["detail"] or {}).get("status")
    if action == "case.create":
        _note(_Note("case.opened", case_id, utcnow()))
    elif action == "referral.status" and status in ("sent", "accepted"):
        _note(_Note(f"referral.{status}", case_id, utcnow(), referral_id=int(row["object_id"])))
    elif action == "plan.approve":
        _note(_Note("plan.approved", case_id, utcnow(), plan_id=int(row["object_id"])))


def case_closing(case: Case) -> None:
    """Note that a case's flow has ended (called as it is marked closed; once per closing)."""
    if case.status != "closed" and case.id is not None:
        _note(_Note("case.closed", case.id, utcnow()))


def _note(note: _Note) -> None:
    db.session.info.setdefault(_NOTES, []).append(note)


@event.listens_for(Session, "before_commit")
def _enqueue_noted(session: Session) -> None:
    """Turn the events noted in this transaction into deliveries, as it commits, with the case as
    the change left it (its stage and agencies after the step, not before)."""
    notes: list[_Note] = session.info.pop(_NOTES, None) or []
    if not notes:
        return
    subscriptions = list(
        session.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True)))
    )
    if not subscriptions:
        return
    last: dict[tuple[int, int], int] = {}
    for note in notes:
        case = session.get(Case, note.case_id)
        wanted = [s for s in subscriptions if note.kind in (s.event_kinds or [])]
        if case is None or not wanted:
            continue
        # Another transaction numbering this case's events (a second process of the case) waits
        # here until this one commits, so two events never get the same sequence number.
        session.execute(select(Case.id).where(Case.id == case.id).with_for_update())
        body = _event_body(session, note, case)
        for subscription in wanted:
            key = (subscription.id, case.id)
            if key not in last:
                last[key] = session.scalar(
                    select(func.coalesce(func.max(WebhookDelivery.sequence), 0)).where(
                        WebhookDelivery.subscription_id == subscription.id,
                        WebhookDelivery.case_id == case.id,
                    )
                )
            last[key] += 1
            delivery_id = str(uuid.uuid4())
            session.add(
                WebhookDelivery(
                    uuid=delivery_id,
                    subscription_id=subscription.id,
                    event_kind=note.kind,
                    case_id=case.id,
                    sequence=last[key],
                    payload={"id": delivery_id, "sequence": last[key], **body},
                    status="pending",
                    attempts=0,
                    next_attempt_at=note.at,
                    created_at=note.at,
                )
            )


@event.listens_for(Session, "after_soft_rollback")
def _forget_noted(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_NOTES, None)


def _agency(session: Session, agency_id: int | None) -> dict[str, str] | None:
    agency = session.get(Agency, agency_id) if agency_id else None
    return {"code": agency.code, "name": agency.name} if agency else None


def _event_body(session: Session, note: _Note, case: Case) -> dict[str, Any]:
    """What a receiver is told: which case, where it stands, which agencies; no personal data."""
    body: dict[str, Any] = {
        "kind": note.kind,
        "occurred_at": note.at.isoformat(),
        "case": {
            "id": case.id,
            "number": case.number,
            "cycle": case.cycle,
            "status": "closed" if note.kind == "case.closed" else case.status,
            "stage": case.stage,
            "intake_agency": _agency(session, case.intake_agency_id),
            "primary_agency": _agency(session, case.primary_agency_id),
        },
    }
    referral = session.get(Referral, note.referral_id) if note.referral_id else None
    if referral is not None:
        body["referral"] = {
            "id": referral.id,
            "status": note.kind.removeprefix("referral."),
            "from_agency": _agency(session, referral.from_agency_id),
            "to_agency": _agency(session, referral.to_agency_id),
        }
    plan = session.get(SupportPlan, note.plan_id) if note.plan_id else None
    if plan is not None:
        approved = plan.approved_on.isoformat() if plan.approved_on else None
        body["plan"] = {"id": plan.id, "version": plan.version, "approved_on": approved}
    return body
