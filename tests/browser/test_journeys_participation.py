"""参加支援 in the browser, by the participation worker: a placement whose retention is checked again
two weeks later (the date comes by itself), then ends, so another place is sought; none is found,
and the unmet need is recorded while the rest of the plan goes on."""

from __future__ import annotations

from app.services import clock
from tests.browser.person import (
    Person,
    accept_and_assess,
    confer,
    decide,
    fill_plan,
    intake,
)
from tests.harness import Calendar

MATCHING = "参加先とのマッチング"
RETENTION = "定着の確認（フォローアップ）"


def test_a_placement_is_followed_ends_and_no_other_place_is_found(
    live_server: str, new_page, calendar: Calendar
) -> None:
    base = live_server
    title = "【テスト】居場所を探す世帯"
    intake(Person(new_page(), base, "demo-elderly"), title, True)
    coordinator = Person(new_page(), base, "demo-coordinator")
    accept_and_assess(coordinator)
    fill_plan(coordinator, "日中の居場所を見つける", participation=True)
    coordinator.fill("参加支援への依頼内容", "週に数日通える居場所")
    coordinator.press("完了する")
    confer(Person(new_page(), base, "demo-supervisor"), "承認する")
    decide(Person(new_page(), base, "demo-decision"))

    worker = Person(new_page(), base, "demo-participation")
    worker.open_task(MATCHING)
    assert "週に数日通える居場所" in worker.text()  # what the plan asks for
    worker.fill("本人のニーズ・希望", "静かな場所で過ごしたい")
    worker.choose("マッチングの結果", "参加先が決まった")
    worker.choose("参加先の種類", "居場所")
    worker.fill("参加先の名称", "【デモ】まちかどサロン")
    worker.fill("受け入れ先の担当者・連絡先", "サロン代表 田中さん")
    worker.fill("マッチング日", clock.today().isoformat())
    worker.choose("定着を確認する時期", "2週間後")
    worker.press("完了する")
    assert "完了しました" in worker.flash()
    worker.open_task("受け入れ開始")
    assert "【デモ】まちかどサロン" in worker.text()  # the place that was found
    worker.fill("開始日", clock.today().isoformat())
    worker.fill("受け入れ先への支援", "本人の苦手なことを事前に共有")
    worker.press("完了する")
    assert "完了しました" in worker.flash()

    # Two weeks later the retention check is due by itself: not settled yet, check again.
    assert calendar.pass_days(15) >= 1
    worker.log_in()
    worker.open_task(RETENTION)
    worker.fill("確認日", clock.today().isoformat())
    worker.fill("本人と受け入れ先の様子", "週1回は通えているが緊張が強い")
    worker.choose("定着の状況", "引き続き確認する")
    worker.choose("次に確認する時期", "2週間後")
    worker.press("完了する")
    assert "完了しました" in worker.flash()
    assert RETENTION not in worker.inbox_titles()

    # The host calls: the person has stopped coming. The worker checks now and looks again.
    worker.open_case(title)
    worker.start_now("定着確認の時期")
    worker.open_task(RETENTION)
    worker.fill("確認日", clock.today().isoformat())
    worker.choose("定着の状況", "終了した（別の参加先を探す）")
    worker.press("完了する")
    assert worker.error("終了の理由")  # required when it ended: said beside the field
    worker.fill("終了の理由", "他の利用者との関係がうまくいかなかった")
    worker.press("完了する")
    assert "完了しました" in worker.flash()

    worker.open_task(MATCHING)
    assert "他の利用者との関係がうまくいかなかった" in worker.text()  # why a new place is sought
    worker.shot("participation-rematch")
    worker.choose("マッチングの結果", "見つからない（不足として記録）")
    worker.fill("満たされないニーズ", "少人数で静かに過ごせる居場所が地域にない")
    worker.press("完了する")
    assert "完了しました" in worker.flash()
    assert worker.inbox_titles() == []

    # 参加支援 has ended; the plan goes on to its review.
    coordinator.log_in()
    coordinator.open_case(title)
    coordinator.shot("case-after-participation")
    assert coordinator.fact("段階") == "支援の実施"
    assert "プランの見直し日" in coordinator.text()
