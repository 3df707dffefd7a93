"""Login sessions held on the server: idle logout, logging out, and ending a user's sessions.

Flask's session cookie is signed, not stored, so these tests replay a copy of it the way an
attacker who got hold of one would, and check the server refuses it once the login has ended.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, User, UserSession, WorkItem
from app.services import users
from tests.conftest import ServerLikeClient
from tests.harness import Flow
from tests.web.support import csrf_from, log_in

NEW_PASSWORD = "Kasane-Start-2026"
IDLE_PAGE = "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。"
ENDED = "このログインは無効になりました。もう一度ログインしてください。"
JUNK = {"Authorization": "Bearer junk"}


def browser(app: Flask) -> FlaskClient:
    return ServerLikeClient(app, app.response_class, use_cookies=True)


def person(app: Flask, username: str, password: str | None = None) -> FlaskClient:
    client = browser(app)
    answer = log_in(client, username) if password is None else log_in(client, username, password)
    assert answer.status_code == 302
    return client


def copy_of(app: Flask, original: FlaskClient) -> FlaskClient:
    """Another browser holding the session cookie the original has now."""
    cookie = original.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    assert cookie is not None
    thief = browser(app)
    thief.set_cookie(cookie.key, cookie.value)
    return thief


def sent_to_login(answer) -> bool:
    return answer.status_code == 302 and answer.headers["Location"].startswith("/login")


def user_named(username: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def admin_action(admin_web: FlaskClient, user_id: int, **data: str):
    token = csrf_from(admin_web.get(f"/admin/users/{user_id}"))
    return admin_web.post(f"/admin/users/{user_id}", data={"csrf_token": token, **data})


def test_an_idle_session_is_ended_even_with_a_bearer_header(ctx: Flask, demo: None) -> None:
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        page_user = person(ctx, "demo-coordinator")
        api_user = person(ctx, "demo-coordinator")
        assert page_user.get("/inbox", headers=JUNK).status_code == 200
        clock.shift(timedelta(minutes=31))

        answer = page_user.get("/inbox", headers=JUNK)
        assert sent_to_login(answer)
        assert IDLE_PAGE in page_user.get("/login").get_data(as_text=True)
        assert sent_to_login(page_user.get("/inbox"))

        api = api_user.get("/api/v1/work-items", headers=JUNK)
        assert api.status_code == 401
        assert api.get_json()["error"]["code"] == "session_expired"
        assert api_user.get("/api/v1/work-items").status_code == 401

    expired = [e for e in events("auth.session") if e.outcome == "expired"]
    assert len(expired) == 2
    assert {(e.actor_name, e.detail["reason"]) for e in expired} == {("demo-coordinator", "idle")}


def test_a_real_api_token_is_not_subject_to_the_idle_limit(ctx: Flask, demo: None) -> None:
    token = users.create_token(user_named("demo-coordinator"))
    bearer = {"Authorization": f"Bearer {token}"}
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        integration = browser(ctx)
        assert integration.get("/api/v1/work-items", headers=bearer).status_code == 200
        clock.shift(timedelta(hours=3))
        assert integration.get("/api/v1/work-items", headers=bearer).status_code == 200
        # A token opens the API only: it never keeps an idle page session alive.
        staff = person(ctx, "demo-coordinator")
        clock.shift(timedelta(minutes=31))
        assert sent_to_login(staff.get("/inbox", headers=bearer))


def test_a_cookie_copied_before_logout_is_refused_after_it(ctx: Flask, flow: Flow) -> None:
    case = flow.open_case("demo-elderly")
    (item,) = flow.open_items()
    worker = person(ctx, "demo-elderly")
    csrf = csrf_from(worker.get("/inbox"))
    saved = copy_of(ctx, worker)  # with the CSRF secret the form token belongs to
    # The copy works while the user is logged in.
    assert copy_of(ctx, saved).get(f"/cases/{case.id}").status_code == 200

    out = worker.post("/logout", data={"csrf_token": csrf})
    assert sent_to_login(out)

    assert sent_to_login(copy_of(ctx, saved).get("/inbox"))
    assert sent_to_login(copy_of(ctx, saved).get(f"/cases/{case.id}"))
    claim = copy_of(ctx, saved).post(
        f"/work-items/{item.id}/claim", data={"csrf_token": csrf, "next": "/inbox"}
    )
    assert sent_to_login(claim)
    db.session.expire_all()
    assert db.session.get(WorkItem, item.id).assignee_id is None
    api = copy_of(ctx, saved).get("/api/v1/work-items")
    assert api.status_code == 401 and api.get_json()["error"]["code"] == "session_ended"

    thief = copy_of(ctx, saved)
    thief.get("/inbox")
    assert ENDED in thief.get("/login").get_data(as_text=True)


def test_every_refusal_of_an_ended_session_is_audited(ctx: Flask, demo: None) -> None:
    worker = person(ctx, "demo-poverty")
    saved = copy_of(ctx, worker)
    worker.post("/logout", data={"csrf_token": csrf_from(worker.get("/inbox"))})
    for path in ["/inbox", "/cases/1"]:
        copy_of(ctx, saved).get(path)

    refused = events("auth.session")
    assert [(e.outcome, e.actor_name, e.detail["reason"], e.detail["path"]) for e in refused] == [
        ("denied", "demo-poverty", "revoked", "/inbox"),
        ("denied", "demo-poverty", "revoked", "/cases/1"),
    ]
    assert refused[0].object_type == "user_session" and refused[0].object_id is not None


def test_a_session_cookie_without_a_live_login_is_refused(ctx: Flask, demo: None) -> None:
    poverty = user_named("demo-poverty")
    # A cookie from before sessions were kept on the server names a user but carries no login.
    old = browser(ctx)
    with old.session_transaction() as cookie:
        cookie["_user_id"] = str(poverty.id)
        cookie["_fresh"] = True
    assert sent_to_login(old.get("/inbox"))

    # A login belongs to its user: the token of one user's login does not open another's.
    worker = person(ctx, "demo-elderly")
    with worker.session_transaction() as cookie:
        cookie["_user_id"] = str(poverty.id)
    assert sent_to_login(worker.get("/inbox"))

    refused = events("auth.session")
    assert [(e.outcome, e.actor_name, e.detail["reason"]) for e in refused] == [
        ("denied", "anonymous", "unknown"),
        ("denied", "anonymous", "unknown"),
    ]
    assert {e.detail["user_id"] for e in refused} == {poverty.id}


def test_logging_out_ends_only_that_session(ctx: Flask, demo: None) -> None:
    desk = person(ctx, "demo-elderly")
    tablet = person(ctx, "demo-elderly")
    desk.post("/logout", data={"csrf_token": csrf_from(desk.get("/inbox"))})
    assert sent_to_login(desk.get("/inbox"))
    assert tablet.get("/inbox").status_code == 200


def test_only_the_hash_of_a_session_token_is_stored(ctx: Flask, demo: None) -> None:
    worker = person(ctx, "demo-elderly")
    with worker.session_transaction() as cookie:
        token = cookie["_kasane_login"]
    (row,) = db.session.scalars(select(UserSession))
    assert token not in row.token_hash and len(row.token_hash) == 64
    assert row.user_id == user_named("demo-elderly").id and row.revoked_at is None


@pytest.mark.parametrize(
    ("action", "form", "audit_action"),
    [
        ("password", {"password": NEW_PASSWORD}, "user.password_reset"),
        ("deactivate", {}, "user.deactivate"),
        ("end_sessions", {}, "user.end_sessions"),
    ],
)
def test_an_admin_change_ends_every_session_of_the_user(
    ctx: Flask, demo: None, action: str, form: dict[str, str], audit_action: str
) -> None:
    worker_id = user_named("demo-poverty").id
    desk, tablet = person(ctx, "demo-poverty"), person(ctx, "demo-poverty")
    bystander = person(ctx, "demo-elderly")
    saved = copy_of(ctx, desk)
    admin_web = person(ctx, "demo-admin")
    assert "ログイン中：2 件" in admin_web.get(f"/admin/users/{worker_id}").get_data(as_text=True)

    done = admin_action(admin_web, worker_id, action=action, **form)
    assert done.status_code == 302

    for client in [desk, tablet, copy_of(ctx, saved)]:
        assert sent_to_login(client.get("/inbox"))
    assert bystander.get("/inbox").status_code == 200
    page = admin_web.get(f"/admin/users/{worker_id}").get_data(as_text=True)
    assert "ログイン中：0 件" in page
    (event,) = events(audit_action)
    assert event.actor_name == "demo-admin" and event.detail["sessions_ended"] == 2

    if action == "deactivate":
        admin_action(admin_web, worker_id, action="activate")
    # The ended sessions stay ended; a new login works.
    assert sent_to_login(copy_of(ctx, saved).get("/inbox"))
    password = NEW_PASSWORD if action == "password" else None
    assert person(ctx, "demo-poverty", password).get("/inbox").status_code == 200


def test_ending_sessions_needs_an_admin_and_a_csrf_token(ctx: Flask, demo: None) -> None:
    worker_id = user_named("demo-poverty").id
    worker = person(ctx, "demo-poverty")
    supervisor = person(ctx, "demo-supervisor")
    token = csrf_from(supervisor.get("/inbox"))
    refused = supervisor.post(
        f"/admin/users/{worker_id}", data={"csrf_token": token, "action": "end_sessions"}
    )
    assert refused.status_code == 403
    admin_web = person(ctx, "demo-admin")
    no_csrf = admin_web.post(f"/admin/users/{worker_id}", data={"action": "end_sessions"})
    assert no_csrf.status_code == 400

    assert worker.get("/inbox").status_code == 200
    assert events("user.end_sessions") == []
    denied = [e for e in events("admin.access") if e.outcome == "denied"]
    assert [e.actor_name for e in denied] == ["demo-supervisor"]
