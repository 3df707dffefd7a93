"""A supervisor in the browser: the administrator sets what the supervisor oversees, tasks age
past their limits, and the supervisor finds them on 停滞しているケース, filters by reason and
hands two of them to a colleague of the window in one go."""

from __future__ import annotations

from app.services.demo import DEMO_PASSWORD
from tests.browser.person import Person, take_consultation

WINDOW = "【デモ】中央地域包括支援センター"


def oversee_the_window(admin: Person) -> Person:
    """The administrator makes the demo supervisor oversee the elderly window (管理 › ユーザー)."""
    admin.follow("管理")
    admin.follow("ユーザー")
    admin.follow("demo-supervisor")
    admin.tick(WINDOW, group="監督する窓口")
    admin.press("監督の範囲を保存する")
    return admin


def test_supervisor_finds_late_work_and_hands_two_items_to_a_colleague(
    live_server: str, new_page, calendar
) -> None:
    admin = oversee_the_window(Person(new_page(), live_server, "demo-admin"))
    assert "監督の範囲を保存しました" in admin.flash()

    window = Person(new_page(), live_server, "demo-elderly")
    titles = ["【テスト】停滞一", "【テスト】停滞二", "【テスト】停滞三"]
    for title in titles:
        take_consultation(window, title)

    calendar.pass_days(5)  # the first assessments were due in 3 days
    supervisor = Person(new_page(), live_server, "demo-supervisor")
    supervisor.follow("停滞しているケース")
    page = supervisor.page
    counts = " ".join(page.locator(".reason-counts").inner_text().split())
    assert "期限を過ぎたステップ 3" in counts and "担当者が決まっていない 3" in counts
    # Due on day 3, seen on day 5: stalled for two days already, so none is new today.
    assert "この24時間に新しく停滞したもの：0件" in page.locator(".new-stalls").inner_text()
    supervisor.pick("理由", "期限を過ぎたステップ")
    supervisor.press("絞り込む")
    rows = page.locator("table.stalled tbody tr")
    assert rows.count() == 3
    assert "2.0日" in rows.first.inner_text()
    supervisor.shot("supervision-stalled")

    for title in titles[:2]:
        row = rows.filter(has_text=title)
        row.get_by_role("checkbox").check()
    supervisor.pick("割り振り先", "【デモ】介護 窓口相談員")
    supervisor.press("選んだ作業を割り振る")
    assert "2件を割り振りました（2件中）" in supervisor.flash()
    assert "reason=overdue_step" in page.url  # back on the same filtered list
    for title in titles[:2]:
        assert "【デモ】介護 窓口相談員" in rows.filter(has_text=title).inner_text()
    assert "未担当" in rows.filter(has_text=titles[2]).inner_text()
    counts = " ".join(page.locator(".reason-counts").inner_text().split())
    assert "担当者が決まっていない 1" in counts  # the two handed over are no longer unclaimed
    supervisor.shot("supervision-reassigned")

    # The third case was registered twice by mistake: the supervisor ends it, with the reason.
    rows.filter(has_text=titles[2]).get_by_role("checkbox").check()
    supervisor.fill("終了する理由", "重複して登録されたケース")
    supervisor.press("処理を終了する")
    assert "1件のケースの処理を終了しました（1件中）" in supervisor.flash()
    assert rows.filter(has_text=titles[2]).count() == 0

    supervisor.follow("作業の量を見る")
    queues = page.locator("table.workload").nth(1)
    row = queues.locator("tbody tr", has_text=WINDOW)
    assert row.locator("td").first.inner_text() == "2"  # two open, both overdue
    workers = page.locator("table.workload").first
    assert "【デモ】介護 窓口相談員" in workers.inner_text()
    assert "未担当" not in workers.inner_text() and "未担当" in queues.inner_text()
    supervisor.shot("supervision-workload")
    supervisor.follow("停滞しているケース")
    supervisor.follow("流れの図で見る")
    diagram = page.locator(".kasane-diagram")
    diagram.and_(page.locator("[data-heat-shown]")).wait_for()
    assert diagram.get_attribute("data-heat-shown") == "1"
    badge = page.locator("a.heat--late")
    assert badge.inner_text() == "2"
    supervisor.shot("supervision-heatmap")
    with page.expect_navigation():
        badge.click()
    listed = page.locator("table", has=page.get_by_role("columnheader", name="待ち始め"))
    assert listed.locator("tbody tr").count() == 2
    assert "初期アセスメント" in page.locator("h2", has_text="で待っているケース").inner_text()

    supervisor.follow("ケース一覧")
    supervisor.pick("担当者", "【デモ】介護 窓口相談員")
    supervisor.pick("機関", WINDOW)
    supervisor.press("検索")
    found = page.locator("main table tbody").inner_text()
    assert titles[0] in found and titles[1] in found and titles[2] not in found

    window.log_in()
    window.go("/inbox?assignee=me")
    mine = window.page.locator("table.inbox tbody").inner_text()
    assert mine.count("初期アセスメント") == 2


