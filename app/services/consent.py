"""Consent (本人同意) as a first-class record: checked before every share, withdrawable, overridable
only by a permitted role with a reason and a named legal basis — and always audited."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import Agency, Case, Consent, User, WorkItem
from app.services import access, audit, clock, definitions, events, forms, records
from app.services.errors import Conflict, Forbidden, InvalidInput, NotFound

# The purposes a consent names and a sharing step declares (``sharesInformation`` on the task).
PURPOSES = {
    "referral": _l("他の窓口へのつなぎ"),
    "coordination": _l("多機関協働での支援の検討（アセスメント・支援プラン）"),
    "conference": _l("重層的支援会議での検討"),
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


def gaps(consent: Consent, agency: Agency | None, purpose: str, kinds: set[str]) -> list[str]:
    """What of a share this consent does not cover, in words (empty: it covers all three parts:
    the agency, the purpose and every kind of information). An empty list in a consent means all."""
    missing = []
    if agency is not None and not covers(consent, agency):
        missing.append(agency.name)
    if consent.purposes and purpose not in consent.purposes:
        missing.append(_("目的「%(name)s」", name=str(PURPOSES.get(purpose, purpose))))
    if consent.info_kinds:
        for kind in sorted(kinds - set(consent.info_kinds)):
            missing.append(_("情報「%(name)s」", name=str(forms.INFO_KINDS.get(kind, kind))))
    return missing


def shares(item: WorkItem) -> str | None:
    """The purpose for which completing the task shares the case beyond the window holding it, as
    its diagram declares it (``sharesInformation``), or ``None``."""
    purpose = definitions.task_properties(item).get("sharesInformation")
    return purpose if purpose in PURPOSES else None


def unshared(case: Case, item: WorkItem, schema: dict[str, Any]) -> list[str] | None:
    """Before a sharing step is filled in: what the standing consent does not cover (``None`` when
    the step shares nothing or is covered), so the page can say so before anyone types. A
    referral is judged when its target is chosen, on submission."""
    purpose = shares(item)
    if purpose is None or purpose == "referral":
        return None
    default = schema.get("x-infoKind")
    kinds = {default} if isinstance(default, str) else set()
    found = [gaps(c, None, purpose, kinds) for c in active(case)]
    if any(not missing for missing in found):
        return None
    return sorted({m for missing in found for m in missing}) or [_("有効な同意がありません")]


def check_share(
    case: Case,
    item: WorkItem,
    data: dict[str, Any],
    actor: User,
    schema: dict[str, Any] | None = None,
    override: tuple[str, str] | None = None,
) -> None:
    """Refuse a referral or share the consent does not cover (agency, purpose or kind of
    information), unless a permitted role records an override with a legal basis and a reason."""
    target = None
    kinds = forms.info_kinds_in(schema or {}, data)
    purpose = shares(item)
    if purpose is None:
        return
    what: Any = item.title
    if purpose == "referral":
        code = records.referral_target(data)
        if code is None:
            return  # this time the step refers the case nowhere
        target = db.session.scalar(select(Agency).where(Agency.code == code))
        if target is None:
            raise InvalidInput(
                _("つなぎ先の窓口が見つかりません。"),
                fields={"referral_to": _("つなぎ先の窓口を一覧から選んでください。")},
            )
        what = _("%(agency)sへのつなぎ", agency=target.name)
    found = [gaps(c, target, purpose, kinds) for c in active(case)]
    if any(not missing for missing in found):
        return
    outside = sorted({m for missing in found for m in missing})
    # The override comes with the form when the form has its fields (first assessment), or
    # beside it (the page's override block on the other sharing steps).
    basis, reason = override or (
        data.get("consent_override_basis"),
        data.get("consent_override_reason"),
    )
    reason = (reason or "").strip() if isinstance(reason, str) else ""
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
                _(
                    "同意によらない情報共有を行う権限がありません。スーパーバイザーに相談してください。"
                )
            )
        audit.record(
            "consent.override",
            "case",
            case.id,
            actor,
            case_id=case.id,
            detail={
                "basis": access.OVERRIDE_BASES[basis],
                "reason": reason,
                "step": item.element_id,
            },
        )
        return
    audit.record_alone(
        "consent.check",
        "case",
        case.id,
        actor,
        case_id=case.id,
        outcome="denied",
        detail={"step": item.element_id, "outside": outside},
    )
    beyond = (
        _("（範囲外: %(items)s）", items=_("、").join(outside))
        if outside
        else _("（有効な同意がありません）")
    )
    raise Forbidden(
        _(
            "本人の同意の範囲外のため、%(what)sはできません%(beyond)s。"
            "同意を得るか、権限のある職員が法的根拠と理由を記録してください。",
            what=str(what),
            beyond=beyond,
        ),
        fields={"consent_override_reason": _("同意の範囲外です。")},
    )


def withdraw(
    case: Case, consent_id: int, actor: User, reason: str, today: date | None = None
) -> Consent:
    """Record that the person withdrew consent; further sharing stops at once."""
    consent = db.session.get(Consent, consent_id)
    if consent is None or consent.case_id != case.id:
        raise NotFound(_("指定された同意の記録は見つかりません。"))
    if consent.withdrawn_on is not None:
        raise Conflict(_("この同意はすでに撤回されています。"))
    if not reason.strip() or forms.unusable_text(reason):
        raise InvalidInput(
            _("撤回の理由（本人の申し出の内容）を入力してください。"),
            fields={"reason": _("必須項目です。入力してください。")},
        )
    consent.withdrawn_on = today or clock.today()
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


def record_form(intake_schema: dict[str, Any] | None) -> dict[str, Any]:
    """The form for consent obtained after intake: the intake's own 同意日 and 同意の範囲 fields, so
    both places ask the same questions."""
    props = (intake_schema or {}).get("properties") or {}
    return {
        "type": "object",
        "properties": {
            key: props[key] for key in ("consent_date", "consent_scope") if key in props
        },
        "required": ["consent_date"],
        "additionalProperties": False,
    }


def record_obtained(
    case: Case, actor: User, data: dict[str, Any], schema: dict[str, Any], today: date | None = None
) -> Consent:
    """Record that the person has now consented (with its scope), from the case page.

    The 支援会議 material on the case is re-scoped into the consent channel, and a flow that is
    waiting for consent (the no-consent path) moves on at once.
    """
    today = today or clock.today()
    forms.validate(schema, data)
    given_on = date.fromisoformat(data["consent_date"])
    if given_on > today:
        raise InvalidInput(
            _("入力内容に誤りがあります。各項目のメッセージを確認してください。"),
            fields={"consent_date": _("今日より後の日付は入力できません。")},
        )
    scope = dict(data.get("consent_scope") or {})
    row = records.record_consent_obtained(case, scope, "case_page", actor, given_on)
    audit.record(
        "consent.record",
        "case",
        case.id,
        actor,
        case_id=case.id,
        detail={"given_on": given_on.isoformat(), "scope": scope},
    )
    waiting = events.waiting_for(case, "consent_obtained")
    if waiting:
        events.deliver("consent_obtained", case.number, {"recorded": True}, actor)
    else:
        db.session.commit()
    return row
