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


def test_the_case_diagram_opens_on_the_current_task_with_zoom_controls(
    live_server: str, new_page
) -> None:
    from app.services import clock
    from tests.browser.person import Person

    window = Person(new_page(), live_server, "demo-elderly")
    window.follow("相談を受け付ける")
    window.fill("件名", "【テスト】図の表示")
    window.fill("受付日", clock.today().isoformat())
    window.tick("介護", group="相談内容（分類）")
    window.press("受け付けて初期アセスメントへ")
    diagram = window.page.locator(".kasane-diagram")
    window.page.wait_for_selector(".kasane-diagram[data-diagram-ready='true']")
    # Readable (not squeezed to fit the whole flow) and the current task is in view.
    assert float(diagram.get_attribute("data-zoom")) == 1.0
    task = window.page.locator('.djs-element.active[data-element-id="first_assessment"]')
    assert task.is_visible() and task.bounding_box()["width"] > 60
    # The way the case came is drawn: the flow from the start to the current task.
    assert diagram.get_attribute("data-taken-shown") == "1"
    assert window.page.locator(".djs-connection.taken").count() == 1
    window.page.get_by_role("button", name="全体を表示").click()
    assert float(diagram.get_attribute("data-zoom")) < 1.0
    window.page.get_by_role("button", name="拡大").click()
    zoomed = float(diagram.get_attribute("data-zoom"))
    window.page.get_by_role("button", name="縮小").click()
    assert float(diagram.get_attribute("data-zoom")) < zoomed
    window.page.get_by_role("button", name="現在の位置へ").click()
    assert float(diagram.get_attribute("data-zoom")) == 1.0
    window.shot("case-diagram")
