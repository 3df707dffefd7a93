"""Consent (本人同意) as a first-class record: checked before every share, withdrawable, overridable
only by a permitted role with a reason and a named legal basis — and always audited."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Agency, Case, Consent, User
from app.services import access, audit, forms
from app.services.errors import Conflict, Forbidden, InvalidInput, NotFound

# Forms whose completion shares the case's information beyond the window that holds it.
SHARING_STEPS = {
    "support_plan": "支援プランの作成（関係機関での共有）",
    "plan_conference": "重層的支援会議",
}


def active(case: Case) -> list[Consent]:
    return list(
        db.session.scalars(
            select(Consent)
            .where(Consent.case_id == case.id, Consent.withdrawn_on.is_(None))
            .order_by(Consent.id)
        )
    )


def covers(consent: Consent, agency: Agency) -> bool:
    """An empty agency list means the person agreed to sharing with the agencies involved."""
    return (
        not consent.agencies or agency.code in consent.agencies or agency.name in consent.agencies
    )


def check_share(case: Case, element_id: str, data: dict[str, Any], actor: User) -> None:
    """Refuse a referral or share the consent does not cover, unless a permitted override is given."""
    target = None
    if element_id == "first_assessment" and data.get("decision") == "referral":
        target = db.session.scalar(select(Agency).where(Agency.code == data.get("referral_to")))
        if target is None:
            raise InvalidInput(
                "つなぎ先の窓口が見つかりません。",
                fields={"referral_to": "登録されている窓口のコードを入力してください。"},
            )
        what = f"{target.name}へのつなぎ"
    elif element_id in SHARING_STEPS:
        what = SHARING_STEPS[element_id]
    else:
        return
    if any(target is None or covers(c, target) for c in active(case)):
        return
    basis, reason = (
        data.get("consent_override_basis"),
        (data.get("consent_override_reason") or "").strip(),
    )
    if basis in access.OVERRIDE_BASES and reason:
        if not access.may_override_consent(actor):
            audit.record_alone(
                "consent.override",
                "case",
                case.id,
                actor,
                case_id=case.id,
                outcome="denied",
                detail={"basis": basis},
            )
            raise Forbidden(
                "同意によらない情報共有を行う権限がありません。スーパーバイザーに相談してください。"
            )
        audit.record(
            "consent.override",
            "case",
            case.id,
            actor,
            case_id=case.id,
            detail={"basis": access.OVERRIDE_BASES[basis], "reason": reason, "step": element_id},
        )
        return
    audit.record_alone(
        "consent.check",
        "case",
        case.id,
        actor,
        case_id=case.id,
        outcome="denied",
        detail={"step": element_id},
    )
    raise Forbidden(
        f"本人の同意の範囲外のため、{what}はできません。同意を得るか、権限のある職員が法的根拠と理由を記録してください。",
        fields={"consent_override_basis": "同意の範囲外です。"},
    )


def withdraw(case: Case, consent_id: int, actor: User, reason: str) -> Consent:
    """Record that the person withdrew consent; further sharing stops at once."""
    consent = db.session.get(Consent, consent_id)
    if consent is None or consent.case_id != case.id:
        raise NotFound("指定された同意の記録は見つかりません。")
    if consent.withdrawn_on is not None:
        raise Conflict("この同意はすでに撤回されています。")
    if not reason.strip() or forms.unusable_text(reason):
        raise InvalidInput(
            "撤回の理由（本人の申し出の内容）を入力してください。",
            fields={"reason": "必須項目です。入力してください。"},
        )
    consent.withdrawn_on = date.today()
    consent.withdrawal_reason = reason.strip()
    audit.record(
        "consent.withdraw",
        "consent",
        consent.id,
        actor,
        case_id=case.id,
        detail={"reason": reason.strip()},
    )
    db.session.commit()
    return consent
