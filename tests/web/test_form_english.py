"""With English chosen, task forms (labels, help, choices) and the intake read in English."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from app.services import form_i18n
from app.services.demo import AGENCIES
from tests.harness import ROOT, Flow
from tests.web.support import csrf_from, log_in

KANA_KANJI = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def test_the_first_assessment_form_reads_in_english(flow: Flow, client: FlaskClient) -> None:
    flow.open_case()
    [item] = flow.open_items()
    log_in(client, "demo-elderly")
    client.post(
        "/language",
        data={"csrf_token": csrf_from(client.get("/")), "lang": "en", "next": "/"},
    )
    html = client.get(f"/tasks/{item.id}").get_data(as_text=True)
    form = html.split('class="task-form"', 1)[1].split("</form>", 1)[0]
    assert "Decision" in form or "decision" in form
    # Every label, legend and option of the form is in English.
    texts = re.findall(r"<(?:label|legend|option)[^>]*>([^<]+)<", form)
    agencies = {name for _, name, _ in AGENCIES}  # names of agencies are data, not wording
    japanese = [t for t in texts if KANA_KANJI.search(t) and t.strip() not in agencies]
    assert texts and japanese == [], japanese


def test_every_form_has_a_complete_english_catalogue() -> None:
    import json

    for path in sorted((ROOT / "forms").glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        english = form_i18n.localized(schema, path.name, "en")
        left = KANA_KANJI.findall(json.dumps(english, ensure_ascii=False))
        assert left == [], f"{path.name}: untranslated text remains"


def test_validation_messages_read_in_english_too(flow: Flow, client: FlaskClient) -> None:
    flow.open_case()
    [item] = flow.open_items()
    log_in(client, "demo-elderly")
    token = csrf_from(client.get("/"))
    client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/"})
    page = client.get(f"/tasks/{item.id}")
    response = client.post(
        f"/tasks/{item.id}", data={"csrf_token": csrf_from(page), "action": "complete"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Some entries need correcting" in html
    assert "This field is required" in html
    assert "必須項目です" not in html and "入力内容に誤りがあります" not in html
    # Back in Japanese, the same refusal speaks Japanese.
    client.post("/language", data={"csrf_token": token, "lang": "ja", "next": "/"})
    page = client.get(f"/tasks/{item.id}")
    response = client.post(
        f"/tasks/{item.id}", data={"csrf_token": csrf_from(page), "action": "complete"}
    )
    assert "必須項目です。入力してください。" in response.get_data(as_text=True)
