"""The JSON API v1: cases and work items, with token auth, errors in one shape."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Case, User
from app.services import definitions, users


@pytest.fixture
def api(client: FlaskClient, demo: None, fixtures_dir: Path, ctx: Flask):
    """A client plus a function giving Bearer headers for a demo user; the one-task "hostile" process is the case flow."""
    definitions.deploy([str(fixtures_dir / "bpmn")], ctx.config["KASANE_FORMS_DIR"])
    ctx.config["KASANE_CASE_PROCESS"] = "hostile"

    def headers(username: str = "demo-coordinator") -> dict[str, str]:
        user = db.session.scalar(select(User).where(User.username == username))
        return {"Authorization": f"Bearer {users.create_token(user)}"}

    yield client, headers
    ctx.config.pop("KASANE_CASE_PROCESS")


def test_case_start_read_and_work_item_cycle(api) -> None:
    client, headers = api
    window = headers("demo-elderly")
    created = client.post(
        "/api/v1/cases",
        json={"title": "高齢の母と無職の息子の世帯", "intake": {"limit": 2}},
        headers=window,
    )
    assert created.status_code == 201, created.get_json()
    case = created.get_json()
    assert case["number"].startswith("K-") and case["intake_agency"] == "elderly-center"
    assert case["work_items"][0]["queue"] == "coordination"
    assert client.get(f"/api/v1/cases/{case['id']}", headers=window).status_code == 200

    coordinator = headers()
    listing = client.get("/api/v1/work-items?queue=coordination", headers=coordinator).get_json()
    assert listing["total"] == 1
    item_id = listing["items"][0]["id"]
    claimed = client.post(f"/api/v1/work-items/{item_id}/claim", headers=coordinator)
    assert claimed.get_json()["assignee"] == "demo-coordinator"
    mine = client.get("/api/v1/work-items?assignee=me", headers=coordinator).get_json()
    assert [i["id"] for i in mine["items"]] == [item_id]
    bad = client.post(
        f"/api/v1/work-items/{item_id}/complete", json={"amount": "x"}, headers=coordinator
    )
    assert bad.status_code == 422
    error = bad.get_json()["error"]
    assert (
        error["code"] == "invalid_input"
        and error["fields"]["note"] == "必須項目です。入力してください。"
    )
    done = client.post(
        f"/api/v1/work-items/{item_id}/complete", json={"note": "確認しました"}, headers=coordinator
    )
    assert done.status_code == 200 and done.get_json()["status"] == "completed"
    again = client.post(
        f"/api/v1/work-items/{item_id}/complete", json={"note": "二重"}, headers=coordinator
    )
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    released = client.post(f"/api/v1/work-items/{item_id}/release", headers=coordinator)
    assert released.status_code == 409


def test_other_agencies_case_is_not_found(api) -> None:
    client, headers = api
    created = client.post(
        "/api/v1/cases",
        json={"title": "相談", "intake": {"limit": 2}},
        headers=headers("demo-elderly"),
    )
    case_id = created.get_json()["id"]
    other = client.get(f"/api/v1/cases/{case_id}", headers=headers("demo-child"))
    assert other.status_code == 404 and other.get_json()["error"]["code"] == "not_found"
    admin = client.get(f"/api/v1/cases/{case_id}", headers=headers("demo-admin"))
    assert admin.status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "title"),
        ({"title": ""}, 422, "title"),
        ({"title": "x" * 201}, 422, "title"),
        ({"title": "相談", "intake": "not an object"}, 422, "intake"),
        ({"title": "相談", "agency": "no-such-window"}, 422, "agency"),
        (["not", "an", "object"], 422, "_form"),
    ],
)
def test_bad_case_bodies_are_refused_and_nothing_is_saved(
    api, body, status: int, field: str
) -> None:
    client, headers = api
    response = client.post("/api/v1/cases", json=body, headers=headers("demo-elderly"))
    assert response.status_code == status
    assert field in response.get_json()["error"]["fields"]
    assert db.session.scalars(select(Case)).all() == []


def test_non_json_body_and_bad_filters(api) -> None:
    client, headers = api
    auth = headers()
    response = client.post("/api/v1/cases", data="title=x", headers=auth)
    assert response.status_code == 415 and "JSON" in response.get_json()["error"]["message"]
    broken = client.post(
        "/api/v1/cases", data="{oops", headers={**auth, "Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    assert client.get("/api/v1/work-items?per_page=1000", headers=auth).status_code == 422
    assert client.get("/api/v1/work-items?status=weird", headers=auth).status_code == 422
    assert client.get("/api/v1/work-items?queue=someone-elses", headers=auth).status_code == 404
    assert client.get("/api/v1/work-items/999999", headers=auth).status_code == 404
    assert (
        client.get("/api/v1/nothing-here", headers=auth).get_json()["error"]["code"] == "not_found"
    )


def test_a_message_from_another_system_reaches_the_waiting_case(client: FlaskClient, flow) -> None:
    from tests.harness import first_assessment

    def bearer(username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {users.create_token(flow.user(username))}"}

    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="not_given")
    )
    flow.complete(
        "support_council",
        "demo-supervisor",
        {
            "meeting_date": flow.today(),
            "all_members_pledged": True,
            "council_course": "watch",
            "revisit_after": "P14D",
        },
    )
    body = {
        "name": "consent_obtained",
        "case": flow.case.number,
        "payload": {"scope": "関係機関での共有"},
    }
    other = client.post("/api/v1/messages", json=body, headers=bearer("demo-child"))
    assert other.status_code == 404
    sent = client.post("/api/v1/messages", json=body, headers=bearer("demo-elderly"))
    assert sent.status_code == 202 and sent.get_json() == {"delivered": 1}
    assert flow.waiting() == {"coordination_intake": "coordination"}
    again = client.post("/api/v1/messages", json=body, headers=bearer("demo-elderly"))
    assert again.status_code == 404 and again.get_json()["error"]["code"] == "not_found"
    bad = client.post(
        "/api/v1/messages", json={"name": "shutdown", "case": "x"}, headers=bearer("demo-elderly")
    )
    assert bad.status_code == 422 and "name" in bad.get_json()["error"]["fields"]
