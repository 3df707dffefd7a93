"""Every deployed diagram opens cleanly in bpmn-js (it has diagram interchange and no import warnings)."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import ProcessDefinition
from tests.browser.conftest import log_in


def test_every_process_diagram_imports_without_warnings(live_server: str, new_page) -> None:
    page = new_page()
    log_in(page, live_server, "demo-designer")
    rows = db.session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.key)).all()
    assert {r.key for r in rows} == {"support_case", "participation", "outreach"}
    for row in rows:
        page.goto(f"{live_server}/processes/{row.id}")
        diagram = page.locator(".kasane-diagram")
        page.wait_for_selector(".kasane-diagram[data-diagram-ready]")
        assert diagram.get_attribute("data-diagram-ready") == "true", row.key
        assert diagram.get_attribute("data-import-warnings") == "0", row.key
        shapes = page.locator(".kasane-diagram .djs-element.djs-shape").count()
        assert shapes > 5, row.key