def test_the_administrator_sets_a_step_limit_the_stalled_list_judges_by(
    live_server: str, new_page, calendar
) -> None:
    admin = oversee_the_window(Person(new_page(), live_server, "demo-admin"))
    admin.follow("管理")
    admin.follow("ステップごとの期限")
    admin.fill("初期アセスメント（世帯全体）と対応の判断", "400")
    admin.press("期限を保存する")
    assert "1〜365の日数" in admin.text()
    admin.fill("初期アセスメント（世帯全体）と対応の判断", "1")
    admin.press("期限を保存する")
    assert "期限を保存しました（1 件を変更）" in admin.flash()

    window = Person(new_page(), live_server, "demo-elderly")
    take_consultation(window, "【テスト】一日の期限")
    calendar.pass_days(2)  # the diagram says 3 days; the municipality says 1
    supervisor = Person(new_page(), live_server, "demo-supervisor")
    supervisor.follow("停滞しているケース")
    row = supervisor.page.locator("table.stalled tbody tr", has_text="【テスト】一日の期限")
    assert "期限を過ぎたステップ" in row.first.inner_text()
    assert "1.0日" in row.first.inner_text()


def test_a_supervisor_holds_a_case_resumes_it_and_hands_another_to_a_colleague(
    live_server: str, new_page, calendar
) -> None:
    admin = oversee_the_window(Person(new_page(), live_server, "demo-admin"))
    # A second supervisor of the same window, made by the administrator.
    admin.follow("ユーザー")
    admin.fill("ユーザー名", "sv-second")
    admin.fill("表示名", "介護担当 課長")
    admin.pick("役割", "係長・課長（スーパーバイザー）")
    admin.pick("所属（窓口）", WINDOW)
    admin.fill("初期パスワード", DEMO_PASSWORD)
    admin.press("追加する")
    assert "ユーザー「sv-second」を作成しました" in admin.flash()
    admin.tick(WINDOW, group="監督する窓口")
    admin.press("監督の範囲を保存する")

    window = Person(new_page(), live_server, "demo-elderly")
    held, handed = "【テスト】一時停止する", "【テスト】課長に回す"
    for title in (held, handed):
        take_consultation(window, title)
    calendar.pass_days(5)

    supervisor = Person(new_page(), live_server, "demo-supervisor")
    supervisor.follow("停滞しているケース")
    page = supervisor.page
    rows = page.locator("table.stalled tbody tr")
    rows.filter(has_text=held).first.get_by_role("checkbox").check()
    supervisor.press("一時停止する")  # no reason yet: said above the same list, the tick kept
    assert "一時停止する理由を入力してください" in page.get_by_role("alert").inner_text()
    assert rows.filter(has_text=held).first.get_by_role("checkbox").is_checked()
    supervisor.fill("一時停止する理由", "家族と方針を話し合うまで止める")
    supervisor.press("一時停止する")
    assert "1件のケースの処理を一時停止しました（1件中）" in supervisor.flash()
    row = rows.filter(has_text=held).filter(has_text="一時停止している")
    assert "家族と方針を話し合うまで止める" in row.inner_text()
    supervisor.shot("supervision-held")
    # The held row is about the case as a whole: it too is ticked, here for a note on the case.
    row.get_by_role("checkbox").check()
    supervisor.fill("メモ", "家族との面談日を調整中")
    supervisor.press("メモを残す")
    assert "1件のケースにメモを残しました（1件中）" in supervisor.flash()
    assert "家族との面談日を調整中" not in supervisor.flash()  # the note goes on the case
    with page.expect_navigation():
        rows.filter(has_text=held).first.get_by_role("link").first.click()
    assert "家族との面談日を調整中" in supervisor.text()
    # The case page says who holds it and why.
    assert "さんがこのケースの処理を一時停止しています" in supervisor.text()
    assert "家族と方針を話し合うまで止める" in supervisor.text()
    supervisor.shot("case-held")
    supervisor.follow("停滞しているケース")
    # Enter in a field presses no button (the form's first one is the held row's 再開する).
    page.get_by_label("変える理由").fill("Enter を押しただけ")
    page.get_by_label("変える理由").press("Enter")
    page.wait_for_timeout(500)
    assert rows.filter(has_text="一時停止している").count() == 1
    assert page.get_by_label("変える理由").input_value() == "Enter を押しただけ"

    # The window's worker opens the held case's step: the page says it cannot be finished now.
    window.log_in()
    window.go("/inbox")
    with window.page.expect_navigation():
        window.page.locator("table.inbox tbody tr", has_text=held).get_by_role("link").first.click()
    assert "係長・課長が一時停止しています" in window.text()
    window.shot("task-held")

    rows.filter(has_text=handed).first.get_by_role("checkbox").check()
    supervisor.pick("回す先", "介護担当 課長")
    supervisor.fill("回す理由", "課長の判断が要る")
    supervisor.press("回す")
    assert "1件をほかの係長・課長に回しました（1件中）" in supervisor.flash()

    with page.expect_navigation():
        rows.filter(has_text=held).get_by_role("button", name="の処理を再開する").first.click()
    assert "ケースの処理を再開しました" in supervisor.flash()
    assert rows.filter(has_text="一時停止している").count() == 0

    colleague = Person(new_page(), live_server, "sv-second")
    colleague.follow("停滞しているケース")
    mine = colleague.page.locator("table.stalled tbody tr").filter(
        has_text="ほかの係長・課長から回された"
    )
    assert handed in mine.inner_text() and "課長の判断が要る" in mine.inner_text()
    colleague.shot("supervision-escalated")
    with colleague.page.expect_navigation():
        mine.get_by_role("button", name="を対応済みにする").click()
    assert "対応済みにしました" in colleague.flash()
    assert (
        colleague.page.locator("table.stalled tbody tr")
        .filter(has_text="ほかの係長・課長から回された")
        .count()
        == 0
    )
