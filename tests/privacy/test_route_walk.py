"""Walks every route of the app (from its URL map) as every role against a case it must not see.

A route fails the walk if it answers 200 with the case on it, if it answers the case's real ids
differently from ids that name nothing (an existence oracle), or if it refuses without an audit row.
New routes are walked automatically: a route whose parameters this test cannot fill fails it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Consent, ProcessInstance, User
from app.services import cases
from app.services import consent as consent_service
from tests.conftest import ServerLikeClient
from tests.harness import Flow, first_assessment, hold_council
from tests.web.support import csrf_from, log_in

SECRET_NAME = "秘密 太郎"
SECRET_TITLE = "【テスト】見えてはならない世帯"
MISSING = 100_000
# Parameters that name case data, and which users may legitimately reach it through them.
CASE_PARAMS = {
    "case_id",
    "item_id",
    "consent_id",
    "person_id",
    "meeting_id",
    "element_id",
    "instance_id",
}
# Parameters of pages that name no case data (users, process versions, webhook subscriptions,
# whose log shows case numbers only): not part of this walk.
OTHER_PARAMS = {
    "user_id",
    "definition_id",
    "filename",
    "draft_id",
    "form_name",
    "subscription_id",
    "delivery_id",
    "escalation_id",
}
ENTITLED = {
    "person_id": {"demo-auditor"},  # 本人開示: the auditor produces a person's own record
    "meeting_id": {"demo-supervisor"},  # the chair of the 支援会議 held on the second case
}


@pytest.fixture
def world(flow: Flow) -> dict[str, Any]:
    """A case of the elderly window referred on and then withdrawn, and a 支援会議 on another case."""
    case = cases.open_case(
        flow.user("demo-elderly"),
        SECRET_TITLE,
        {
            "received_on": flow.today(),
            "concerns": ["care"],
            "person": {"name": SECRET_NAME, "kana": "ひみつ たろう"},
            "consent_given": True,
            "consent_date": flow.today(),
            "consent_scope": {"purpose": "支援のため"},
        },
    )
    flow.case = case
    # Referred to the child window, then the person withdraws consent: nobody but the window
    # that took the case may see it now, the child window included.
    flow.complete(
        "first_assessment",
        "demo-elderly",
        first_assessment("referral", referral_to="child-center", referral_purpose="子育ての相談"),
    )
    [item] = flow.open_items()
    consent_row = db.session.scalars(select(Consent)).one()
    consent = consent_service.withdraw(
        case, consent_row.id, flow.user("demo-elderly"), "本人から撤回の申し出"
    )
    meeting = hold_council(flow, title="【テスト】支援会議のケース")
    return {
        "case_id": case.id,
        "item_id": item.id,
        "consent_id": consent.id,
        "person_id": case.person_id,
        "meeting_id": meeting.id,
        "element_id": "window_interval",
        "instance_id": db.session.scalar(
            select(ProcessInstance.id).where(ProcessInstance.case_id == case.id)
        ),
        "number": case.number,
    }


def _url(rule: Any, ids: dict[str, Any], missing: bool) -> str:
    def value(arg: str) -> Any:
        real = ids[arg]
        if isinstance(real, str):
            return f"{real}_missing" if missing else real
        return real + (MISSING if missing else 0)

    values = {arg: value(arg) for arg in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def _denials(username: str) -> int:
    return db.session.scalar(
        select(func.count()).where(AuditEvent.actor_name == username, AuditEvent.outcome != "ok")
    )


def _shows_case(body: str, world: dict[str, Any]) -> bool:
    return any(mark in body for mark in (SECRET_NAME, SECRET_TITLE, world["number"]))


def test_every_route_as_every_other_role_neither_shows_nor_betrays_the_case(
    ctx: Flask, world: dict[str, Any]
) -> None:
    rules = [r for r in ctx.url_map.iter_rules() if r.endpoint != "static"]
    unknown = {a for r in rules for a in r.arguments} - CASE_PARAMS - OTHER_PARAMS
    assert not unknown, f"the route walk cannot fill {unknown}: teach it these parameters"
    outsiders = list(
        db.session.scalars(select(User.username).where(User.username != "demo-elderly"))
    )
    assert len(outsiders) >= 12
    problems: list[str] = []
    for username in outsiders:
        web: FlaskClient = ServerLikeClient(ctx, ctx.response_class, use_cookies=True)
        log_in(web, username)
        headers = {"X-CSRFToken": csrf_from(web.get("/"))}
        for rule in rules:
            if rule.arguments & OTHER_PARAMS:
                continue
            entitled = set().union(*(ENTITLED.get(a, set()) for a in rule.arguments))
            if username in entitled:
                continue
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if not rule.arguments:
                    if method == "GET":
                        # A search by the person's kana: what is typed is echoed, so it is no mark.
                        body = web.get(rule.rule, query_string={"q": "ひみつ"})
                        if body.status_code == 200 and _shows_case(body.get_data(True), world):
                            problems.append(f"{username} {method} {rule.rule}: shows the case")
                    continue
                body = {"json": {}} if method == "POST" and rule.rule.startswith("/api/") else {}
                before = _denials(username)
                real = web.open(_url(rule, world, False), method=method, headers=headers, **body)
                after = _denials(username)
                fake = web.open(_url(rule, world, True), method=method, headers=headers, **body)
                where = f"{username} {method} {rule.rule}"
                if real.status_code != fake.status_code:
                    problems.append(
                        f"{where}: {real.status_code} for the case, {fake.status_code} for nothing"
                    )
                if real.status_code < 400 and _shows_case(real.get_data(True), world):
                    problems.append(f"{where}: {real.status_code} shows the case")
                if real.status_code >= 400 and after == before:
                    problems.append(f"{where}: refused ({real.status_code}) without an audit row")
                if real.status_code < 400 and real.status_code != 302:
                    problems.append(f"{where}: answered {real.status_code}")
                if real.status_code == 302 and re.search(r"/(tasks|cases)/\d", real.location or ""):
                    problems.append(f"{where}: redirected into the case ({real.location})")
    assert problems == [], "\n".join(problems)
