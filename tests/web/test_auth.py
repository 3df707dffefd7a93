"""Logging in and out, what the home page shows, and how the API authenticates."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ProcessDefinition, ProcessInstance, WorkItem
from app.services import users
from app.services.demo import DEMO_PASSWORD
from tests.conftest import ServerLikeClient
from tests.web.support import COORDINATOR, csrf_from, log_in


@pytest.fixture
def web(client: FlaskClient, demo: None) -> FlaskClient:
    return client


def audit_rows(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def test_login_page_is_japanese_with_labelled_fields(web: FlaskClient) -> None:
    page = web.get("/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="ja">' in html
    assert "本文へ移動" in html
    assert '<label for="username">ユーザー名</label>' in html
    assert '<label for="password">パスワード</label>' in html


def test_anonymous_user_is_sent_to_login_and_back_afterwards(web: FlaskClient) -> None:
    first = web.get("/")
    assert first.status_code == 302
    assert first.headers["Location"].startswith("/login")

    login_page = web.get(first.headers["Location"])
    assert "ログインしてください。" in login_page.get_data(as_text=True)
    assert 'name="next" value="/"' in login_page.get_data(as_text=True)


def test_login_shows_who_i_am_and_my_queues(web: FlaskClient) -> None:
    done = log_in(web)
    assert done.status_code == 302
    assert done.headers["Location"] == "/"

    home = web.get("/")
    html = home.get_data(as_text=True)
    assert home.status_code == 200
    assert "【デモ】相談支援包括化推進員" in html
    assert "相談支援包括化推進員（多機関協働）" in html
    assert "【デモ】市 福祉総務課（多機関協働）" in html
    assert '<th scope="row"><a href="/inbox?queue=coordination">多機関協働</a></th>' in html
    ok = audit_rows("auth.login")
    assert [(e.outcome, e.actor_name) for e in ok] == [("ok", COORDINATOR)]


def test_home_counts_open_work_per_queue_and_mine(web: FlaskClient) -> None:
    me = users.find(COORDINATOR)
    definition = ProcessDefinition(
        key="p",
        version=1,
        name="p",
        file_name="p.bpmn",
        bpmn_xml="<x/>",
        content_hash="h",
        deployed_by="t",
    )
    db.session.add(definition)
    db.session.flush()
    instance = ProcessInstance(definition_id=definition.id)
    db.session.add(instance)
    db.session.flush()
    rows = [
        ("coordination", "open", me.id),
        ("coordination", "open", None),
        ("coordination", "completed", None),
        ("agency:welfare-division", "open", None),
        ("outreach", "open", None),
    ]
    for n, (queue, status, assignee) in enumerate(rows):
        db.session.add(
            WorkItem(
                instance_id=instance.id,
                task_id=f"t{n}",
                element_id="e",
                title="t",
                queue=queue,
                status=status,
                assignee_id=assignee,
            )
        )
    db.session.commit()

    log_in(web)
    html = web.get("/").get_data(as_text=True)
    cells = re.findall(
        r'<th scope="row"><a href="/inbox\?queue=[^"]+">([^<]+)</a></th>'
        r'<td class="num"><a href="[^"]+">(\d+)件</a></td>',
        html,
    )
    assert cells == [("多機関協働", "2"), ("【デモ】市 福祉総務課（多機関協働）", "1")]
    assert re.search(r"自分の担当：<strong[^>]*>1</strong>件", html)


def test_wrong_password_is_refused_kept_and_audited(web: FlaskClient) -> None:
    refused = log_in(web, password="not-the-password")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 401
    assert "ユーザー名またはパスワードが正しくありません。" in html
    assert f'value="{COORDINATOR}"' in html
    assert "not-the-password" not in html
    assert web.get("/").status_code == 302

    failures = audit_rows("auth.login")
    assert [(e.outcome, e.detail) for e in failures] == [("failure", {"username": COORDINATOR})]


def test_login_without_csrf_token_is_refused(web: FlaskClient) -> None:
    web.get("/login")
    refused = web.post("/login", data={"username": COORDINATOR, "password": DEMO_PASSWORD})
    assert refused.status_code == 400
    assert web.get("/").status_code == 302


def test_next_goes_back_to_a_page_on_this_site_only(web: FlaskClient) -> None:
    assert log_in(web, next="/?tab=mine").headers["Location"] == "/?tab=mine"
    web.post("/logout", data={"csrf_token": csrf_from(web.get("/"))})
    for hostile in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/\t/evil.example",
    ]:
        assert log_in(web, next=hostile).headers["Location"] == "/", hostile
        web.post("/logout", data={"csrf_token": csrf_from(web.get("/"))})


def test_logout_needs_post_with_csrf(web: FlaskClient) -> None:
    log_in(web)
    assert web.get("/logout").status_code == 405
    assert web.post("/logout").status_code == 400
    assert web.get("/").status_code == 200

    token = csrf_from(web.get("/"))
    out = web.post("/logout", data={"csrf_token": token})
    assert out.status_code == 302
    assert out.headers["Location"] == "/login"
    assert "ログアウトしました。" in web.get("/login").get_data(as_text=True)
    assert web.get("/").status_code == 302
    assert len(audit_rows("auth.logout")) == 1


def test_a_deactivated_user_loses_their_session(web: FlaskClient) -> None:
    log_in(web)
    users.find(COORDINATOR).active = False
    db.session.commit()
    assert web.get("/").status_code == 302


def test_api_without_credentials_is_401_json(web: FlaskClient) -> None:
    answer = web.get("/api/v1/work-items")
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "unauthorized"


def test_api_accepts_a_live_bearer_token_only(web: FlaskClient) -> None:
    user = users.find(COORDINATOR)
    token = users.create_token(user)
    bearer = {"Authorization": f"Bearer {token}"}

    listed = web.get("/api/v1/work-items", headers=bearer)
    assert listed.status_code == 200
    assert listed.get_json()["items"] == []

    users.revoke_tokens(user)
    revoked = web.get("/api/v1/work-items", headers=bearer)
    assert revoked.status_code == 401
    assert revoked.get_json()["error"]["code"] == "unauthorized"


def test_bearer_token_does_not_open_the_pages(web: FlaskClient) -> None:
    token = users.create_token(users.find(COORDINATOR))
    assert web.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 302


def test_api_writes_need_csrf_with_a_session_but_not_with_a_token(web: FlaskClient) -> None:
    log_in(web)
    refused = web.post("/api/v1/work-items/1/claim")
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "csrf"

    token = users.create_token(users.find("demo-outreach"))
    without_session = ServerLikeClient(web.application, web.application.response_class)
    by_token = without_session.post(
        "/api/v1/work-items/1/claim", headers={"Authorization": f"Bearer {token}"}
    )
    assert by_token.status_code == 404
    assert by_token.get_json()["error"]["code"] == "not_found"


def test_error_page_lists_field_problems_for_anonymous_users(ctx: Flask) -> None:
    from flask import render_template

    with ctx.test_request_context("/somewhere"):
        html = render_template(
            "error.html",
            status=422,
            message="入力内容に誤りがあります。",
            fields={"title": "必須項目です。"},
        )
    assert "入力内容に誤りがあります。" in html
    assert "422" in html
    # The message is listed; the internal field key is never shown to the person.
    assert "<li>必須項目です。</li>" in html and "title" not in html.split("<main", 1)[1]
    assert "ログアウト" not in html
