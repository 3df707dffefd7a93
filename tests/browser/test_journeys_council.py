"""The 支援会議 paths of a household that has not consented, walked in the browser by the people who
do each step: watching and the re-check two weeks later, outreach visits (continued, brought forward,
sent back to the council), the council changing course, emergency response; and consent obtained
at a visit, which takes the case to 多機関協働, which advises the window and hands it back."""

from __future__ import annotations

from app.services import clock
from tests.browser.person import Person, intake
from tests.harness import Calendar

COUNCIL = "支援会議（情報共有と役割分担）"
VISIT = "アウトリーチ（訪問・同行の記録）"
WELFARE = "【デモ】市 福祉総務課（多機関協働）"


def hold_council(
    chair: Person, course: str, when: str = "2週間後", summary: str = "", sees: str = ""
) -> None:
    """The chair records the 支援会議 from the task in the chair's inbox (having seen ``sees``
    among what the meeting is given to decide on)."""
    chair.open_task(COUNCIL)
    assert "母の介護と息子の無職" in chair.text()  # the window's first assessment, shared here
    assert sees in chair.text()
    chair.fill("開催日", clock.today().isoformat())
    chair.choose("出席者全員が守秘義務を誓約している", "はい")
    if summary:
        chair.fill("共有した情報の要旨", summary)
    chair.pick("本人へアプローチする機関", WELFARE)
    chair.choose("今後の方針", course)
    chair.choose("次の訪問・確認の時期", when)
    chair.press("完了する")
    assert "完了しました" in chair.flash(), chair.text()


def visit(outreach: Person, result: str, notes: str) -> None:
    outreach.open_task(VISIT)
    outreach.fill("訪問日", clock.today().isoformat())
    outreach.choose("方法", "訪問")
    outreach.fill("訪問の記録", notes)
    outreach.choose("訪問の結果", result)


def test_the_council_watches_rechecks_sends_outreach_and_turns_to_emergency(
    live_server: str, new_page, calendar: Calendar
) -> None:
    base = live_server
    title = "【テスト】見守りから緊急対応になった世帯"
    window = Person(new_page(), base, "demo-elderly")
    intake(window, title, False)

    chair = Person(new_page(), base, "demo-supervisor")
    hold_council(chair, "見守りを続ける", "2週間後", "民生委員が週に一度様子を見ている")
    assert COUNCIL not in chair.inbox_titles()  # nothing to do until the re-check

    # Two weeks pass: the re-check comes back to the 支援会議 by itself.
    assert calendar.pass_days(15) >= 1
    chair.log_in()
    assert COUNCIL in chair.inbox_titles()
    hold_council(chair, "アウトリーチで関わる", "1週間後", "郵便物がたまり始めた")

    outreach = Person(new_page(), base, "demo-outreach")
    visit(outreach, "訪問を続ける", "不在。手紙を置いてきた")
    outreach.press("完了する")
    assert "完了しました" in outreach.flash()
    assert VISIT not in outreach.inbox_titles()  # the next visit waits for its date…

    # …but a neighbour calls: the worker goes again today.
    outreach.open_case(title)
    outreach.shot("council-case-page-waiting-for-revisit")
    outreach.start_now("再訪問の時期")
    visit(outreach, "支援会議で再検討する", "玄関先で少し話せたが、支援は拒否")
    outreach.press("完了する")
    assert "完了しました" in outreach.flash()

    hold_council(chair, "見守りを続ける", "1か月後", sees="玄関先で少し話せたが、支援は拒否")
    # The window that watches hears that things are getting worse and asks the council to look
    # at the household again now, not in a month.
    window.log_in()
    window.open_case(title)
    window.shot("council-case-page-watching")
    window.start_now("支援会議での再検討の依頼")
    chair.open_task(COUNCIL)
    chair.shot("council-task-again")
    hold_council(chair, "緊急対応へ移行する", "1週間後", "本人が倒れているのを近隣が発見")

    # The flow of this case ends here (emergency response takes over); the window may reopen it.
    window.open_case(title)
    window.shot("council-case-after-emergency")
    text = window.text()
    assert "このケースは終結しています" in text, text
    assert "予定日になりました（「再訪問の時期」）" in text
    assert "知らせを受けました（支援会議での再検討の依頼）" in text
    for person in (window, chair, outreach):
        assert person.inbox_titles() == []  # no one is left with a task on it


def test_consent_at_a_visit_reaches_coordination_which_advises_and_hands_the_case_back(
    live_server: str, new_page
) -> None:
    base, today = live_server, clock.today().isoformat()
    title = "【テスト】訪問で同意を得た世帯"
    intake(Person(new_page(), base, "demo-elderly"), title, False)
    hold_council(Person(new_page(), base, "demo-supervisor"), "アウトリーチで関わる", "1週間後")

    outreach = Person(new_page(), base, "demo-outreach")
    visit(outreach, "本人の同意を得た（多機関協働へ）", "母の介護について一緒に考えたいと本人")
    outreach.press("完了する")
    assert outreach.error("同意の範囲")  # required once consent is obtained: said there
    outreach.fill("同意の範囲", "福祉総務課と地域包括支援センターで共有してよい")
    outreach.press("完了する")
    assert "完了しました" in outreach.flash()

    # 多機関協働 finds the window can handle it with some advice, and hands it back.
    coordinator = Person(new_page(), base, "demo-coordinator")
    coordinator.open_task("多機関協働の受付")
    assert "一緒に考えたいと本人" in coordinator.text()  # the visit that won consent, beside
    coordinator.shot("coordination-intake-after-visit")
    coordinator.fill("受付日", today)
    coordinator.choose("受付の判断", "助言して差し戻す")
    coordinator.press("完了する")
    assert coordinator.error("差し戻す際の助言")  # required when handing back
    coordinator.fill("差し戻す際の助言", "介護保険の区分変更と家族会の紹介で対応できる")
    coordinator.press("完了する")
    assert "完了しました" in coordinator.flash()

    window = Person(new_page(), base, "demo-elderly")
    window.open_task("窓口での支援とモニタリング")
    assert "介護保険の区分変更と家族会の紹介" in window.text()  # the advice, beside the form
    window.shot("window-support-after-return")
    window.fill("支援日", today)
    window.fill("支援の内容", "区分変更の申請を手伝った")
    window.choose("今後の対応", "支援を続ける")
    window.press("完了する")
    assert "完了しました" in window.flash()
    assert "窓口での支援とモニタリング" not in window.inbox_titles()  # until the next check…

    # …but the son calls today: the window records the check now.
    window.open_case(title)
    window.start_now("次回の確認日")
    window.open_task("窓口での支援とモニタリング")
    window.fill("支援日", today)
    window.fill("支援の内容", "家族会に参加し、介護の負担が軽くなった")
    window.choose("今後の対応", "窓口での支援を終結する")
    window.fill("終結の理由", "介護サービスと家族会で安定した")
    window.press("完了する")
    assert "完了しました" in window.flash()
    window.open_case(title)
    window.shot("window-closed-after-return")
    assert "このケースは終結しています" in window.text()
