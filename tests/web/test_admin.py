"""The system administrator's pages: users, groups and settings, for admins only and without case content."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Group, User
from app.services import queues, setting_form, settings, users
from app.services.demo import DEMO_PASSWORD
from tests.conftest import ServerLikeClient
from tests.harness import Flow
from tests.web.support import csrf_from, log_in

NEW_PASSWORD = "Kasane-Start-2026"
PAGES = ["/admin", "/admin/users", "/admin/groups", "/admin/settings"]


def person(app: Flask, username: str, password: str = DEMO_PASSWORD) -> FlaskClient:
    client = ServerLikeClient(app, app.response_class, use_cookies=True)
    assert log_in(client, username, password).status_code == 302
    return client


@pytest.fixture
def admin_web(ctx: Flask, demo: None) -> FlaskClient:
    return person(ctx, "demo-admin")


def user_named(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def events(action: str, outcome: str = "ok") -> list[AuditEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.outcome == outcome)
            .order_by(AuditEvent.id)
        )
    )


def new_user_form(page: str, **changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "csrf_token": page,
        "username": "tanaka.k",
        "display_name": "田中 健",
        "role": "window_worker",
        "agency": "poverty-center",
        "groups": ["outreach", "participation"],
        "password": NEW_PASSWORD,
    }
    form.update(changes)
    return form


def settings_form(token: str, **changes: str) -> dict[str, str]:
    current = settings.current()
    form = {
        key: str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in current.items()
    }
    form.update(changes, csrf_token=token)
    return form


def post_user_action(web: FlaskClient, user_id: int, **data: str):
    token = csrf_from(web.get(f"/admin/users/{user_id}"))
    return web.post(f"/admin/users/{user_id}", data={"csrf_token": token, **data})


def test_admin_creates_a_user_who_can_then_log_in(ctx: Flask, admin_web: FlaskClient) -> None:
    token = csrf_from(admin_web.get("/admin/users"))
    created = admin_web.post("/admin/users", data=new_user_form(token))
    assert created.status_code == 302

    user = user_named("tanaka.k")
    assert user is not None and created.headers["Location"] == f"/admin/users/{user.id}"
    assert (user.display_name, user.role, user.agency.code) == (
        "田中 健",
        "window_worker",
        "poverty-center",
    )
    assert user.queue_keys() == ["outreach", "participation"] and user.active and not user.is_demo
    listing = admin_web.get("/admin/users").get_data(as_text=True)
    assert (
        "tanaka.k" in listing
        and "窓口相談員" in listing
        and "【デモ】くらし自立相談支援窓口" in listing
    )

    (event,) = events("user.create")
    assert event.actor_name == "demo-admin" and event.object_id == str(user.id)
    assert event.detail["groups"] == ["outreach", "participation"]
    assert NEW_PASSWORD not in str(event.detail)

    newcomer = person(ctx, "tanaka.k", NEW_PASSWORD)
    assert "田中 健" in newcomer.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("username", "Tanaka K", "ユーザー名は英小文字・数字と「.」「_」「-」で、3〜80文字にしてください。"),
        ("username", "demo-elderly", "このユーザー名はすでに使われています。"),
        ("password", "kasane", "パスワードは10文字以上にしてください。"),
        ("password", "tanaka.k-Secret-1", "パスワードにユーザー名を含めないでください。"),
        ("role", "root", "役割を一覧から選んでください。"),
        ("display_name", "  ", "表示名を入力してください。"),
        ("groups", ["outreach", "no_such_group"], "グループを一覧から選んでください。"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_next_to_the_field_and_nothing_is_saved(
    admin_web: FlaskClient, field: str, value: object, message: str
) -> None:
    before = db.session.scalar(select(func.count(User.id)))
    token = csrf_from(admin_web.get("/admin/users"))
    refused = admin_web.post("/admin/users", data=new_user_form(token, **{field: value}))

    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert message in html and 'role="alert"' in html
    assert f'id="{field}-error"' in html
    assert re.search(
        rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error"[^>]*aria-invalid="true"', html
    )
    # What was typed stays, except the password, which is never sent back.
    assert 'value="田中 健"' in html or field == "display_name"
    assert NEW_PASSWORD not in html and 'value="outreach" checked' in html
    assert db.session.scalar(select(func.count(User.id))) == before
    assert events("user.create") == []


def test_changing_groups_is_audited_with_before_and_after(admin_web: FlaskClient) -> None:
    worker = user_named("demo-elderly")
    answer = post_user_action(
        admin_web,
        worker.id,
        action="access",
        role="window_worker",
        agency="elderly-center",
        groups=["outreach", "supervisors"],
    )
    assert answer.status_code == 302

    assert user_named("demo-elderly").queue_keys() == ["outreach", "supervisors"]
    (event,) = events("permission.change")
    assert event.actor_name == "demo-admin" and event.object_id == str(worker.id)
    assert event.detail["before"] == {
        "role": "window_worker",
        "agency": "elderly-center",
        "groups": [],
    }
    assert event.detail["after"] == {
        "role": "window_worker",
        "agency": "elderly-center",
        "groups": ["outreach", "supervisors"],
    }

    # Submitting the same access again changes nothing and adds no event.
    again = post_user_action(
        admin_web, worker.id, action="access", role="window_worker", agency="elderly-center",
        groups=["outreach", "supervisors"],
    )  # fmt: skip
    assert again.status_code == 302 and len(events("permission.change")) == 1

    unknown = post_user_action(
        admin_web, worker.id, action="access", role="root", agency="elderly-center"
    )
    assert unknown.status_code == 422 and "役割を一覧から選んでください。" in unknown.get_data(
        as_text=True
    )
    assert user_named("demo-elderly").role == "window_worker"


def test_deactivation_ends_the_session_and_revokes_tokens(
    ctx: Flask, admin_web: FlaskClient
) -> None:
    worker = user_named("demo-elderly")
    bearer = {"Authorization": f"Bearer {users.create_token(worker)}"}
    session = person(ctx, "demo-elderly")
    api = ServerLikeClient(ctx, ctx.response_class, use_cookies=False)
    assert session.get("/inbox").status_code == 200
    assert api.get("/api/v1/work-items", headers=bearer).status_code == 200

    answer = post_user_action(admin_web, worker.id, action="deactivate")
    assert answer.status_code == 302
    assert "APIトークン 1 件を失効" in admin_web.get(answer.headers["Location"]).get_data(
        as_text=True
    )

    logged_out = session.get("/inbox")
    assert logged_out.status_code == 302 and logged_out.headers["Location"].startswith("/login")
    assert api.get("/api/v1/work-items", headers=bearer).status_code == 401
    assert log_in(ServerLikeClient(ctx, ctx.response_class), "demo-elderly").status_code == 401
    (event,) = events("user.deactivate")
    assert event.actor_name == "demo-admin" and event.detail["tokens_revoked"] == 1
    assert [e.actor_name for e in events("token.revoke")] == ["demo-admin"]

    assert post_user_action(admin_web, worker.id, action="activate").status_code == 302
    assert len(events("user.activate")) == 1
    assert person(ctx, "demo-elderly").get("/inbox").status_code == 200
    # The revoked token stays revoked.
    assert api.get("/api/v1/work-items", headers=bearer).status_code == 401


def test_an_admin_cannot_deactivate_themself_or_drop_their_own_role(admin_web: FlaskClient) -> None:
    me = user_named("demo-admin")
    own_page = admin_web.get(f"/admin/users/{me.id}").get_data(as_text=True)
    assert 'value="deactivate"' not in own_page

    refused = post_user_action(admin_web, me.id, action="deactivate")
    assert refused.status_code == 422
    assert "自分自身を無効にすることはできません。" in refused.get_data(as_text=True)
    demoted = post_user_action(admin_web, me.id, action="access", role="auditor", agency="")
    assert demoted.status_code == 422
    assert "自分自身のシステム管理者の役割は外せません。" in demoted.get_data(as_text=True)

    me = user_named("demo-admin")
    assert me.active and me.role == "admin"
    assert events("user.deactivate") == [] and events("permission.change") == []


def test_password_reset_replaces_the_password_and_is_never_logged(
    ctx: Flask, admin_web: FlaskClient
) -> None:
    worker = user_named("demo-poverty")
    weak = post_user_action(admin_web, worker.id, action="password", password="password")
    assert weak.status_code == 422
    assert "パスワードは10文字以上にしてください。" in weak.get_data(as_text=True)
    assert events("user.password_reset") == []

    assert (
        post_user_action(admin_web, worker.id, action="password", password=NEW_PASSWORD).status_code
        == 302
    )
    fresh = ServerLikeClient(ctx, ctx.response_class)
    assert log_in(fresh, "demo-poverty", DEMO_PASSWORD).status_code == 401
    assert log_in(fresh, "demo-poverty", NEW_PASSWORD).status_code == 302
    (event,) = events("user.password_reset")
    assert event.object_id == str(worker.id) and NEW_PASSWORD not in str(event.detail)


def test_a_new_group_receives_the_lane_of_the_same_name(admin_web: FlaskClient) -> None:
    token = csrf_from(admin_web.get("/admin/groups"))
    created = admin_web.post(
        "/admin/groups", data={"csrf_token": token, "key": "housing", "name": "住まい支援"}
    )
    assert created.status_code == 302
    assert "住まい支援" in admin_web.get("/admin/groups").get_data(as_text=True)
    assert queues.resolve({"住まい支援"}, None) == {"住まい支援": "housing"}
    assert [e.detail for e in events("group.create")] == [{"key": "housing", "name": "住まい支援"}]

    for key, name, message in [
        ("Housing!", "住まい", "キーは英小文字・数字と「_」で、2〜80文字にしてください。"),
        ("housing2", "住まい支援", "この名前は既存のグループのキーまたは名前と重なっています。"),
        ("housing3", "主担当機関", "この名前はケースごとに決まるレーン名として予約されています。"),
    ]:
        refused = admin_web.post(
            "/admin/groups", data={"csrf_token": token, "key": key, "name": name}
        )
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422 and message in html
        assert f'value="{key}"' in html and f'value="{name}"' in html
    assert db.session.scalar(select(func.count(Group.id))) == 7


def test_settings_are_saved_audited_and_validated(admin_web: FlaskClient) -> None:
    token = csrf_from(admin_web.get("/admin/settings"))
    saved = admin_web.post(
        "/admin/settings",
        data=settings_form(
            token, stall_after_days="14", support_decision_required="false", revisit_after="P7D"
        ),
    )
    assert saved.status_code == 302
    db.session.expire_all()
    now = settings.current()
    assert (now["stall_after_days"], now["support_decision_required"], now["revisit_after"]) == (
        14,
        False,
        "P7D",
    )
    changes = {e.object_id: e.detail for e in events("setting.change")}
    assert changes == {
        "stall_after_days": {"before": None, "after": 14},
        "support_decision_required": {"before": None, "after": False},
        "revisit_after": {"before": None, "after": "P7D"},
    }
    page = admin_web.get("/admin/settings").get_data(as_text=True)
    assert 'id="stall_after_days" name="stall_after_days" value="14"' in page
    assert 'value="false" checked' in page

    refused = admin_web.post(
        "/admin/settings",
        data=settings_form(
            token, stall_after_days="91", council_material_days="abc", monitoring_interval="P1D"
        ),
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "1〜90の範囲で入力してください。" in html and "整数で入力してください。" in html
    assert "選択肢から選んでください。" in html
    assert re.search(r'id="stall_after_days"[^>]*value="91"[^>]*aria-invalid="true"', html)
    assert 'value="abc"' in html
    db.session.expire_all()
    assert settings.current()["stall_after_days"] == 14 and len(events("setting.change")) == 3


def test_the_settings_form_offers_what_the_settings_accept() -> None:
    for key, (low, high) in setting_form.INTEGER_RANGES.items():
        check = settings.DEFINITIONS[key][2]
        assert check(low) and check(high) and not check(low - 1) and not check(high + 1), key
    for key, choices in setting_form.INTERVAL_CHOICES.items():
        assert all(settings.DEFINITIONS[key][2](c) for c in choices), key
    covered = set(setting_form.INTEGER_RANGES) | set(setting_form.INTERVAL_CHOICES)
    booleans = {
        k for k, (default, _, _) in settings.DEFINITIONS.items() if isinstance(default, bool)
    }
    labels = {"plan_conference_label", "support_council_label"}
    assert covered | booleans | labels == set(settings.DEFINITIONS)
    assert all(settings.DEFINITIONS[k][2]("まるごと会議") for k in labels)
    assert not any(
        settings.DEFINITIONS[k][2]("") or settings.DEFINITIONS[k][2]("x" * 41) for k in labels
    )


@pytest.mark.parametrize("username", ["demo-supervisor", "demo-elderly", "demo-auditor"])
def test_other_roles_are_refused_every_admin_page_and_form(
    ctx: Flask, demo: None, username: str
) -> None:
    target = user_named("demo-poverty")
    web = person(ctx, username)
    assert "/admin" not in web.get("/").get_data(as_text=True)
    token = csrf_from(web.get("/"))
    requests = [("GET", page, None) for page in [*PAGES, f"/admin/users/{target.id}"]] + [
        ("POST", "/admin/users", new_user_form(token)),
        ("POST", f"/admin/users/{target.id}", {"csrf_token": token, "action": "deactivate"}),
        ("POST", f"/admin/users/{target.id}", {"csrf_token": token, "action": "password", "password": NEW_PASSWORD}),
        ("POST", f"/admin/users/{target.id}", {"csrf_token": token, "action": "access", "role": "admin"}),
        ("POST", "/admin/groups", {"csrf_token": token, "key": "housing", "name": "住まい支援"}),
        ("POST", "/admin/settings", settings_form(token, stall_after_days="30")),
    ]  # fmt: skip
    for method, path, data in requests:
        answer = web.open(path, method=method, data=data)
        assert answer.status_code == 403, (method, path)
        assert "管理画面を使えるのはシステム管理者だけです。" in answer.get_data(as_text=True)

    denied = events("admin.access", outcome="denied")
    assert len(denied) == len(requests)
    assert {e.actor_name for e in denied} == {username}
    assert [(e.detail["method"], e.detail["path"]) for e in denied] == [
        (m, p) for m, p, _ in requests
    ]
    target = user_named("demo-poverty")
    assert target.active and target.role == "window_worker"
    assert user_named("tanaka.k") is None and settings.current()["stall_after_days"] == 7
    assert db.session.scalar(select(func.count(Group.id))) == 6


def test_an_anonymous_visitor_is_sent_to_log_in(client: FlaskClient, demo: None) -> None:
    answer = client.get("/admin/users")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")


def test_admin_pages_show_no_case_content(ctx: Flask, flow: Flow) -> None:
    title = "【管理画面確認】山田家の介護と家計の相談"
    case = flow.open_case(title=title)
    web = person(ctx, "demo-admin")
    assert 'href="/admin"' in web.get("/").get_data(as_text=True)
    people = db.session.scalars(select(User.id))
    for path in [*PAGES, *(f"/admin/users/{user_id}" for user_id in people)]:
        html = web.get(path).get_data(as_text=True)
        assert title not in html and case.number not in html, path


def test_the_administrators_pages_speak_english_when_chosen(admin_web: FlaskClient) -> None:
    """Setting names and the refusals of the admin forms come from the catalogue, like the rest."""
    admin_web.set_cookie("lang", "en")
    page = admin_web.get("/admin/settings").get_data(as_text=True)
    assert "Days past a deadline before a case counts as stalled" in page
    assert "停滞とみなす" not in page and "和暦" not in page
    token = csrf_from(admin_web.get("/admin/users"))
    refused = admin_web.post("/admin/users", data=new_user_form(token, username="X!"))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "A user name is 3 to 80 lowercase letters" in html and "英小文字" not in html
