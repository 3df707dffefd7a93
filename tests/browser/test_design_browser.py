"""A process designer in the browser: a draft made from the running version, a step's due days
changed in the modeler's properties panel and saved, a form edited with its live preview, the
draft deployed as version 2, and the case already running moved onto it with a progress bar.
A supervisor approves where the municipality asks for approval."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from tests.browser.person import Person, take_consultation

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture
def real_forms(ctx: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The live server reads the forms of forms/, as `make run` does."""
    monkeypatch.setitem(ctx.config, "KASANE_FORMS_DIR", str(ROOT / "forms"))


def open_draft(designer: Person) -> None:
    designer.follow("プロセス設計")
    designer.page.get_by_role("button", name="重層的支援（ケース） 第1版から下書きを作る").click()
    designer.page.wait_for_url("**/design/drafts/*")
    designer.page.locator('[data-modeler][data-modeler-ready="true"]').wait_for()


def test_designer_changes_a_step_deploys_it_and_moves_the_running_case(
    live_server: str, new_page, real_forms
) -> None:
    window = Person(new_page(), live_server, "demo-elderly")
    take_consultation(window, "【テスト】移行されるケース")

    designer = Person(new_page(), live_server, "demo-designer")
    open_draft(designer)
    page = designer.page
    assert "問題は見つかりませんでした" in designer.text()
    page.locator("g.djs-shape", has_text="初期アセスメント").first.click()
    panel = page.locator("[data-modeler-properties]")
    panel.get_by_text("Kasane の設定").first.wait_for()
    # Rename the task, and break a rule: a user task without a form.
    name = panel.get_by_label("名前", exact=True)
    name.fill("初期アセスメントと判断")
    name.blur()
    panel.get_by_label("フォーム", exact=True).select_option(label="（なし）")
    page.locator(".bjsl-overlay").first.wait_for()  # the linter marks the element at once
    save = page.get_by_role("button", name="保存", exact=True)
    save.click()
    page.locator('[data-modeler][data-problems="1"]').wait_for()
    assert page.locator(".djs-element.kasane-problem").count() == 1
    assert "初期アセスメントと判断" in page.locator("[data-design-problems]").inner_text()
    designer.shot("design-lint")
    page.reload()
    designer.press("本番に反映する")
    refusal = designer.text()
    assert "初期アセスメントと判断" in refusal and "フォーム" in refusal  # the element, in Japanese
    page.go_back()
    page.locator('[data-modeler][data-modeler-ready="true"]').wait_for()

    # Fix it, and give the task more days.
    page.locator("g.djs-shape", has_text="初期アセスメント").first.click()
    panel.get_by_label("フォーム", exact=True).select_option(label="初期アセスメントと対応の判断")
    due = panel.get_by_label("期限（日数）")
    assert due.input_value() == "3"
    due.fill("5")
    due.blur()
    save.click()
    page.locator('[data-modeler][data-problems="0"]').wait_for()
    assert "保存しました" in page.locator("[data-modeler-status]").inner_text()
    assert page.locator(".bjsl-overlay").count() == 0
    designer.shot("design-modeler")

    page.reload()
    page.locator('[data-modeler][data-modeler-ready="true"]').wait_for()
    assert "問題は見つかりませんでした" in designer.text()

    designer.follow("本番の版との違いを見る")
    page.locator('[data-diagram-ready="true"]').wait_for()
    row = page.locator("table.diff-table tbody tr", has_text="初期アセスメント")
    assert "期限（日数）：3 → 5" in row.inner_text()
    assert (
        "名前：初期アセスメント（世帯全体）と対応の判断 → 初期アセスメントと判断"
        in row.inner_text()
    )
    assert page.locator(".djs-element.diff-changed").count() == 1
    designer.shot("design-changes")
    page.go_back()
    page.locator('[data-modeler][data-modeler-ready="true"]').wait_for()

    with page.expect_navigation():
        page.get_by_role("link", name="支援プラン", exact=True).click()
    source = page.get_by_label("フォームの定義（JSON Schema）")
    text = source.input_value()
    source.fill(text[:-3])
    problem = page.locator("[data-preview-error]")
    problem.wait_for(state="visible")
    assert "JSONとして読めません" in problem.inner_text()
    source.fill(text.replace('"title": "支援の方針"', '"title": "支援の方針（見直し後）"', 1))
    page.locator("[data-preview]", has_text="支援の方針（見直し後）").wait_for()
    assert problem.is_hidden()
    designer.shot("design-form-preview")
    designer.press("下書きに保存")
    assert "下書きに保存しました" in designer.flash()

    designer.follow("重層的支援（ケース）")
    designer.follow("見本データで試す")
    designer.pick("届かせたいタスク", "支援プランの作成")
    designer.press("試す")
    assert page.locator("[data-try-outcome]").get_attribute("data-try-outcome") == "reached"
    assert "「支援プランの作成」に届きました" in designer.text()
    assert page.locator("ol.try-path li").count() > 5
    designer.shot("design-try")
    designer.follow("重層的支援（ケース）")
    designer.press("本番に反映する")
    assert "第2版として本番に反映しました" in designer.flash()

    designer.follow("動いているケースを新しい版へ移す")
    designer.pick("移行元の版", "第1版")
    designer.pick("移行先の版", "第2版")
    designer.press("移行の見通しを見る")
    assert page.locator("[data-movable]").inner_text() == "1"
    assert "初期アセスメント" in designer.text() and "期限（日数）" in designer.text()
    assert "【テスト】移行されるケース" not in designer.text()  # designers see no case content
    designer.shot("design-migration-preview")
    page.get_by_role("button", name="移せる1件を第2版へ移す").click()
    page.locator('form[data-migrate][data-migrate-done="1"]').wait_for()
    assert "移行しました" in page.locator("[data-migrate-results]").inner_text()

    # The moved case continues at the same task, now with the new version's name for it.
    assert "初期アセスメントと判断" in window.inbox_titles()

    staff = Person(new_page(), live_server, "demo-coordinator")
    assert "プロセス設計" not in staff.page.locator("nav").inner_text()
    staff.go("/design")
    assert "プロセス設計の画面を使えるのは" in staff.text()


def test_with_approval_a_supervisor_puts_the_draft_live(
    live_server: str, new_page, real_forms
) -> None:
    admin = Person(new_page(), live_server, "demo-admin")
    admin.follow("管理")
    admin.follow("自治体の設定")
    admin.choose("プロセスの新しい版は係長・課長の承認を得てから本番に反映する", "はい")
    admin.press("保存する")

    designer = Person(new_page(), live_server, "demo-designer")
    open_draft(designer)
    page = designer.page
    page.locator("g.djs-shape", has_text="初期アセスメント").first.click()
    due = page.locator("[data-modeler-properties]").get_by_label("期限（日数）")
    due.fill("4")
    due.blur()
    page.get_by_role("button", name="保存", exact=True).click()
    page.locator("[data-modeler][data-saved]").wait_for()
    page.reload()
    designer.press("承認を求める")
    assert "承認を待っています" in designer.flash()

    supervisor = Person(new_page(), live_server, "demo-supervisor")
    supervisor.follow("プロセス設計")
    supervisor.follow("重層的支援（ケース）")
    assert "承認待ち" in supervisor.text()
    supervisor.press("承認して本番に反映する")
    assert "第2版として本番に反映しました" in supervisor.flash()
