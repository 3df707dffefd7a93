"""A decision task shows what is decided: the plan under review, the points to revise, the intake."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from app.services import task_context
from tests.conftest import ServerLikeClient
from tests.harness import Flow, accept_and_plan, first_assessment, hold_council, plan
from tests.web.support import log_in


def task_page(flow: Flow, client: FlaskClient, element: str, username: str) -> str:
    [item] = [i for i in flow.open_items() if i.element_id == element]
    log_in(client, username)
    page = client.get(f"/tasks/{item.id}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_the_first_assessment_starts_from_the_intake(flow: Flow, client: FlaskClient) -> None:
    flow.open_case()
    html = task_page(flow, client, "first_assessment", "demo-elderly")
    assert "判断の材料" in html and "相談受付・申込票" in html
    # The intake's concerns are carried into the assessment's own checkboxes.
    assert 'name="concerns" value="care" checked' in html.replace("\n", " ").replace("  ", " ")


def test_the_conference_shows_the_plan_and_a_revision_keeps_it(
    flow: Flow, client: FlaskClient
) -> None:
    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    accept_and_plan(flow)
    html = task_page(flow, client, "plan_conference", "demo-supervisor")
    assert "生活費の見通しを立てる" in html and "【デモ】くらし自立相談支援窓口" in html
    records = html.split('id="task-records"', 1)[1].split("</aside>", 1)[0]
    assert "poverty-center" not in records  # agencies by name, never by code
    flow.complete(
        "plan_conference",
        "demo-supervisor",
        {
            "conference_date": flow.today(),
            "conference_outcome": "revise",
            "revision_points": "就労の目標を加えてください",
            "resources_sufficient": True,
        },
    )
    coordinator = ServerLikeClient(client.application, client.application.response_class)
    html = task_page(flow, coordinator, "support_plan", "demo-coordinator")
    assert "就労の目標を加えてください" in html and "修正を求める" in html
    assert "生活費の見通しを立てる</textarea>" in html  # the previous plan, ready to revise
    assert plan()["goals"][0]["goal"] == "生活費の見通しを立てる"


def test_council_material_is_never_shown_beside_another_task(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    hold_council(flow, "夜間の物音の情報", course="outreach")
    [visit] = flow.open_items()
    assert visit.element_id == "outreach_visit"
    # Even a diagram that asks for the council's form beside the visit gets nothing.
    monkeypatch.setattr(
        task_context, "_properties", lambda item: {"showForms": "support_council.schema.json"}
    )
    assert task_context.shown(visit, flow.case, flow.user("demo-outreach")) == []
