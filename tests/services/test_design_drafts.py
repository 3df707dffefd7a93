"""Designers' drafts: created from a version or a file, saved with a lock, checked, deployed as a
new version (or approved by a supervisor first), with every refusal clear and audited."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, ProcessDefinition, ProcessDraft
from app.services import definitions, settings
from app.services.design import drafts
from app.services.design.vocabulary import vocabulary
from app.services.errors import Conflict, Forbidden, InvalidInput, NotFound

ROOT = Path(__file__).parent.parent.parent
FORMS = str(ROOT / "forms")


@pytest.fixture
def flow(ctx: Flask, demo: None) -> ProcessDefinition:
    definitions.deploy([str(ROOT / "processes")], FORMS)
    return definitions.latest("support_case")


def _denied(action: str) -> int:
    return db.session.scalar(
        select(func.count()).where(AuditEvent.action == action, AuditEvent.outcome == "denied")
    )


def test_a_draft_from_the_running_version_deploys_as_the_next_version(flow, user) -> None:
    designer = user("demo-designer")
    draft = drafts.start_from_version(flow.id, designer)
    assert draft.title == flow.name and draft.based_on_id == flow.id
    changed = draft.bpmn_xml.replace('name="dueInDays" value="7"', 'name="dueInDays" value="9"', 1)
    assert changed != draft.bpmn_xml
    saved = drafts.save(draft.id, changed, draft.lock_version, designer)
    assert drafts.problems(saved, FORMS) == []

    live = drafts.deploy(draft.id, FORMS, designer)

    assert live.status == "deployed"
    newest = definitions.latest("support_case")
    assert newest.version == flow.version + 1 and live.deployed_id == newest.id
    assert newest.deployed_by == "demo-designer"
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"draft.create", "draft.save", "draft.deploy", "process.deploy"} <= actions


def test_deploying_an_unchanged_draft_makes_no_version(flow, user) -> None:
    designer = user("demo-designer")
    draft = drafts.start_from_version(flow.id, designer)
    with pytest.raises(InvalidInput, match="同じ内容"):
        drafts.deploy(draft.id, FORMS, designer)
    assert definitions.latest("support_case").version == flow.version
    assert db.session.get(ProcessDraft, draft.id).status == "editing"


def test_a_draft_deploy_refuses_names_the_element(flow, user) -> None:
    designer = user("demo-designer")
    draft = drafts.start_from_version(flow.id, designer)
    broken = draft.bpmn_xml.replace(
        'value="support_plan.schema.json"/>\n          <spiffworkflow:property name="recordAs"',
        'value="missing.schema.json"/>\n          <spiffworkflow:property name="recordAs"',
        1,
    )
    assert broken != draft.bpmn_xml
    drafts.save(draft.id, broken, draft.lock_version, designer)
    found = drafts.problems(db.session.get(ProcessDraft, draft.id), FORMS)
    assert len(found) == 1 and found[0].element_id and "missing.schema.json" in found[0].message
    with pytest.raises(drafts.DraftRefused) as refused:
        drafts.deploy(draft.id, FORMS, designer)
    assert refused.value.element_id == found[0].element_id
    assert definitions.latest("support_case").version == flow.version


def test_a_second_designer_saving_over_an_old_copy_is_refused(flow, user) -> None:
    first, second = user("demo-designer"), user("demo-designer")
    draft = drafts.start_from_version(flow.id, first)
    old = draft.lock_version
    drafts.save(draft.id, draft.bpmn_xml, old, first)
    with pytest.raises(Conflict, match="先に保存しました"):
        drafts.save(draft.id, draft.bpmn_xml, old, second)


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"", "空です"),
        (b"\x89PNG\r\n\x1a\n....", "BPMN"),
        (b"<html><body>hi</body></html>", "BPMN"),
        (b"<a>" * 10, "XML"),
    ],
)
def test_an_upload_that_is_not_bpmn_is_refused_in_japanese(flow, user, payload, words) -> None:
    with pytest.raises(InvalidInput) as refused:
        drafts.start_from_upload("upload.bpmn", payload, user("demo-designer"))
    assert refused.value.message and "Traceback" not in refused.value.message
    assert db.session.scalar(select(func.count(ProcessDraft.id))) == 0


def test_only_designers_edit_and_refusals_are_audited(flow, user) -> None:
    for username in ("demo-coordinator", "demo-admin", "demo-supervisor"):
        with pytest.raises(Forbidden):
            drafts.start_from_version(flow.id, user(username))
    assert _denied("draft.create") == 3
    draft = drafts.start_from_version(flow.id, user("demo-designer"))
    with pytest.raises(NotFound):
        drafts.get(draft.id, user("demo-coordinator"))
    assert _denied("draft.view") == 1
    settings.update("admins_may_design", True, user("demo-admin"))
    db.session.commit()
    assert drafts.start_from_version(flow.id, user("demo-admin")).id


def test_with_approval_a_supervisor_puts_the_version_live(flow, user) -> None:
    settings.update("deploy_requires_approval", True, user("demo-admin"))
    db.session.commit()
    designer, supervisor = user("demo-designer"), user("demo-supervisor")
    draft = drafts.start_from_version(flow.id, designer)
    changed = draft.bpmn_xml.replace('name="dueInDays" value="7"', 'name="dueInDays" value="8"', 1)
    drafts.save(draft.id, changed, draft.lock_version, designer)

    waiting = drafts.deploy(draft.id, FORMS, designer)
    assert waiting.status == "awaiting_approval"
    assert definitions.latest("support_case").version == flow.version
    with pytest.raises(Forbidden):
        drafts.approve(draft.id, FORMS, designer)
    with pytest.raises(InvalidInput):
        drafts.send_back(draft.id, "  ", supervisor)

    live = drafts.approve(draft.id, FORMS, supervisor)
    assert live.status == "deployed"
    assert definitions.latest("support_case").version == flow.version + 1


def test_vocabulary_offers_what_deploy_accepts(flow) -> None:
    words = vocabulary(FORMS)
    forms = {choice["value"] for choice in words["choices"]["forms"]}
    assert "support_plan.schema.json" in forms
    assert {"support_case", "participation", "outreach"} <= {
        c["value"] for c in words["choices"]["processes"]
    }
    assert {"referral_to", "next_primary_agency"} <= {
        c["value"] for c in words["choices"]["agency_fields"]
    }
    names = {p["name"] for p in words["properties"]}
    assert {"formJsonSchemaFilename", "recordAs", "sharesInformation", "startNow"} <= names
    assert words["records_detail"]["support_plan"] == {
        "form": "support_plan.schema.json",
        "shares": "coordination",
    }


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"title": "x", ', "JSONとして読めません（1行目"),
        ("[1, 2]", "オブジェクト"),
        ('{"type": "object", "title": "t", "properties": {"a": {"type": 5}}}', "Draft 2020-12"),
        ('{"type": "object", "title": "t", "properties": {"a": {"type": "string"}}}', "見出し"),
        (
            '{"type": "object", "title": "t", "properties": {"a": {"type": "string", "title": "A"}}}',
            "x-sensitivity",
        ),
    ],
)
def test_a_form_that_breaks_the_rules_is_refused_and_not_kept(flow, user, text, words) -> None:
    from app.services.design import form_drafts

    draft = drafts.start_from_version(flow.id, user("demo-designer"))
    with pytest.raises(InvalidInput, match=re.escape(words)):
        form_drafts.save(draft.id, "support_plan.schema.json", text, user("demo-designer"))
    assert db.session.get(ProcessDraft, draft.id).forms == {}


def test_a_form_changed_in_the_draft_goes_live_with_the_version(flow, user) -> None:
    import json

    from app.services.design import form_drafts

    designer = user("demo-designer")
    draft = drafts.start_from_version(flow.id, designer)
    schema = json.loads(form_drafts.text_of(draft, "support_plan.schema.json", FORMS))
    schema["properties"]["plan_note"] = {
        "title": "プランの補足",
        "type": "string",
        "maxLength": 400,
        "x-sensitivity": "P",
    }
    form_drafts.save(draft.id, "support_plan.schema.json", json.dumps(schema), designer)
    assert drafts.problems(db.session.get(ProcessDraft, draft.id), FORMS) == []

    drafts.deploy(draft.id, FORMS, designer)

    newest = definitions.latest("support_case")
    assert newest.version == flow.version + 1
    assert "plan_note" in newest.forms["support_plan.schema.json"]["properties"]
    assert "plan_note" not in flow.forms["support_plan.schema.json"]["properties"]
