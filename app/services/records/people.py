"""Records from intake and the window: the person, household and members, consent, referrals."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Agency,
    Case,
    Consent,
    Household,
    HouseholdMember,
    Involvement,
    MeetingCase,
    Person,
    Referral,
    ReferralEvent,
    User,
)
from app.services import audit, clock

Data = dict[str, Any]


def as_date(value: Any, default: date | None = None) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else default
    except ValueError:
        return default


# Key under which a recorder finds the chosen options in words (never a form field: forms refuse
# additional properties and field names starting with "_").
WORDS = "_words"


def agency_by_code(code: Any) -> Agency | None:
    if not isinstance(code, str) or not code:
        return None
    return db.session.scalar(select(Agency).where(Agency.code == code))


def record_intake(case: Case, intake: Data, actor: User) -> None:
    """The 相談受付・申込票: the person (unless anonymous), their household, and any consent given."""
    person_data = intake.get("person") or {}
    if not intake.get("anonymous"):
        person = Person(
            name=person_data.get("name"),
            kana=person_data.get("kana"),
            birth_date=as_date(person_data.get("birth_date")),
            sex=person_data.get("sex"),
            address=person_data.get("address"),
            phone=person_data.get("phone"),
            contact_note=person_data.get("contact_note"),
        )
    else:
        person = Person(anonymous=True)
    db.session.add(person)
    household = Household(label=f"{person.name or '匿名の相談者'}の世帯")
    db.session.add(household)
    db.session.flush()
    db.session.add(
        HouseholdMember(
            household_id=household.id, person_id=person.id, relation="本人", roles=["key_person"]
        )
    )
    case.person_id, case.household_id = person.id, household.id
    received = as_date(intake.get("received_on"), clock.today())
    if intake.get("consent_given"):
        scope = intake.get("consent_scope") or {}
        db.session.add(
            Consent(
                case_id=case.id,
                person_id=person.id,
                agencies=list(scope.get("agencies") or []),
                info_kinds=list(scope.get("info_kinds") or []),
                purpose=scope.get("purpose"),
                purposes=list(scope.get("purposes") or []),
                given_on=as_date(intake.get("consent_date"), received),
                source="intake",
                recorded_by_id=actor.id,
            )
        )


def first_assessment(case: Case, data: Data, actor: User) -> None:
    if case.household_id is not None and data.get("household_members"):
        existing = {
            (m.relation, m.age_group)
            for m in db.session.scalars(
                select(HouseholdMember).where(HouseholdMember.household_id == case.household_id)
            )
        }
        for row in data.get("household_members") or []:
            key = (row.get("relation"), row.get("age_group"))
            if row.get("relation") == "本人" or key in existing:
                continue
            member = HouseholdMember(
                household_id=case.household_id,
                relation=row.get("relation", ""),
                age_group=row.get("age_group"),
                living_together=bool(row.get("living_together", True)),
                roles=[row["role"]] if row.get("role") and row.get("role") != "none" else [],
            )
            db.session.add(member)
            db.session.flush()
            window = agency_by_code(row.get("involved_window"))
            if window is not None:
                # Minimal disclosure: which window and whom to contact, never what it is doing.
                db.session.add(
                    Involvement(
                        member_id=member.id,
                        agency_id=window.id,
                        contact=row.get("involved_contact"),
                    )
                )
    if (
        data.get("decision") == "coordination"
        and data.get("consent") == "given"
        and not _has_consent(case)
    ):
        record_consent_obtained(case, data.get("decision_reason"), "first_assessment", actor)
    if referral_target(data) is not None:
        target = agency_by_code(referral_target(data))
        if target is not None:
            referral = Referral(
                case_id=case.id,
                from_agency_id=case.primary_agency_id,
                to_agency_id=target.id,
                purpose=data.get("referral_purpose"),
                consent_basis=_referral_basis(case, data),
            )
            db.session.add(referral)
            db.session.flush()
            db.session.add(ReferralEvent(referral_id=referral.id, status="sent", actor_id=actor.id))
            audit.record(
                "referral.status", "referral", referral.id, actor, case_id=case.id,
                detail={"status": "sent", "to": target.code, "basis": referral.consent_basis},
            )  # fmt: skip


def referral_target(data: Data) -> str | None:
    """The window the first assessment refers the case to, when its decision is a referral."""
    target = data.get("referral_to")
    return target if data.get("decision") == "referral" and isinstance(target, str) else None


def _referral_basis(case: Case, data: Data) -> str:
    if _has_consent(case):
        return "consent"
    return "override" if data.get("consent_override_basis") else "none"


def _has_consent(case: Case) -> bool:
    return bool(
        db.session.scalar(
            select(func.count(Consent.id)).where(
                Consent.case_id == case.id, Consent.withdrawn_on.is_(None)
            )
        )
    )


def referral_review(case: Case, data: Data, actor: User) -> None:
    referral = db.session.scalar(
        select(Referral)
        .where(Referral.case_id == case.id, Referral.status == "sent")
        .order_by(Referral.id.desc())
    )
    if referral is None:
        return
    accepted = data.get("referral_accepted") == "accepted"
    referral.status = "accepted" if accepted else "declined"
    referral.decline_reason = None if accepted else data.get("decline_reason")
    db.session.add(
        ReferralEvent(
            referral_id=referral.id,
            status=referral.status,
            actor_id=actor.id,
            note=referral.decline_reason,
        )
    )
    audit.record(
        "referral.status",
        "referral",
        referral.id,
        actor,
        case_id=case.id,
        detail={"status": referral.status},
    )
    if accepted:
        case.primary_agency_id = referral.to_agency_id


def record_consent_obtained(
    case: Case, scope: Any, source: str, actor: User | None, given_on: date | None = None
) -> Consent:
    """Consent obtained later (outreach, the case page, or a message from another system): the
    支援会議 material on the case is re-scoped into the consent channel.

    ``scope`` is the intake's 同意の範囲 (agencies, info_kinds, purposes, purpose) or plain words."""
    for agenda in db.session.scalars(
        select(MeetingCase).where(MeetingCase.case_id == case.id, MeetingCase.rescoped_on.is_(None))
    ):
        agenda.rescoped_on = clock.today()
    parts = (
        scope if isinstance(scope, dict) else {"purpose": scope if isinstance(scope, str) else None}
    )
    row = Consent(
        case_id=case.id,
        person_id=case.person_id,
        agencies=list(parts.get("agencies") or []),
        info_kinds=list(parts.get("info_kinds") or []),
        purposes=list(parts.get("purposes") or []),
        purpose=parts.get("purpose") if isinstance(parts.get("purpose"), str) else None,
        given_on=given_on or clock.today(),
        source=source,
        recorded_by_id=actor.id if actor else None,
    )
    db.session.add(row)
    return row


def outreach_visit(case: Case, data: Data, actor: User) -> None:
    if data.get("visit_result") == "consent_obtained":
        record_consent_obtained(case, data.get("consent_scope"), "outreach", actor)
