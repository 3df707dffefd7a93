"""The designer's pages over HTTP: who may open them, the modeler's save answers, uploads that are
not BPMN, and version downloads."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import ProcessDraft
from app.services import definitions
from tests.web.support import csrf_from, log_in

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture
def flow(ctx: Flask, demo: None, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(ctx.config, "KASANE_FORMS_DIR", str(ROOT / "forms"))
    definitions.deploy([str(ROOT / "processes")], str(ROOT / "forms"))
    return definitions.latest("support_case")


def _draft(client, flow) -> tuple[int, str]:
    page = client.get("/design")
    token = csrf_from(page)
    answer = client.post("/design/drafts", data={"csrf_token": token, "definition_id": flow.id})
    assert answer.status_code == 302
    draft_id = int(answer.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    return draft_id, token


def test_designer_starts_a_draft_and_saves_through_the_modeler_endpoint(client, flow) -> None:
    log_in(client, "demo-designer")
    draft_id, token = _draft(client, flow)
    page = client.get(f"/design/drafts/{draft_id}").get_data(as_text=True)
    assert "data-modeler" in page and "問題は見つかりませんでした" in page
    xml = client.get(f"/design/drafts/{draft_id}/diagram.bpmn").get_data(as_text=True)
    draft = db.session.get(ProcessDraft, draft_id)
    headers = {"X-CSRFToken": token}

    saved = client.post(
        f"/design/drafts/{draft_id}/diagram",
        json={"xml": xml, "lock_version": draft.lock_version},
        headers=headers,
    )
    assert saved.status_code == 200 and saved.json["message"] == "保存しました"

    stale = client.post(
        f"/design/drafts/{draft_id}/diagram",
        json={"xml": xml, "lock_version": draft.lock_version},
        headers=headers,
    )
    assert stale.status_code == 409 and "先に保存しました" in stale.json["error"]["message"]

    broken = client.post(
        f"/design/drafts/{draft_id}/diagram",
        json={"xml": "<nope", "lock_version": saved.json["lock_version"]},
        headers=headers,
    )
    assert broken.status_code == 422 and broken.json["error"]["message"]

    no_token = client.post(
        f"/design/drafts/{draft_id}/diagram", json={"xml": xml, "lock_version": 99}
    )
    assert no_token.status_code == 400


def test_an_upload_that_is_not_bpmn_gets_a_japanese_page(client, flow) -> None:
    log_in(client, "demo-designer")
    token = csrf_from(client.get("/design"))
    answer = client.post(
        "/design/drafts",
        data={"csrf_token": token, "file": (io.BytesIO(b"\x89PNG\r\n\x1a\nxxxx"), "photo.bpmn")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert "photo.bpmn" in body and "Traceback" not in body
    assert db.session.scalar(select(ProcessDraft.id)) is None


@pytest.mark.parametrize("username", ["demo-coordinator", "demo-admin", "demo-statistician"])
def test_staff_who_do_not_design_get_no_designer_pages(client, flow, username) -> None:
    log_in(client, username)
    assert client.get("/design").status_code == 403
    assert client.get("/design/vocabulary.json").status_code == 403
    assert client.get(f"/design/versions/{flow.id}.bpmn").status_code == 403


def test_a_version_downloads_as_a_bpmn_file(client, flow) -> None:
    log_in(client, "demo-designer")
    answer = client.get(f"/design/versions/{flow.id}.bpmn")
    assert answer.status_code == 200
    assert "support_case-v1.bpmn" in answer.headers["Content-Disposition"]
    assert answer.get_data(as_text=True) == flow.bpmn_xml


def test_the_form_editor_previews_with_the_staff_renderer_and_refuses_bad_json(
    client, flow
) -> None:
    log_in(client, "demo-designer")
    draft_id, token = _draft(client, flow)
    page = client.get(f"/design/drafts/{draft_id}/forms/support_plan.schema.json")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "支援プラン" in body and "form-preview" in body

    preview = client.post(
        "/design/form-preview",
        json={
            "schema": '{"type": "object", "title": "T", "properties": {"a": {"type": "string",'
            ' "title": "相談の要旨", "x-sensitivity": "P"}}}'
        },
        headers={"X-CSRFToken": token},
    )
    assert preview.status_code == 200 and "相談の要旨" in preview.json["html"]
    assert "<label" in preview.json["html"]

    bad = client.post(
        f"/design/drafts/{draft_id}/forms/support_plan.schema.json",
        data={"csrf_token": token, "schema": '{"title": '},
    )
    assert bad.status_code == 422
    assert "JSONとして読めません" in bad.get_data(as_text=True)
    assert "{&#34;title&#34;: " in bad.get_data(as_text=True)  # what was typed is kept
    assert db.session.get(ProcessDraft, draft_id).forms == {}


def test_an_import_the_engine_cannot_run_says_so_in_japanese(client, flow) -> None:
    log_in(client, "demo-designer")
    token = csrf_from(client.get("/design"))
    service_task = (
        (ROOT / "processes" / "outreach.bpmn")
        .read_text(encoding="utf-8")
        .replace("<bpmn:userTask ", "<bpmn:serviceTask ", 1)
        .replace("</bpmn:userTask>", "</bpmn:serviceTask>", 1)
    )
    answer = client.post(
        "/design/drafts",
        data={"csrf_token": token, "file": (io.BytesIO(service_task.encode()), "outreach.bpmn")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "このままでは本番に反映できません" in body and "サービスタスク" in body
    assert "Traceback" not in body
