"""Auditors search the trail and produce a person's record with its disclosure history; nobody else can."""

from __future__ import annotations

import json

import pytest

from app.services import cases, disclosure
from app.services.errors import Forbidden
from tests.harness import Flow


def test_auditor_exports_a_person_record_with_who_saw_it(flow: Flow) -> None:
    window = flow.user("demo-elderly")
    case = cases.open_case(
        window,
        "【テスト】本人開示",
        {
            "received_on": flow.today(),
            "concerns": ["care"],
            "person": {"name": "佐藤 一郎", "kana": "サトウ イチロウ"},
        },
    )
    cases.get(case.id, window)
    with pytest.raises(Exception):  # noqa: B017 - another window is refused (NotFound) and that is audited
        cases.get(case.id, flow.user("demo-child"))
    auditor = flow.user("demo-auditor")
    document = json.loads(disclosure.person_record(auditor, case.person_id))
    assert document["person"]["name"] == "佐藤 一郎"
    assert [c["number"] for c in document["cases"]] == [case.number]
    history = {(h["who"], h["action"], h["outcome"]) for h in document["disclosure_history"]}
    assert ("demo-elderly", "case.view", "ok") in history and (
        "demo-child",
        "case.view",
        "denied",
    ) in history
    found = disclosure.search(auditor, disclosure.AuditQuery(person_id=case.person_id))
    assert {e.action for e in found} >= {"case.create", "case.view"}
    by_user = disclosure.search(auditor, disclosure.AuditQuery(username="demo-child"))
    assert [e.outcome for e in by_user] == ["denied"]


@pytest.mark.parametrize(
    "username", ["demo-admin", "demo-supervisor", "demo-elderly", "demo-statistician"]
)
def test_only_auditors_search_or_export(flow: Flow, username: str) -> None:
    case = flow.open_case()
    with pytest.raises(Forbidden):
        disclosure.search(flow.user(username), disclosure.AuditQuery())
    with pytest.raises(Forbidden):
        disclosure.person_record(flow.user(username), case.person_id)
