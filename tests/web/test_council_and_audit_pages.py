"""The 支援会議 pages and the auditors' pages through HTTP."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Case, Meeting
from tests.conftest import ServerLikeClient
from tests.harness import Flow, first_assessment
from tests.web.support import csrf_from, log_in


def person(app: Flask, username: str) -> FlaskClient:
    client = ServerLikeClient(app, app.response_class, use_cookies=True)
    assert log_in(client, username).status_code == 302
    return client


def test_member_pledges_then_reads_the_material(ctx: Flask, flow: Flow) -> None:
    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="not_given")
    )
    flow.complete(
        "support_council",
        "demo-supervisor",
        {"meeting_date": flow.today(), "all_members_pledged": True, "shared_summary": "夜間の物音の情報",
         "council_course": "outreach", "revisit_after": "P14D"},
    )  # fmt: skip
    meeting_id = db.session.scalar(select(Meeting.id))
    chair, member = person(ctx, "demo-supervisor"), person(ctx, "demo-council")
    assert member.get(f"/council/{meeting_id}").status_code == 404
    page = chair.get(f"/council/{meeting_id}")
    assert page.status_code == 200 and "夜間の物音の情報" in page.get_data(as_text=True)
    assert "no-store" in page.headers["Cache-Control"]
    chair.post(
        f"/council/{meeting_id}/members",
        data={"csrf_token": csrf_from(page), "member": ["demo-council"]},
    )
    listing = member.get("/council").get_data(as_text=True)
    assert f"/council/{meeting_id}" in listing
    pledge_page = member.get(f"/council/{meeting_id}")
    text = pledge_page.get_data(as_text=True)
    # Chosen but not pledged: the page offers the pledge, and shows nothing of the material yet.
    assert pledge_page.status_code == 200 and "誓約して資料を閲覧する" in text
    assert "夜間の物音の情報" not in text
    member.post(f"/council/{meeting_id}/pledge", data={"csrf_token": csrf_from(pledge_page)})
    assert "夜間の物音の情報" in member.get(f"/council/{meeting_id}").get_data(as_text=True)
    case_page = person(ctx, "demo-elderly").get(f"/cases/{flow.case.id}").get_data(as_text=True)
    assert "夜間の物音の情報" not in case_page


def test_auditor_searches_and_downloads_a_disclosure_file(ctx: Flask, flow: Flow) -> None:
    flow.open_case()
    person_id = db.session.scalar(select(Case.person_id))
    auditor = person(ctx, "demo-auditor")
    page = auditor.get(f"/audit?person={person_id}&since=2026-01-01")
    assert page.status_code == 200 and "case.create" in page.get_data(as_text=True)
    download = auditor.get(f"/audit/persons/{person_id}/disclosure.json")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert json.loads(download.get_data())["cases"][0]["number"] == flow.case.number
    assert auditor.get("/audit?since=not-a-date").status_code == 422
    assert auditor.get("/audit?person=abc").status_code == 422
    assert person(ctx, "demo-admin").get("/audit").status_code == 403
