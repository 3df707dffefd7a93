"""Tries to break the sharing rules: another agency's case, no consent, a withdrawn consent, overrides."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Agency, AuditEvent, Consent, Referral, WorkItem
from app.services import cases, consent, inbox, users, work_items
from app.services.errors import Forbidden, NotFound
from tests.harness import Flow, first_assessment, plan


def denied(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action, AuditEvent.outcome == "denied")
        )
    )


def referral(to: str = "child-center", **extra: object) -> dict:
    return first_assessment("referral", referral_to=to, referral_purpose="子どもの相談", **extra)


def item_of(flow: Flow, element: str) -> WorkItem:
    return next(i for i in flow.open_items() if i.element_id == element)


@pytest.mark.parametrize(
    "username",
    [
        "demo-child",
        "demo-poverty",
        "demo-admin",
        "demo-statistician",
        "demo-council",
        "demo-auditor",
    ],
)
def test_other_windows_and_content_less_roles_get_not_found(flow: Flow, username: str) -> None:
    case = flow.open_case()
    item = item_of(flow, "first_assessment")
    with pytest.raises(NotFound):
        cases.get(case.id, flow.user(username))
    with pytest.raises(NotFound):
        work_items.get(item.id, flow.user(username))
    assert {e.actor_name for e in denied("case.view")} == {username}
    assert inbox.listing(flow.user(username), inbox.ItemFilter()).total == 0


def test_referral_outside_consent_is_refused_and_audited(flow: Flow) -> None:
    flow.open_case()
    with pytest.raises(Forbidden, match="同意の範囲外"):
        flow.complete("first_assessment", "demo-elderly", referral())
    assert [e.detail["step"] for e in denied("consent.check")] == ["first_assessment"]
    assert db.session.scalars(select(Referral)).all() == []
    assert flow.waiting() == {"first_assessment": "agency:elderly-center"}


def test_consent_scoped_to_other_agencies_does_not_cover_this_referral(flow: Flow) -> None:
    window = flow.user("demo-elderly")
    case = cases.open_case(
        window,
        "【テスト】範囲つきの同意",
        {
            "received_on": flow.today(),
            "concerns": ["care"],
            "consent_given": True,
            "consent_date": flow.today(),
            "consent_scope": {"agencies": ["poverty-center"], "purpose": "家計の相談"},
        },
    )
    flow.case = case
    with pytest.raises(Forbidden):
        flow.complete("first_assessment", "demo-elderly", referral("child-center"))
    flow.complete("first_assessment", "demo-elderly", referral("poverty-center"))
    assert flow.waiting() == {"referral_review": "agency:poverty-center"}


def test_override_needs_a_permitted_role_a_basis_and_a_reason(flow: Flow) -> None:
    flow.open_case()
    override = {
        "consent_override_basis": "life_protection",
        "consent_override_reason": "食事がとれず衰弱している",
    }
    with pytest.raises(Forbidden, match="権限がありません"):
        flow.complete("first_assessment", "demo-elderly", referral(**override))
    elderly = db.session.scalar(select(Agency).where(Agency.code == "elderly-center"))
    chief = users.create_user(
        "sv-elderly",
        "【テスト】地域包括 所長",
        "Kasane-Chief-2026!",
        "supervisor",
        agency_id=elderly.id,
    )
    db.session.commit()
    with pytest.raises(Forbidden, match="同意の範囲外"):
        flow.complete(
            "first_assessment", chief.username, referral(consent_override_basis="life_protection")
        )
    flow.complete("first_assessment", chief.username, referral(**override))
    [event] = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "consent.override", AuditEvent.outcome == "ok"
        )
    ).all()
    assert event.detail["basis"] == "生命・身体の保護" and event.actor_name == "sv-elderly"
    [sent] = db.session.scalars(select(Referral)).all()
    assert sent.consent_basis == "override"
    review = item_of(flow, "referral_review")
    assert work_items.get(review.id, flow.user("demo-child")).id == review.id


def test_withdrawn_consent_stops_sharing_at_once(flow: Flow) -> None:
    case = flow.open_case(consent=True)
    flow.complete("first_assessment", "demo-elderly", referral())
    review = item_of(flow, "referral_review")
    child = flow.user("demo-child")
    assert cases.get(case.id, child).id == case.id
    [given] = db.session.scalars(select(Consent).where(Consent.case_id == case.id)).all()
    consent.withdraw(
        case, given.id, flow.user("demo-elderly"), "本人から共有をやめてほしいと申し出"
    )
    with pytest.raises(NotFound):
        cases.get(case.id, child)
    with pytest.raises(NotFound):
        work_items.get(review.id, child)
    assert (
        cases.get(case.id, flow.user("demo-elderly")).id == case.id
    )  # the own window keeps its record
    assert (
        db.session.scalar(select(AuditEvent).where(AuditEvent.action == "consent.withdraw"))
        is not None
    )


def test_plan_conference_needs_standing_consent(flow: Flow) -> None:
    case = flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    flow.complete("coordination_intake", "demo-coordinator", {"coordination_decision": "accept"})
    flow.complete("assessment", "demo-coordinator", {"main_complaint": "世帯の課題"})
    flow.complete("support_plan", "demo-coordinator", plan())
    [given] = db.session.scalars(select(Consent).where(Consent.case_id == case.id)).all()
    consent.withdraw(case, given.id, flow.user("demo-elderly"), "撤回の申し出")
    with pytest.raises(Forbidden, match="重層的支援会議"):
        flow.complete(
            "plan_conference",
            "demo-supervisor",
            {
                "conference_date": flow.today(),
                "conference_outcome": "approve",
                "resources_sufficient": True,
            },
        )
    assert flow.waiting() == {"plan_conference": "coordination"}


def test_withdrawal_and_reopening_refuse_unstorable_text(flow: Flow) -> None:
    from app.services.errors import InvalidInput

    case = flow.open_case(consent=True)
    [given] = db.session.scalars(select(Consent).where(Consent.case_id == case.id)).all()
    with pytest.raises(InvalidInput):
        consent.withdraw(case, given.id, flow.user("demo-elderly"), "理由\x00")
    assert db.session.get(Consent, given.id).withdrawn_on is None
