"""The 重層的支援会議 and what follows it, walked in the browser by the people who do each step: a
plan sent back for revision and then approved (in a municipality that makes no separate 支援決定),
outreach after consent until the person is linked, the plan's review brought forward; and a
conference that stalls, is escalated to the supervisor, and returns the case to its primary agency."""

from __future__ import annotations

from datetime import timedelta

from app.services import clock
from tests.browser.person import Person, accept_and_assess, confer, fill_plan, intake
from tests.harness import Calendar

CONFERENCE = "重層的支援会議（プランの検討）"
FOLLOWUP = "訪問・同行・関係づくり（同意後）"


def test_a_revised_plan_is_approved_and_outreach_visits_until_the_person_is_linked(
    live_server: str, new_page, calendar: Calendar
) -> None:
    base = live_server
    title = "【テスト】ひきこもりの息子がいる世帯"

    # This municipality gives the 支援決定 to the meeting: the administrator turns the step off.
    admin = Person(new_page(), base, "demo-admin")
    admin.follow("管理")
    admin.follow("自治体の設定")
    admin.choose("市町村による支援決定を行う", "いいえ")
    admin.press("保存する")
    assert admin.page.get_by_label("いいえ").first.is_checked()

    intake(Person(new_page(), base, "demo-elderly"), title, True)
    coordinator = Person(new_page(), base, "demo-coordinator")
    accept_and_assess(coordinator)
    fill_plan(coordinator, "息子が外に出るきっかけをつくる", outreach=True)
    coordinator.fill("アウトリーチへの依頼内容", "息子への定期的な訪問")
    coordinator.press("完了する")
    assert "完了しました" in coordinator.flash()

    supervisor = Person(new_page(), base, "demo-supervisor")
    supervisor.open_task(CONFERENCE)
    assert "息子が外に出るきっかけをつくる" in supervisor.text()  # the plan under review
    confer(
        supervisor,
        "修正を求める（プランを作り直す）",
        修正してほしい点="母の介護の負担についての目標を加えること",
    )

    # The plan comes back with the points to revise beside it and what was written kept.
    coordinator.open_task("支援プランの作成")
    assert "母の介護の負担についての目標を加えること" in coordinator.text()
    assert coordinator.value("目標") == "息子が外に出るきっかけをつくる"
    coordinator.shot("plan-revision-with-points")
    coordinator.add_row("目標と役割分担")
    coordinator.fill("目標", "母の介護の負担を減らす", group="目標 2")
    coordinator.fill("支援の内容", "ショートステイの利用", group="目標 2")
    coordinator.fill("担当機関", "中央地域包括支援センター", group="目標 2")
    coordinator.press("完了する")
    assert "完了しました" in coordinator.flash()

    supervisor.open_task(CONFERENCE)
    assert "母の介護の負担を減らす" in supervisor.text()  # the revised plan
    confer(supervisor, "承認する")
    # No 支援決定 here: the outreach worker has the visits at once.
    assert "支援決定" not in " ".join(Person(new_page(), base, "demo-decision").inbox_titles())

    outreach = Person(new_page(), base, "demo-outreach")
    outreach.open_task(FOLLOWUP)
    assert "息子への定期的な訪問" in outreach.text()  # what the plan asks of outreach
    outreach.shot("outreach-followup")
    outreach.fill("訪問日", clock.today().isoformat())
    outreach.choose("方法", "訪問")
    outreach.fill("訪問の記録", "ドア越しに挨拶できた")
    outreach.choose("訪問の結果", "訪問を続ける")
    outreach.choose("次の訪問の時期", "1週間後")
    outreach.press("完了する")
    assert "完了しました" in outreach.flash()
    assert FOLLOWUP not in outreach.inbox_titles()

    # A week later the next visit is due by itself.
    assert calendar.pass_days(8) >= 1
    outreach.log_in()
    outreach.open_task(FOLLOWUP)
    outreach.fill("訪問日", clock.today().isoformat())
    outreach.choose("方法", "同行")
    outreach.choose("訪問の結果", "適切な機関と安定してつながった")
    outreach.fill("つながった機関", "地域活動支援センター")
    outreach.press("完了する")
    assert "完了しました" in outreach.flash()

    # The family calls before the review date: the coordinator reviews the plan now.
    coordinator.log_in()
    coordinator.open_case(title)
    coordinator.start_now("プランの見直し日")
    coordinator.open_task("モニタリング")
    coordinator.fill("実施日", clock.today().isoformat())
    coordinator.choose("きっかけ", "定期（見直し日）")
    coordinator.choose("モニタリングの結論", "支援を継続する")
    next_review = clock.today() + timedelta(days=60)
    coordinator.fill("次の見直し日", next_review.isoformat())
    coordinator.press("完了する")
    assert "完了しました" in coordinator.flash()
    coordinator.open_case(title)
    coordinator.shot("case-after-monitoring-continue")
    text = coordinator.text()
    assert f"プランの見直し日（予定日 {next_review.year}年{next_review.month}月" in text, text


def test_a_stalled_conference_is_escalated_and_returns_the_case_to_the_primary_agency(
    live_server: str, new_page, calendar: Calendar
) -> None:
    base = live_server
    title = "【テスト】会議が止まった世帯"
    intake(Person(new_page(), base, "demo-elderly"), title, True)
    coordinator = Person(new_page(), base, "demo-coordinator")
    accept_and_assess(coordinator)
    fill_plan(coordinator, "家計を立て直す")
    coordinator.press("完了する")
    assert "完了しました" in coordinator.flash()

    # Three weeks pass without a conference: the case is flagged to the supervisor.
    calendar.pass_days(22)
    supervisor = Person(new_page(), base, "demo-supervisor")
    supervisor.open_task("停滞ケースの確認")
    supervisor.shot("escalation-task")
    assert CONFERENCE in supervisor.text()  # which step has stalled
    supervisor.fill("確認日", clock.today().isoformat())
    supervisor.fill("停滞の原因", "会議の日程が決まっていなかった")
    supervisor.fill("対応", "来週の会議で検討する")
    supervisor.press("完了する")
    assert "完了しました" in supervisor.flash()

    # The meeting finds the household's needs are the poverty window's own field.
    confer(
        supervisor,
        "主担当機関での支援に戻す",
        主担当機関に戻す理由="家計の課題が中心で、くらし窓口の支援で足りる",
    )
    poverty = Person(new_page(), base, "demo-poverty")
    poverty.open_task("主担当機関としての継続支援")
    assert "くらし窓口の支援で足りる" in poverty.text()  # why it came back
    poverty.shot("primary-followup")
    poverty.fill("引継ぎを受けた日", clock.today().isoformat())
    poverty.fill("引継ぎの内容", "家計相談を続ける")
    poverty.press("完了する")
    assert "完了しました" in poverty.flash()
    poverty.open_case(title)
    poverty.shot("case-returned-to-primary")
    assert "主担当機関へ戻す" in poverty.fact("段階"), poverty.text()
