"""The staff workspace through HTTP: intake, inbox, task forms with errors, conflicts, case pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Case, WorkItem
from app.services import clock, definitions
from tests.conftest import ServerLikeClient
from tests.web.support import csrf_from, log_in

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture
def staff(ctx: Flask, demo: None):
    """Log in people in separate browsers-worth of cookies; the real processes are deployed."""
    definitions.deploy([str(ROOT / "processes")], str(ROOT / "forms"))

    def person(username: str) -> FlaskClient:
        client = ServerLikeClient(ctx, ctx.response_class, use_cookies=True)
        assert log_in(client, username).status_code == 302
        return client

    return person


def open_case(
    window: FlaskClient, title: str = "母の介護と息子の仕事の相談", **fields: object
) -> int:
    """Record an intake through the page (extra form fields by their dotted names) and return the case id."""
    response = post_intake(window, title, **fields)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def post_intake(window: FlaskClient, title: str, **fields: object):  # noqa: ANN201 - a response
    """Fill and send the intake page (extra form fields by their dotted names)."""
    page = window.get("/cases/new")
    assert page.status_code == 200
    data = {
        "csrf_token": csrf_from(page),
        "title": title,
        "received_on": "2026-04-06",
        "route": "family",
        "method": "visit",
        "concerns": ["care", "income"],
        "most_pressing": "care",
    }
    data.update({name.replace("__", "."): value for name, value in fields.items()})
    return window.post("/cases/new", data=data)


def task_id(case_id: int, element: str) -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(WorkItem.id).where(
            WorkItem.case_id == case_id, WorkItem.element_id == element, WorkItem.status == "open"
        )
    )


def submit(client: FlaskClient, item_id: int, data: dict, action: str = "complete"):
    page = client.get(f"/tasks/{item_id}")
    return client.post(
        f"/tasks/{item_id}", data={"csrf_token": csrf_from(page), "action": action, **data}
    )


def test_intake_form_refuses_bad_input_and_keeps_what_was_typed(staff) -> None:
    window = staff("demo-elderly")
    page = window.get("/cases/new")
    html = page.get_data(as_text=True)
    assert "相談受付・申込票" in html and "最も困っていること" in html
    assert f'value="{clock.today().isoformat()}"' in html  # 受付日 starts as today
    response = window.post(
        "/cases/new",
        data={
            "csrf_token": csrf_from(page),
            "title": "",
            "received_on": "2026-13-45",
            "wishes": "家で暮らしたい",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "件名は必須です。入力してください。" in html
    assert "日付（YYYY-MM-DD）の形式で入力してください。" in html
    assert "家で暮らしたい" in html and "2026-13-45" in html
    assert db.session.scalar(select(func.count(Case.id))) == 0


def test_inbox_task_and_case_page_follow_the_work(staff) -> None:
    window = staff("demo-elderly")
    case_id = open_case(window)
    case_page = window.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "初期アセスメント" in case_page and 'data-active="first_assessment"' in case_page
    inbox = window.get("/inbox").get_data(as_text=True)
    assert "初期アセスメント（世帯全体）と対応の判断" in inbox and "K-" in inbox
    item = task_id(case_id, "first_assessment")
    bad = submit(window, item, {"main_complaint": "介護と仕事", "decision": "coordination"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'aria-invalid="true"' in html and "介護と仕事" in html
    ok = submit(
        window,
        item,
        {"main_complaint": "介護と仕事", "decision": "coordination", "consent": "given"},
    )
    assert ok.status_code == 302
    coordinator = staff("demo-coordinator")
    inbox = coordinator.get("/inbox?queue=coordination").get_data(as_text=True)
    assert "多機関協働の受付" in inbox
    assert (
        coordinator.get("/inbox?q=K-&stage=coordination&sort=priority&overdue=no").status_code
        == 200
    )
    assert coordinator.get("/inbox?page=abc").status_code == 422


def test_second_user_sees_plainly_that_the_task_is_already_done(staff) -> None:
    window = staff("demo-elderly")
    case_id = open_case(window)
    item = task_id(case_id, "first_assessment")
    other_tab = window.get(f"/tasks/{item}")
    assert submit(window, item, {"decision": "window"}).status_code == 302
    page = window.get(f"/tasks/{item}").get_data(as_text=True)
    assert "このタスクはすでに完了しています" in page
    late = window.post(
        f"/tasks/{item}",
        data={"csrf_token": csrf_from(other_tab), "action": "complete", "decision": "window"},
    )
    assert late.status_code == 409 and "すでに完了しています" in late.get_data(as_text=True)


def test_draft_is_kept_and_claim_release_work_from_the_inbox(staff) -> None:
    window = staff("demo-elderly")
    case_id = open_case(window)
    item = task_id(case_id, "first_assessment")
    assert (
        submit(window, item, {"main_complaint": "下書きの内容"}, action="draft").status_code == 302
    )
    assert "下書きの内容" in window.get(f"/tasks/{item}").get_data(as_text=True)
    inbox = window.get("/inbox")
    token = csrf_from(inbox)
    assert (
        window.post(
            f"/work-items/{item}/claim", data={"csrf_token": token, "next": "/inbox"}
        ).status_code
        == 302
    )
    assert db.session.get(WorkItem, item).assignee_id is not None
    assert window.post(f"/work-items/{item}/release", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(WorkItem, item).assignee_id is None


def test_other_windows_cannot_open_the_case_or_its_tasks(staff) -> None:
    window = staff("demo-elderly")
    case_id = open_case(window)
    item = task_id(case_id, "first_assessment")
    other = staff("demo-child")
    assert other.get(f"/cases/{case_id}").status_code == 404
    assert other.get(f"/tasks/{item}").status_code == 404
    assert other.get(f"/cases/{case_id}/diagram.bpmn").status_code == 404
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
    assert sorted(e.action for e in denied) == ["case.view", "case.view", "work_item.view"]
    assert {e.actor_name for e in denied} == {"demo-child"}


def test_case_page_diagram_is_served_for_the_viewer(staff) -> None:
    window = staff("demo-elderly")
    case_id = open_case(window)
    response = window.get(f"/cases/{case_id}/diagram.bpmn")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert re.search(r'<bpmn:userTask id="first_assessment"', response.get_data(as_text=True))


def test_case_page_hides_restricted_fields_from_other_windows_and_records_withdrawal(staff) -> None:
    window = staff("demo-elderly")
    case_id = open_case(
        window,
        "DV被害の疑いがある世帯",
        concerns=["dv_abuse"],
        person__name="高橋 由美",
        person__address="避難先の住所（秘匿）",
        consent_given="on",
        consent_date="2026-04-06",
        consent_scope__purpose="生活の立て直しのため",
    )
    own = window.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "高橋 由美" in own and "避難先の住所（秘匿）" in own and "有効" in own
    item = task_id(case_id, "first_assessment")
    done = submit(
        window,
        item,
        {"decision": "referral", "referral_to": "poverty-center", "referral_purpose": "家計の相談"},
    )
    assert done.status_code == 302
    other = staff("demo-poverty")
    seen = other.get(f"/cases/{case_id}").get_data(as_text=True)
    assert (
        "高橋 由美" in seen
        and "避難先の住所（秘匿）" not in seen
        and "取扱注意のため表示しません" in seen
    )
    assert "【デモ】くらし自立相談支援窓口" in seen  # the referral is listed with its target
    consent_id = int(re.search(r"/consents/(\d+)/withdraw", own).group(1))
    withdrawn = window.post(
        f"/cases/{case_id}/consents/{consent_id}/withdraw",
        data={
            "csrf_token": csrf_from(window.get(f"/cases/{case_id}")),
            "reason": "本人から共有停止の申し出",
        },
    )
    assert withdrawn.status_code == 302
    assert "撤回済み" in window.get(f"/cases/{case_id}").get_data(as_text=True)
    assert other.get(f"/cases/{case_id}").status_code == 404


def test_inbox_search_finds_cases_by_name_or_kana_and_is_audited(staff) -> None:
    window = staff("demo-elderly")
    open_case(window, "生活の相談", person__name="山田 花子", person__kana="ヤマダ ハナコ")
    open_case(window, "別の相談")
    for query, hits in [
        ("山田花子", 1),
        ("やまだ", 1),
        ("ﾔﾏﾀﾞ", 1),
        ("ハナコ", 1),
        ("佐藤", 0),
        ("K-2026-", 2),
    ]:
        html = window.get("/inbox", query_string={"q": query}).get_data(as_text=True)
        assert html.count("初期アセスメント（世帯全体）と対応の判断") == hits, query
    searches = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "work_item.search")
    ).all()
    assert {e.detail["query"] for e in searches} >= {"山田花子", "やまだ", "ヤマダ"}


def test_every_inbox_listing_is_audited(staff) -> None:
    window = staff("demo-elderly")
    open_case(window)
    window.get("/inbox")
    window.get("/inbox", query_string={"q": "K-2026"})
    rows = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action.in_(["work_item.list", "work_item.search"]))
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.detail["count"]) for e in rows] == [
        ("work_item.list", 1),
        ("work_item.search", 1),
    ]
    assert rows[1].detail["query"] == "K-2026"


def test_supervisor_reassigns_a_task_to_a_member_of_its_queue(staff) -> None:
    window = staff("demo-elderly")
    case_id = open_case(window)
    first = task_id(case_id, "first_assessment")
    submit(window, first, {"decision": "coordination", "consent": "given"})
    item = task_id(case_id, "coordination_intake")
    supervisor = staff("demo-supervisor")
    page = supervisor.get(f"/tasks/{item}").get_data(as_text=True)
    options = re.findall(
        r'<option value="([a-z-]+)">', page.split('name="assignee"')[1].split("</select>")[0]
    )
    assert set(options) == {"demo-coordinator", "demo-supervisor"}
    moved = supervisor.post(
        f"/tasks/{item}/reassign",
        data={
            "csrf_token": csrf_from(supervisor.get(f"/tasks/{item}")),
            "assignee": "demo-coordinator",
        },
    )
    assert moved.status_code == 302
    db.session.expire_all()
    assert db.session.get(WorkItem, item).assignee.username == "demo-coordinator"
    coordinator = staff("demo-coordinator")
    refused = coordinator.post(
        f"/tasks/{item}/reassign",
        data={
            "csrf_token": csrf_from(coordinator.get(f"/tasks/{item}")),
            "assignee": "demo-supervisor",
        },
    )
    assert refused.status_code == 403


def test_an_intake_for_another_window_ends_in_the_inbox_not_on_a_case_it_cannot_open(
    staff,
) -> None:
    window = staff("demo-elderly")
    response = post_intake(window, "隣の窓口の相談", agency="poverty-center")
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox")
    inbox = window.get("/inbox").get_data(as_text=True)
    assert "を受け付け、" in inbox and "に渡しました" in inbox
    case = db.session.scalar(select(Case).where(Case.title == "隣の窓口の相談"))
    assert case is not None and case.intake_agency.code == "poverty-center"
