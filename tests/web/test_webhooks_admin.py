"""管理 › 外部連携: administrators only; a URL that cannot receive is a form error in Japanese (never
a 500); the secret is shown only when asked, uncached, and every showing and change is audited."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, WebhookSubscription
from tests.conftest import ServerLikeClient
from tests.web.support import csrf_from, log_in


def person(app: Flask, username: str) -> FlaskClient:
    client = ServerLikeClient(app, app.response_class, use_cookies=True)
    assert log_in(client, username).status_code == 302
    return client


@pytest.fixture
def admin_web(ctx: Flask, demo: None) -> FlaskClient:
    return person(ctx, "demo-admin")


def actions(prefix: str = "webhook.") -> list[tuple[str, str]]:
    db.session.expire_all()
    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.like(f"{prefix}%")).order_by(AuditEvent.id)
    )
    return [(row.action, row.outcome) for row in rows]


def create(web: FlaskClient, url: str, kinds: list[str] | None = None) -> object:
    token = csrf_from(web.get("/admin/webhooks"))
    form = {"csrf_token": token, "name": "庁内連携基盤", "url": url}
    form["event_kinds"] = ["case.opened", "case.closed"] if kinds is None else kinds
    return web.post("/admin/webhooks", data=form)


def test_only_administrators_reach_the_pages_and_refusals_are_audited(
    ctx: Flask, demo: None
) -> None:
    web = person(ctx, "demo-supervisor")
    assert web.get("/admin/webhooks").status_code == 403
    assert web.post("/admin/webhooks", data={}).status_code in (400, 403)
    db.session.expire_all()
    denied = db.session.scalar(
        select(func.count()).where(
            AuditEvent.actor_name == "demo-supervisor", AuditEvent.outcome == "denied"
        )
    )
    assert denied >= 1


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "送信先のURLを入力してください。"),
        ("ftp://files.example.jp/in", "http:// か https:// で始めてください"),
        ("javascript:alert(1)", "http:// か https:// で始めてください"),
        ("https://", "URLの形式が正しくありません"),
        ("https://example.jp:99999/x", "URLの形式が正しくありません"),
        ("https://example.jp/a b", "空白や制御文字を含まない"),
        ("https://user:pw@example.jp/in", "利用者名やパスワードを含めないでください"),
        ("https://" + "a" * 500 + ".jp", "500文字以内"),
    ],
)
def test_a_url_that_cannot_receive_is_a_form_error_not_a_500(
    admin_web: FlaskClient, url: str, words: str
) -> None:
    page = create(admin_web, url)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert words in html and 'aria-invalid="true"' in html
    assert db.session.scalar(select(func.count()).select_from(WebhookSubscription)) == 0


def test_no_event_chosen_is_a_form_error(admin_web: FlaskClient) -> None:
    page = create(admin_web, "https://renkei.city.example.jp/kasane", kinds=[])
    assert page.status_code == 422
    assert "送信するできごとを1つ以上選んでください。" in page.get_data(as_text=True)


def test_the_secret_is_shown_only_when_asked_uncached_and_audited(admin_web: FlaskClient) -> None:
    created = create(admin_web, "https://renkei.city.example.jp/kasane")
    assert created.status_code == 302
    [row] = db.session.scalars(select(WebhookSubscription))
    assert row.event_kinds == ["case.opened", "case.closed"] and len(row.secret) == 64
    page = admin_web.get(created.location)
    html = page.get_data(as_text=True)
    assert row.secret not in html and "ケースの受付、ケースの終結" in html
    token = csrf_from(page)

    shown = admin_web.post(created.location, data={"csrf_token": token, "action": "secret"})

    assert shown.status_code == 200 and row.secret in shown.get_data(as_text=True)
    assert shown.headers["Cache-Control"] == "no-store" and shown.mimetype == "text/html"
    stopped = admin_web.post(created.location, data={"csrf_token": token, "action": "deactivate"})
    assert stopped.status_code == 302
    assert "停止中" in admin_web.get("/admin/webhooks").get_data(as_text=True)
    assert actions() == [
        ("webhook.create", "ok"),
        ("webhook.secret_view", "ok"),
        ("webhook.deactivate", "ok"),
    ]


def test_unknown_actions_and_records_are_answered_in_japanese(admin_web: FlaskClient) -> None:
    created = create(admin_web, "http://127.0.0.1:9/in")
    token = csrf_from(admin_web.get(created.location))
    odd = admin_web.post(created.location, data={"csrf_token": token, "action": "drop"})
    assert odd.status_code == 422 and "操作の指定が正しくありません。" in odd.get_data(as_text=True)
    missing = admin_web.get("/admin/webhooks/4242")
    assert missing.status_code == 404
    assert "指定された送信先は見つかりません。" in missing.get_data(as_text=True)
    gone = admin_web.post(f"{created.location}/deliveries/4242/resend", data={"csrf_token": token})
    assert gone.status_code == 404

    tried = admin_web.post(created.location, data={"csrf_token": token, "action": "test"})
    assert tried.status_code == 302
    page = admin_web.get(created.location).get_data(as_text=True)
    assert "テスト送信は届きませんでした（接続を拒否されました" in page and "Error" not in page
    assert (
        "届かなかった（テスト送信は送り直しません）" in page and "再送する" not in page
    )  # not sent again
    assert "送信を断念" not in page.split("<tbody>")[1]
