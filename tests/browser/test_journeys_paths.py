"""More paths of the flow walked in the browser by the people who do each step: the window's own
support and closure (and reopening), a referral declined and then accepted, and the no-consent
path from the 支援会議 through outreach to consent recorded on the case page."""

from __future__ import annotations

from app.services import clock
from tests.browser.person import Person, intake


def new_case(window: Person, title: str) -> None:
    today = clock.today().isoformat()
    window.follow("相談を受け付ける")
    window.fill("件名", title)
    window.fill("受付日", today)
    window.tick("介護", group="相談内容（分類）")
    window.press("受け付けて初期アセスメントへ")
    window.follow("初期アセスメント（世帯全体）と対応の判断")
    window.fill("主訴", "母の介護の相談")


def test_the_window_supports_closes_and_reopens(live_server: str, new_page) -> None:
    window = Person(new_page(), live_server, "demo-elderly")
    new_case(window, "【テスト】窓口で対応する世帯")
    window.choose("対応の判断", "この窓口で対応する")
    window.press("完了する")
    window.open_task("窓口での支援とモニタリング")
    window.fill("支援の内容", "介護保険の申請を支援した")
    window.choose("今後の対応", "窓口での支援を終結する")
    window.press("完了する")
    assert "終結の理由" in window.text()  # required when closing: said on the same page
    window.fill("終結の理由", "サービスの利用が始まり課題が解決した")
    window.press("完了する")
    assert "完了しました" in window.flash()
    window.follow("ケース一覧")
    window.follow("K-")
    assert "このケースは終結しています" in window.text()
    window.fill("再開の理由", "長男の就労について新たな相談")
    window.press("新たな支援の期として再開する")
    assert "第2期" in window.flash()
    assert "初期アセスメント（世帯全体）と対応の判断" in window.inbox_titles()


def test_a_referral_is_declined_with_a_reason_then_accepted(live_server: str, new_page) -> None:
    window = Person(new_page(), live_server, "demo-elderly")
    new_case(window, "【テスト】つなぎの世帯")
    window.choose("対応の判断", "他の窓口へつなぐ（つなぎ）")
    window.pick("つなぎ先の窓口", "【デモ】こども家庭センター")
    window.fill("つなぎの目的", "孫の不登校の相談")
    window.press("完了する")
    # No consent was recorded at intake: the referral is outside it, said on the same form.
    assert "本人の同意の範囲外" in window.text()
    assert window.value("つなぎの目的") == "孫の不登校の相談"
    window.go("/cases")
    window.follow("K-")
    window.page.locator("summary", has_text="本人の同意を記録する").click()
    window.fill("同意日", clock.today().isoformat())
    window.press("同意を記録する")
    assert "本人の同意を記録しました" in window.flash()
    window.open_task("初期アセスメント（世帯全体）と対応の判断")
    window.choose("対応の判断", "他の窓口へつなぐ（つなぎ）")
    window.pick("つなぎ先の窓口", "【デモ】こども家庭センター")
    window.fill("つなぎの目的", "孫の不登校の相談")
    window.press("完了する")
    assert "完了しました" in window.flash()

    child = Person(new_page(), live_server, "demo-child")
    child.open_task("つなぎの受け入れ判断")
    child.choose("受け入れの判断", "受け入れない（理由を添えて戻す）")
    child.fill("受け入れない理由", "学校と調整済みのため")
    child.press("完了する")
    assert "完了しました" in child.flash()

    window.open_task("初期アセスメント（世帯全体）と対応の判断")
    window.choose("対応の判断", "他の窓口へつなぐ（つなぎ）")
    window.pick("つなぎ先の窓口", "【デモ】くらし自立相談支援窓口")
    window.fill("つなぎの目的", "家計の相談")
    window.press("完了する")
    poverty = Person(new_page(), live_server, "demo-poverty")
    poverty.open_task("つなぎの受け入れ判断")
    poverty.choose("受け入れの判断", "受け入れる")
    poverty.press("完了する")
    assert "完了しました" in poverty.flash()
    assert "窓口での支援とモニタリング" in poverty.inbox_titles()  # the case is now its own


def test_without_consent_the_council_sends_outreach_and_consent_leads_to_coordination(
    live_server: str, new_page
) -> None:
    today = clock.today().isoformat()
    intake(Person(new_page(), live_server, "demo-elderly"), "【テスト】同意のない世帯", False)
    chair = Person(new_page(), live_server, "demo-supervisor")
    chair.open_task("支援会議（情報共有と役割分担）")
    chair.fill("開催日", today)
    chair.choose("出席者全員が守秘義務を誓約している", "はい")
    chair.pick("本人へアプローチする機関", "【デモ】市 福祉総務課（多機関協働）")
    chair.choose("今後の方針", "アウトリーチで関わる")
    chair.choose("次の訪問・確認の時期", "1週間後")
    chair.press("完了する")

    # The outreach worker has the visit at once (not a week later).
    outreach = Person(new_page(), live_server, "demo-outreach")
    outreach.open_task("アウトリーチ（訪問・同行の記録）")
    outreach.fill("訪問日", today)
    outreach.choose("方法", "訪問")
    outreach.choose("訪問の結果", "訪問を続ける")
    outreach.press("完了する")
    assert "完了しました" in outreach.flash()
    # The person agrees on the next call: the worker records it on the case page.
    outreach.follow("ケース一覧")
    outreach.follow("K-")
    outreach.page.locator("summary", has_text="本人の同意を記録する").click()
    outreach.fill("同意日", today)
    outreach.press("同意を記録する")
    assert "本人の同意を記録しました" in outreach.flash()
    coordinator = Person(new_page(), live_server, "demo-coordinator")
    assert "多機関協働の受付（受理／助言して差し戻し）" in coordinator.inbox_titles()
