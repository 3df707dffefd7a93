"""Journeys through consent: the 支援会議 without consent (pledge, material) and a withdrawal
mid-plan, walked in the browser by the people who do each step, from their own inbox."""

from __future__ import annotations

from app.services import clock
from tests.browser.person import Person, accept_and_assess, fill_plan, intake

SECRET = "夜間に大きな物音がすると近隣から情報提供"
WELFARE = "【デモ】市 福祉総務課（多機関協働）"


def test_council_members_pledge_then_read_the_material(live_server: str, new_page) -> None:
    base, today = live_server, clock.today().isoformat()
    intake(Person(new_page(), base, "demo-elderly"), "【テスト】夜間に物音のする世帯", False)

    member = Person(new_page(), base, "demo-council")
    assert member.inbox_titles() == []  # the meeting's task is the chair's, not the members'

    chair = Person(new_page(), base, "demo-supervisor")
    chair.open_task("支援会議（情報共有と役割分担）")
    assert "ケースを見る" not in chair.text()  # no consent: the material is the only way in
    chair.fill("開催日", today)
    chair.choose("出席者全員が守秘義務を誓約している", "はい")
    chair.fill("共有した情報の要旨", SECRET)
    chair.pick("本人へアプローチする機関", WELFARE)
    chair.choose("今後の方針", "アウトリーチで関わる")
    chair.choose("次の訪問・確認の時期", "2週間後")
    chair.press("完了する")
    chair.follow("支援会議")
    chair.page.locator("main li a").first.click()
    chair.page.wait_for_url("**/council/*")
    assert SECRET in chair.text()
    chair.page.get_by_label("構成員を選ぶ").select_option(label="【デモ】支援会議構成員")
    chair.press("選んだ人を構成員にする")
    chair.shot("council-chair-material")

    member.go("/")
    assert "誓約が必要な支援会議" in member.text()
    member.page.locator("main section", has_text="誓約が必要な支援会議").locator("a").click()
    member.page.wait_for_url("**/council/*")
    assert "誓約して資料を閲覧する" in member.text() and SECRET not in member.text()
    member.shot("council-member-pledge")
    member.press("誓約して資料を閲覧する")
    assert "守秘義務の誓約を記録しました" in member.flash()
    assert SECRET in member.text() and WELFARE in member.text()
    member.shot("council-member-material")


def test_a_withdrawal_mid_plan_is_handled_on_the_page_and_nothing_typed_is_lost(
    live_server: str, new_page
) -> None:
    base = live_server
    intake(Person(new_page(), base, "demo-elderly"), "【テスト】同意を撤回した世帯", True)
    coordinator = Person(new_page(), base, "demo-coordinator")
    accept_and_assess(coordinator)

    # The window that took the case finds it in its case list (its own task is done).
    window = Person(new_page(), base, "demo-elderly")
    window.follow("ケース一覧")
    window.fill("ケース番号・件名・氏名・ふりがなで検索", "同意を撤回")
    window.press("検索")
    window.follow("K-")
    window.press("同意の撤回を記録する")
    assert "撤回の理由" in window.text()  # an empty reason: told on the same page
    window.fill("撤回の申し出の内容", "本人から共有をやめてほしいと電話")
    window.press("同意の撤回を記録する")
    assert "同意の撤回を記録しました" in window.flash()

    fill_plan(coordinator, "家計の見通しを立てる")
    assert "本人の同意の範囲外です" in coordinator.text()
    coordinator.shot("plan-after-withdrawal")
    coordinator.press("完了する")
    # Refused, on the same form, with what was typed kept and the way forward offered.
    assert "本人の同意の範囲外のため" in coordinator.text()
    assert coordinator.value("目標") == "家計の見通しを立てる"
    coordinator.pick("同意によらない共有の法的根拠", "生命・身体の保護")
    coordinator.fill("同意によらない共有の理由", "食事がとれず衰弱しているため")
    coordinator.press("完了する")
    assert "完了しました" in coordinator.flash()
    assert "重層的支援会議" in " ".join(Person(new_page(), base, "demo-supervisor").inbox_titles())
