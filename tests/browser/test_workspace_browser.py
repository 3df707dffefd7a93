"""Staff work a case in a real browser: intake with consent, coordination, plan, conference, case page."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Case
from tests.browser.conftest import log_in


def choose(page, name: str, value: str) -> None:
    page.locator(f'input[name="{name}"][value="{value}"]').check()


def complete(page) -> None:
    """Press 完了する and wait until the inbox (where a successful completion lands) has loaded."""
    with page.expect_navigation(url="**/inbox"):
        page.get_by_role("button", name="完了する").click()


def open_task(page, base: str, title: str) -> None:
    page.goto(f"{base}/inbox")
    page.get_by_role("link", name=title).first.click()
    page.wait_for_url("**/tasks/*")


def test_a_case_travels_from_intake_to_an_approved_plan(live_server: str, new_page) -> None:
    base = live_server
    window = new_page()
    log_in(window, base, "demo-elderly")
    window.get_by_role("link", name="相談を受け付ける").click()
    window.fill('[name="title"]', "【テスト】母の介護と息子の債務")
    window.fill('[name="received_on"]', "2026-04-06")
    window.locator('input[name="concerns"][value="care"]').check()
    window.locator('input[name="concerns"][value="debt"]').check()
    window.locator('input[name="consent_given"]').check()
    window.fill('[name="consent_date"]', "2026-04-06")
    window.locator('input[name="consent_scope.info_kinds"][value="household"]').check()
    # The plan shares the support history: the person's consent must name that kind too.
    window.locator('input[name="consent_scope.info_kinds"][value="support_history"]').check()
    with window.expect_navigation(url="**/cases/*"):
        window.get_by_role("button", name="受け付けて初期アセスメントへ").click()
    number = window.locator("h1").inner_text().split()[0]
    assert number.startswith("K-")

    window.get_by_role("link", name="初期アセスメント（世帯全体）と対応の判断").click()
    window.fill('[name="main_complaint"]', "母の介護と息子の債務・無職")
    choose(window, "decision", "coordination")
    choose(window, "consent", "given")
    complete(window)
    assert "完了しました" in window.locator(".messages").inner_text()

    coordinator = new_page()
    log_in(coordinator, base, "demo-coordinator")
    open_task(coordinator, base, "多機関協働の受付（受理／助言して差し戻し）")
    choose(coordinator, "coordination_decision", "accept")
    complete(coordinator)
    open_task(coordinator, base, "合同アセスメント")
    complete(coordinator)
    open_task(coordinator, base, "支援プランの作成")
    coordinator.fill('[name="goals.0.goal"]', "家計の見通しを立てる")
    coordinator.fill('[name="goals.0.support_content"]', "家計相談と債務整理")
    coordinator.fill('[name="goals.0.responsible_agency"]', "くらし自立相談支援窓口")
    coordinator.get_by_role("button", name="行を追加").first.click()
    coordinator.fill('[name="goals.1.goal"]', "母の介護サービスを安定させる")
    coordinator.fill('[name="goals.1.support_content"]', "ケアマネジャーと連携")
    coordinator.fill('[name="goals.1.responsible_agency"]', "地域包括支援センター")
    coordinator.get_by_label("主担当機関").select_option(label="【デモ】くらし自立相談支援窓口")
    coordinator.fill('[name="plan_start"]', "2026-04-10")
    coordinator.fill('[name="plan_end"]', "2026-10-09")
    coordinator.fill('[name="review_date"]', "2026-05-10")
    choose(coordinator, "participation_requested", "false")
    choose(coordinator, "outreach_requested", "false")
    choose(coordinator, "person_consented", "true")
    complete(coordinator)

    supervisor = new_page()
    log_in(supervisor, base, "demo-supervisor")
    open_task(supervisor, base, "重層的支援会議（プランの検討）")
    supervisor.fill('[name="conference_date"]', "2026-04-15")
    choose(supervisor, "conference_outcome", "approve")
    choose(supervisor, "resources_sufficient", "true")
    complete(supervisor)

    case_id = db.session.scalar(select(Case.id).where(Case.number == number))
    supervisor.goto(f"{base}/cases/{case_id}")
    assert (
        "家計の見通しを立てる"
        in supervisor.locator("#plans + details, section[aria-labelledby=plans]").first.inner_text()
    )
    supervisor.wait_for_selector(".kasane-diagram .djs-element.active", timeout=20000)
    active = supervisor.locator(".kasane-diagram .djs-element.active").first.get_attribute(
        "data-element-id"
    )
    assert active == "support_decision"
    assert (
        supervisor.locator(
            '.kasane-diagram .djs-element.completed[data-element-id="plan_conference"]'
        ).count()
        == 1
    )


def test_invalid_input_keeps_what_was_typed_and_shows_messages(live_server: str, new_page) -> None:
    base = live_server
    page = new_page()
    log_in(page, base, "demo-elderly")
    page.goto(f"{base}/cases/new")
    assert page.locator('[name="received_on"]').input_value()  # 受付日 starts as today
    page.fill('[name="received_on"]', "")  # cleared: it is required
    page.fill('[name="title"]', "【テスト】入力の誤り")
    page.fill('[name="wishes"]', "できれば自宅で暮らし続けたい")
    page.get_by_role("button", name="受け付けて初期アセスメントへ").click()
    assert page.locator(".field-error").count() >= 2
    assert page.locator('[name="wishes"]').input_value() == "できれば自宅で暮らし続けたい"
    assert page.locator('[name="title"]').input_value() == "【テスト】入力の誤り"
    assert page.locator('[aria-invalid="true"]').count() >= 1


def test_a_second_user_opening_a_completed_task_sees_a_clear_message(
    live_server: str, new_page
) -> None:
    base = live_server
    first, second = new_page(), new_page()
    log_in(first, base, "demo-supervisor")
    log_in(second, base, "demo-coordinator")
    window = new_page()
    log_in(window, base, "demo-elderly")
    window.goto(f"{base}/cases/new")
    window.fill('[name="title"]', "【テスト】同時に開いたタスク")
    window.fill('[name="received_on"]', "2026-04-06")
    window.locator('input[name="concerns"][value="income"]').check()
    window.get_by_role("button", name="受け付けて初期アセスメントへ").click()
    window.get_by_role("link", name="初期アセスメント（世帯全体）と対応の判断").click()
    choose(window, "decision", "coordination")
    choose(window, "consent", "given")
    complete(window)
    open_task(first, base, "多機関協働の受付（受理／助言して差し戻し）")
    open_task(second, base, "多機関協働の受付（受理／助言して差し戻し）")
    choose(first, "coordination_decision", "accept")
    complete(first)
    choose(second, "coordination_decision", "accept")
    second.get_by_role("button", name="完了する").click()
    assert "すでに完了しています" in second.locator("main").inner_text()
    second.reload()
    assert "このタスクはすでに完了しています" in second.locator("main").inner_text()
