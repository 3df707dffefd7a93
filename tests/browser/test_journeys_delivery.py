"""The multi-agency path with 参加支援 requested, walked in the browser: plan, conference, decision,
matching and placement in the called participation process, and a dated step (定着の確認)
brought forward from the case page instead of waiting for its timer."""

from __future__ import annotations

from app.services import clock
from tests.browser.person import Person, accept_and_assess, fill_plan, intake


def test_participation_is_done_in_the_browser_and_a_dated_step_can_start_now(
    live_server: str, new_page
) -> None:
    base, today = live_server, clock.today()
    intake(Person(new_page(), base, "demo-elderly"), "【テスト】就労体験を希望する世帯", True)

    coordinator = Person(new_page(), base, "demo-coordinator")
    accept_and_assess(coordinator)
    fill_plan(coordinator, "就労体験から始める", participation=True)
    coordinator.press("完了する")

    supervisor = Person(new_page(), base, "demo-supervisor")
    supervisor.open_task("重層的支援会議（プランの検討）")
    supervisor.fill("開催日", today.isoformat())
    supervisor.choose("会議の結論", "承認する")
    supervisor.choose("社会資源は足りている", "はい")
    supervisor.press("完了する")

    officer = Person(new_page(), base, "demo-decision")
    officer.open_task("支援決定")
    officer.fill("支援決定日", today.isoformat())
    officer.press("完了する")

    worker = Person(new_page(), base, "demo-participation")
    worker.open_task("参加先とのマッチング")
    assert worker.page.get_by_label("本人のニーズ・希望").count() == 1  # the form has its fields
    worker.shot("participation-matching")
    worker.fill("本人のニーズ・希望", "人と話すのは苦手だが体を動かしたい")
    worker.choose("マッチングの結果", "参加先が決まった")
    worker.choose("参加先の種類", "就労体験")
    worker.fill("参加先の名称", "【デモ】地域の農園")
    worker.fill("受け入れ先の担当者・連絡先", "園主 山本さん")
    worker.fill("マッチング日", today.isoformat())
    worker.choose("定着を確認する時期", "1か月後")
    worker.press("完了する")
    assert "完了しました" in worker.flash()
    worker.open_task("受け入れ開始")
    worker.fill("開始日", today.isoformat())
    worker.press("完了する")
    assert "定着の確認" not in " ".join(worker.inbox_titles())  # waits for its date…

    # …but the host called today: the participation worker starts 定着の確認 now.
    worker.follow("ケース一覧")
    worker.follow("K-")
    assert "定着確認の時期" in worker.text()
    # The case stands inside 参加支援: that process's own diagram shows where, and the way there.
    called = worker.page.locator(".kasane-diagram").nth(1)
    assert "呼び出し先のプロセス：参加支援" in worker.text()
    worker.page.locator(".kasane-diagram[data-diagram-ready='true']").nth(1).wait_for()
    assert (
        called.locator('.djs-element.waiting[data-element-id="retention_check_due"]').count() == 1
    )
    assert int(called.get_attribute("data-taken-shown")) >= 3
    worker.shot("case-page-start-now")
    worker.page.get_by_role("button", name="「定着確認の時期」を今すぐ始める").click()
    worker.page.wait_for_load_state()
    assert "今すぐ始めました" in worker.flash()
    worker.open_task("定着の確認（フォローアップ）")
    worker.fill("確認日", today.isoformat())
    worker.choose("定着の状況", "定着した")
    worker.press("完了する")
    assert "完了しました" in worker.flash()

    # A crisis call: the coordinator asks for monitoring now from the case page, proposes to end
    # the multi-agency support, the conference evaluates, and the next primary agency takes over.
    coordinator.follow("ケース一覧")
    coordinator.follow("K-")
    coordinator.page.get_by_role(
        "button", name="「随時のモニタリング要請」を今すぐ知らせる"
    ).click()
    coordinator.page.wait_for_load_state()
    assert "今すぐ始めました" in coordinator.flash()
    coordinator.open_task("モニタリング")
    assert "就労体験から始める" in coordinator.text()  # the plan, shown beside the form
    coordinator.fill("実施日", today.isoformat())
    coordinator.choose("きっかけ", "危機・急な変化")
    coordinator.choose("モニタリングの結論", "終結を提案する（評価へ）")
    coordinator.press("完了する")
    assert "完了しました" in coordinator.flash()

    supervisor.open_task("評価（重層的支援会議）")
    supervisor.fill("評価日", today.isoformat())
    supervisor.fill("目標", "就労体験から始める")
    supervisor.choose("結果", "達成")
    supervisor.choose("評価の結論", "終結する")
    supervisor.pick("終結の種類", "主担当機関へ移行")
    supervisor.pick("終結後の主担当機関", "【デモ】中央地域包括支援センター")
    supervisor.press("完了する")
    assert "完了しました" in supervisor.flash()

    window = Person(new_page(), base, "demo-elderly")
    window.open_task("終結後の引継ぎ（主担当機関）")
    window.fill("引継ぎを受けた日", today.isoformat())
    window.fill("引継ぎの内容", "就労体験を続けられるよう見守る")
    window.press("完了する")
    assert "完了しました" in window.flash()
    window.shot("handover-done")
