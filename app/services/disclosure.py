"""For auditors: search the audit trail, and produce a person's record with its disclosure history (本人開示)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select

from app.extensions import db
from app.models import (
    AuditEvent,
    Case,
    Consent,
    FormSubmission,
    Person,
    Referral,
    SupportPlan,
    User,
    WorkItem,
)
from app.services import audit
from app.services.errors import Forbidden, InvalidInput, NotFound

AUDITOR = "auditor"


@dataclass
class AuditQuery:
    person_id: int | None = None
    username: str | None = None
    since: date | None = None
    until: date | None = None
    limit: int = 200


def _require_auditor(actor: User, what: str) -> None:
    if actor.role != AUDITOR:
        audit.record_alone(what, "audit", None, actor, outcome="denied")
        raise Forbidden(_("監査記録を扱えるのは監査担当だけです。"))


def search(actor: User, query: AuditQuery) -> list[AuditEvent]:
    """Audit events by person, by user and by period (newest first); the search itself is audited."""
    _require_auditor(actor, "audit.search")
    if not 1 <= query.limit <= 1000:
        raise InvalidInput(
            _("件数は1〜1000で指定してください。"), fields={"limit": _("範囲外です。")}
        )
    stmt = select(AuditEvent)
    if query.person_id is not None:
        stmt = stmt.where(
            AuditEvent.case_id.in_(select(Case.id).where(Case.person_id == query.person_id))
        )
    if query.username:
        stmt = stmt.where(AuditEvent.actor_name == query.username)
    if query.since:
        stmt = stmt.where(
            AuditEvent.at >= datetime.combine(query.since, datetime.min.time()).astimezone()
        )
    if query.until:
        stmt = stmt.where(
            AuditEvent.at < datetime.combine(query.until, datetime.max.time()).astimezone()
        )
    rows = list(
        db.session.scalars(
            stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(query.limit)
        )
    )
    audit.record(
        "audit.search",
        "audit",
        None,
        actor,
        detail={k: (str(v) if v is not None else None) for k, v in query.__dict__.items()},
    )
    db.session.commit()
    return rows


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def person_record(actor: User, person_id: int) -> bytes:
    """The person's record and who accessed it, as a JSON file (UTF-8); the export is audited."""
    _require_auditor(actor, "disclosure.export")
    person = db.session.get(Person, person_id)
    if person is None:
        raise NotFound(_("指定された人の記録は見つかりません。"))
    case_rows = list(
        db.session.scalars(select(Case).where(Case.person_id == person.id).order_by(Case.id))
    )
    case_ids = [c.id for c in case_rows]
    document = {
        "generated_at": datetime.now().astimezone().isoformat(),
        "person": {
            k: _plain(getattr(person, k))
            for k in ("name", "kana", "birth_date", "sex", "address", "phone")
        },
        "cases": [
            {
                "number": c.number,
                "title": c.title,
                "status": c.status,
                "stage": c.stage,
                "opened": _plain(c.created_at),
                "closed": _plain(c.closed_at),
                "intake": c.intake,
            }
            for c in case_rows
        ],
        "consents": [
            {
                "given_on": _plain(r.given_on),
                "agencies": r.agencies,
                "info_kinds": r.info_kinds,
                "purpose": r.purpose,
                "withdrawn_on": _plain(r.withdrawn_on),
            }
            for r in db.session.scalars(select(Consent).where(Consent.case_id.in_(case_ids)))
        ],  # fmt: skip
        "referrals": [
            {
                "to": r.to_agency.name,
                "status": r.status,
                "purpose": r.purpose,
                "consent_basis": r.consent_basis,
            }
            for r in db.session.scalars(select(Referral).where(Referral.case_id.in_(case_ids)))
        ],
        "plans": [
            {
                "version": p.version,
                "plan_start": _plain(p.plan_start),
                "plan_end": _plain(p.plan_end),
                "goals": [g.goal for g in p.goals],
            }
            for p in db.session.scalars(
                select(SupportPlan).where(SupportPlan.case_id.in_(case_ids))
            )
        ],  # fmt: skip
        "records": [
            {"form": s.form_key, "at": _plain(s.submitted_at), "data": s.data}
            # 106条の6 material is not disclosed through this channel.
            for s in db.session.scalars(
                select(FormSubmission)
                .outerjoin(WorkItem, WorkItem.id == FormSubmission.work_item_id)
                .where(
                    FormSubmission.case_id.in_(case_ids),
                    or_(WorkItem.id.is_(None), WorkItem.council_material.is_(False)),
                )
                .order_by(FormSubmission.id)
            )
        ],
        "disclosure_history": [
            {"at": _plain(e.at), "who": e.actor_name, "action": e.action, "outcome": e.outcome}
            for e in db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.case_id.in_(case_ids))
                .order_by(AuditEvent.at, AuditEvent.id)
            )
        ],
    }
    audit.record("disclosure.export", "person", person.id, actor, detail={"cases": case_ids})
    db.session.commit()
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
