"""The supervisors' pages over HTTP: only supervisors, junk filters ignored, bulk reassign with a
result per item, and the administrator's form for what a supervisor oversees."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import SupervisorScope, User
from app.services import definitions
from tests.web.support import csrf_from, log_in

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture
def world(ctx: Flask, demo: None) -> None:
    definitions.deploy([str(ROOT / "processes")], str(ROOT / "forms"))


@pytest.mark.parametrize("username", ["demo-coordinator", "demo-admin", "demo-designer"])
def test_only_supervisors_open_the_stalled_page(client, world, username) -> None:
    log_in(client, username)
    assert client.get("/supervision/stalled").status_code == 403


def test_filters_that_name_nothing_are_ignored(client, world) -> None:
    log_in(client, "demo-supervisor")
    page = client.get("/supervision/stalled?reason=%00&queue=nope&agency=x&stage=zz")
    assert page.status_code == 200
    assert "停滞しているケースはありません" in page.get_data(as_text=True)
    # A worker nobody is matches nothing (rather than everyone), and the page offers to clear it.
    ghost = client.get("/supervision/stalled?worker=ghost").get_data(as_text=True)
    assert "この絞り込みに当てはまるものはありません。" in ghost


def test_bulk_reassign_without_a_choice_is_a_clear_refusal(client, world) -> None:
    log_in(client, "demo-supervisor")
    token = csrf_from(client.get("/supervision/stalled"))
    answer = client.post(
        "/supervision/reassign", data={"csrf_token": token, "assignee": "demo-elderly"}
    )
    assert answer.status_code == 422
    assert "作業を選んでください" in answer.get_data(as_text=True)


def test_the_administrator_sets_what_a_supervisor_oversees(client, world) -> None:
    supervisor = db.session.scalar(select(User).where(User.username == "demo-supervisor"))
    log_in(client, "demo-admin")
    page = client.get(f"/admin/users/{supervisor.id}")
    assert "監督の範囲" in page.get_data(as_text=True)
    answer = client.post(
        f"/admin/users/{supervisor.id}",
        data={
            "csrf_token": csrf_from(page),
            "action": "scope",
            "scope_agencies": ["elderly-center", "child-center"],
            "scope_queues": ["coordination"],
        },
    )
    assert answer.status_code == 302
    rows = db.session.scalars(
        select(SupervisorScope).where(SupervisorScope.user_id == supervisor.id)
    ).all()
    assert len(rows) == 3
    bad = client.post(
        f"/admin/users/{supervisor.id}",
        data={"csrf_token": csrf_from(page), "action": "scope", "scope_agencies": ["nowhere"]},
    )
    assert bad.status_code == 422
    assert "一覧にない機関" in bad.get_data(as_text=True)


def test_the_case_list_narrows_by_any_agency_not_only_those_overseen(client, world) -> None:
    from app.models import Agency

    log_in(client, "demo-supervisor")
    page = client.get("/cases").get_data(as_text=True)
    picker = page.split('<select id="agency" name="agency">')[1].split("</select>")[0]
    for agency in db.session.scalars(select(Agency)):
        assert f'<option value="{agency.code}" >{agency.name}</option>' in picker


def test_the_scope_line_names_each_agency_and_queue_once(client, world) -> None:
    log_in(client, "demo-supervisor")
    page = client.get("/supervision/stalled").get_data(as_text=True)
    line = page.split('<p class="scope-line">')[1].split("</p>")[0]
    names = line.split("：", 1)[1].split("、")
    assert names and len(names) == len(set(names)), names


def test_the_heatmap_ignores_an_element_its_diagram_does_not_have(client, world) -> None:
    log_in(client, "demo-supervisor")
    page = client.get("/supervision/heatmap?element=zzz-not-a-step")
    assert page.status_code == 200
    assert 'id="cases-heading"' not in page.get_data(as_text=True)  # no list for it
    known = client.get("/supervision/heatmap?element=first_assessment").get_data(as_text=True)
    assert 'id="cases-heading"' in known


def test_the_counts_per_reason_keep_the_other_filters(client, world) -> None:
    log_in(client, "demo-supervisor")
    page = client.get("/supervision/stalled?stage=assessment&page=2").get_data(as_text=True)
    counts = page.split('class="reason-counts"')[1].split("</ul>")[0]
    assert "reason=unclaimed" in counts and "stage=assessment" in counts
    assert "page=" not in counts  # a count starts its list from the first page


def test_an_empty_filtered_list_says_so_and_offers_to_clear_the_filters(client, world) -> None:
    log_in(client, "demo-supervisor")
    plain = client.get("/supervision/stalled").get_data(as_text=True)
    assert "停滞しているケースはありません。" in plain and "絞り込みを解除する" not in plain
    narrowed = client.get("/supervision/stalled?reason=error").get_data(as_text=True)
    assert "この絞り込みに当てはまるものはありません。" in narrowed
    assert "絞り込みを解除する" in narrowed


def test_the_cases_at_a_step_come_a_page_at_a_time(client, flow, monkeypatch) -> None:
    from app.services.supervision import heatmap

    flow.oversee("demo-supervisor", "elderly-center")
    for title in ("一件目", "二件目", "三件目"):
        flow.open_case(title=f"【テスト】{title}")
    monkeypatch.setattr(heatmap, "LISTED", 2)
    log_in(client, "demo-supervisor")
    first = client.get("/supervision/heatmap?element=first_assessment").get_data(as_text=True)
    assert "3件のうち1〜2件目" in first
    assert "1 / 2 ページ" in first and 'rel="next"' in first
    assert first.count("【テスト】") == 2
    last = client.get("/supervision/heatmap?element=first_assessment&page=9")
    text = last.get_data(as_text=True)
    assert last.status_code == 200 and "2 / 2 ページ" in text  # past the end: the last page
    assert "3件のうち3〜3件目" in text and 'rel="prev"' in text and "【テスト】三件目" in text
