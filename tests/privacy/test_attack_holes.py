"""The holes an attack run found in listings, counts and refusals (issue 11): each one stays closed."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Consent, Group, User, WorkItem
from app.services import case_view, cases, consent, inbox, overview, work_items
from app.services.errors import Forbidden, InvalidInput, NotFound
from tests.harness import Flow, first_assessment, plan
from tests.web.support import csrf_from, log_in


def denied(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.outcome == "denied")
            .order_by(AuditEvent.id)
        )
    )


def referred_then_withdrawn(flow: Flow) -> WorkItem:
    """A case referred to the child window with consent; then the person withdraws it."""
    flow.open_case(title="【テスト】撤回された世帯", consent=True)
    flow.complete(
        "first_assessment",
        "demo-elderly",
        first_assessment("referral", referral_to="child-center", referral_purpose="子育ての相談"),
    )
    [item] = flow.open_items()
    assert item.queue == "agency:child-center"
    assert inbox.listing(flow.user("demo-child"), inbox.ItemFilter()).total == 1
    [row] = db.session.scalars(select(Consent)).all()
    consent.withdraw(flow.case, row.id, flow.user("demo-elderly"), "本人から撤回の申し出")
    return item


def test_a_withdrawn_consent_leaves_nothing_in_the_referred_windows_lists(
    flow: Flow, client: FlaskClient
) -> None:
    item = referred_then_withdrawn(flow)
    child = flow.user("demo-child")
    for flt in (
        inbox.ItemFilter(),
        inbox.ItemFilter(q="撤回された世帯"),
        inbox.ItemFilter(queue="agency:child-center"),
    ):
        assert inbox.listing(child, flt).total == 0
    assert {c.key: c.open_count for c in overview.queue_counts(child)} == {"agency:child-center": 0}
    with pytest.raises(NotFound):
        work_items.get(item.id, child)
    log_in(client, "demo-child")
    page = client.get("/inbox").get_data(as_text=True)
    assert "撤回された世帯" not in page and flow.case.number not in page
    api = client.get("/api/v1/work-items", query_string={"q": "撤回された世帯"}).get_json()
    assert api["total"] == 0 and api["items"] == []
    assert client.get(f"/api/v1/work-items/{item.id}").status_code == 404


def test_the_council_task_is_the_chairs_and_opens_no_case_page(flow: Flow) -> None:
    flow.open_case(title="【テスト】同意のない世帯")
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="not_given")
    )
    [item] = flow.open_items()
    assert item.element_id == "support_council" and item.council_material
    # A non-chair in the 支援会議 group (and the council member) neither sees nor counts the task.
    coordinator = flow.user("demo-coordinator")
    coordinator.groups.append(
        db.session.scalar(select(Group).where(Group.key == "support_council"))
    )
    db.session.commit()
    for username in ("demo-council", "demo-coordinator"):
        user = flow.user(username)
        assert inbox.listing(user, inbox.ItemFilter()).total == 0
        assert sum(c.open_count for c in overview.queue_counts(user)) == 0
        with pytest.raises(NotFound):
            work_items.get(item.id, user)
        with pytest.raises(NotFound):
            cases.get(flow.case.id, user)
    chair = flow.user("demo-supervisor")
    assert work_items.get(item.id, chair).id == item.id
    assert [c.username for c in work_items.candidates(item)] == ["demo-supervisor"]
    # Chairing the meeting does not open the ordinary case page before consent.
    with pytest.raises(NotFound):
        cases.get(flow.case.id, chair)
    with pytest.raises(InvalidInput):
        work_items.reassign(item.id, chair, "demo-coordinator")
    assert [e.detail.get("to") for e in denied("work_item.reassign")] == ["demo-coordinator"]


def test_refusals_on_work_items_are_audited(flow: Flow, client: FlaskClient) -> None:
    flow.open_case()
    [item] = flow.open_items()
    work_items.claim(item.id, flow.user("demo-elderly"))
    db.session.add(
        User(
            username="demo-elderly-2",
            display_name="【デモ】介護 窓口相談員2",
            password_hash="x",
            role="window_worker",
            agency_id=flow.user("demo-elderly").agency_id,
        )
    )
    db.session.commit()
    colleague = flow.user("demo-elderly-2")
    with pytest.raises(Forbidden):
        work_items.release(item.id, colleague)
    with pytest.raises(Forbidden):
        work_items.reassign(item.id, colleague, "demo-elderly-2")
    with pytest.raises(NotFound):
        inbox.listing(colleague, inbox.ItemFilter(queue="coordination"))
    assert [e.actor_name for e in denied("work_item.release")] == ["demo-elderly-2"]
    assert [e.actor_name for e in denied("work_item.reassign")] == ["demo-elderly-2"]
    assert [e.object_id for e in denied("work_item.list")] == ["coordination"]
    log_in(client, "demo-elderly")
    assert client.get(f"/api/v1/work-items/{item.id}").status_code == 200
    reads = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "work_item.view", AuditEvent.outcome == "ok")
    ).all()
    assert [(e.actor_name, e.object_id) for e in reads] == [("demo-elderly", str(item.id))]


def scoped_case(flow: Flow, **scope: object) -> None:
    """A case whose person consented within ``scope`` (agencies, info_kinds, purposes)."""
    flow.case = cases.open_case(
        flow.user("demo-elderly"),
        "【テスト】範囲つきの同意",
        {
            "received_on": flow.today(),
            "concerns": ["care"],
            "person": {"name": "山田 花子", "kana": "やまだ はなこ"},
            "consent_given": True,
            "consent_date": flow.today(),
            "consent_scope": {"purpose": "本人の言葉で", **scope},
        },
    )


@pytest.mark.parametrize(
    ("scope", "outside"),
    [
        (
            {"purposes": ["referral"]},
            "目的「多機関協働での支援の検討（アセスメント・支援プラン）」",
        ),
        ({"info_kinds": ["basic", "consultation"]}, "情報「これまでの支援の経過」"),
    ],
)
def test_a_plan_shares_only_the_purposes_and_kinds_the_person_agreed_to(
    flow: Flow, scope: dict, outside: str
) -> None:
    scoped_case(flow, **scope)
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    flow.complete("coordination_intake", "demo-coordinator", {"coordination_decision": "accept"})
    flow.complete("assessment", "demo-coordinator", {"main_complaint": "世帯の複合的な課題"})
    with pytest.raises(Forbidden, match=outside):
        flow.complete("support_plan", "demo-coordinator", plan())
    [refusal] = denied("consent.check")
    assert refusal.detail["outside"] == [outside]
    assert "support_plan" in flow.waiting()


def test_a_referred_window_sees_only_the_kinds_of_information_consented(flow: Flow) -> None:
    scoped_case(flow, info_kinds=["basic"])
    flow.complete(
        "first_assessment",
        "demo-elderly",
        first_assessment(
            "referral",
            referral_to="child-center",
            referral_purpose="子育ての相談",
            household_members=[
                {
                    "relation": "孫",
                    "involved_window": "child-center",
                    "involved_contact": "担当 佐藤",
                }
            ],
        ),
    )
    own = case_view.build(flow.refresh(), flow.user("demo-elderly"))
    assert own.withheld == [] and [m.relation for m in own.household] == ["本人", "孫"]
    [(window, contact)] = own.household[1].windows
    assert contact == "担当 佐藤" and "こども家庭センター" in window
    child = flow.user("demo-child")
    view = case_view.build(cases.get(flow.case.id, child), child)
    assert view.person["name"] == "山田 花子"
    assert view.household == [] and view.plans == []
    assert view.withheld == ["世帯の状況", "これまでの支援の経過"]
    assert not [e for e in view.timeline if e.kind == "support_history"]


def test_drafts_are_bounded_and_typed_but_may_be_incomplete(
    flow: Flow, client: FlaskClient
) -> None:
    flow.open_case()
    [item] = flow.open_items()
    log_in(client, "demo-elderly")
    token = csrf_from(client.get(f"/tasks/{item.id}"))
    base = {"csrf_token": token, "action": "draft"}
    huge = client.post(f"/tasks/{item.id}", data={**base, "main_complaint": "あ" * 950_000})
    assert huge.status_code in (413, 422)
    wrong = client.post(f"/tasks/{item.id}", data={**base, "urgency": "tomorrow"})
    assert wrong.status_code == 422 and "選択肢の中から選んでください" in wrong.get_data(True)
    db.session.expire_all()
    assert db.session.get(WorkItem, item.id).draft is None
    partial = client.post(f"/tasks/{item.id}", data={**base, "main_complaint": "母の介護"})
    assert partial.status_code == 302
    db.session.expire_all()
    assert db.session.get(WorkItem, item.id).draft == {"main_complaint": "母の介護"}
    with pytest.raises(InvalidInput) as refused:
        work_items.save_draft(item.id, flow.user("demo-elderly"), {"x": "y" * 250_000})
    assert "大きすぎます" in refused.value.fields["_form"]


def test_a_refused_api_token_is_audited(client: FlaskClient, demo: None) -> None:
    answer = client.get("/api/v1/work-items", headers={"Authorization": "Bearer junk"})
    assert answer.status_code == 401
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.token")).all()
    assert (event.outcome, event.detail["reason"]) == ("failure", "unknown_token")
    assert "junk" not in str(event.detail)
