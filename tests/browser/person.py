"""A member of staff at the browser: acts only through what the page shows (labels, button text).

Journeys use this and nothing else: no API, no database. Screenshots go to
``KASANE_SCREENSHOTS_DIR`` (``make screenshots``) when it is set.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from app.services import clock
from app.services.demo import DEMO_PASSWORD


class Person:
    """One logged-in person in their own browser context."""

    def __init__(self, page: Any, base: str, username: str) -> None:
        self.page, self.base, self.username = page, base, username
        self.log_in()

    def log_in(self) -> None:
        """Log in (again: after days have passed, yesterday's login has ended)."""
        self.page.goto(f"{self.base}/login")
        self.page.get_by_label("ユーザー名").fill(self.username)
        self.page.get_by_label("パスワード").fill(DEMO_PASSWORD)
        self.page.get_by_role("button", name="ログイン").click()
        self.page.wait_for_url(f"{self.base}/")

    # Moving around -------------------------------------------------------------------------
    def go(self, path: str) -> None:
        self.page.goto(f"{self.base}{path}")

    def follow(self, link: str) -> None:
        with self.page.expect_navigation():
            self.page.get_by_role("link", name=link).first.click()

    def inbox_titles(self) -> list[str]:
        self.go("/inbox")
        return self.page.locator("table.inbox tbody th a").all_inner_texts()

    def open_task(self, title: str) -> None:
        """Find the task in this person's own inbox and open it."""
        self.go("/inbox")
        link = self.page.locator("table.inbox tbody th a", has_text=title)
        assert link.count() >= 1, f"{self.username} has no 「{title}」 in the inbox"
        with self.page.expect_navigation():
            link.first.click()

    def open_case(self, words: str) -> None:
        """Find a case in this person's case list by its title and open its page."""
        self.follow("ケース一覧")
        self.fill("ケース番号・件名・氏名・ふりがなで検索", words)
        self.press("検索")
        self.follow("K-")

    def start_now(self, name: str) -> None:
        """On the case page, bring a dated step forward (「…を今すぐ始める」) or say that awaited
        news has come (「…を今すぐ知らせる」)."""
        button = self.page.get_by_role("button", name=re.compile(f"「{re.escape(name)}」を今すぐ"))
        with self.page.expect_navigation():
            button.click()
        assert "今すぐ始めました" in self.flash(), self.text()

    # Filling in ----------------------------------------------------------------------------
    def fill(self, label: str, value: str, group: str | None = None) -> None:
        """Type into a field; ``group`` names the box it is in (a repeated row: 「目標 2」)."""
        scope = self.page.get_by_role("group", name=group, exact=True) if group else self.page
        scope.get_by_label(label, exact=False).first.fill(value)

    def add_row(self, what: str) -> None:
        """Press 「行を追加」 under a repeated part of a form (「目標と役割分担」)."""
        box = self.page.get_by_role("group", name=re.compile(re.escape(what)))
        box.get_by_role("button", name=re.compile("行を追加")).last.click()

    def pick(self, label: str, option: str) -> None:
        """Choose a name from a drop-down list."""
        self.page.get_by_label(label, exact=False).first.select_option(label=option)

    def choose(self, group: str, option: str) -> None:
        """Choose one answer of a radio group (by the group's legend and the answer's words)."""
        box = self.page.get_by_role("radiogroup", name=re.compile(re.escape(group)))
        box.get_by_label(option, exact=True).check()

    def tick(self, label: str, group: str | None = None) -> None:
        scope = (
            self.page.get_by_role("group", name=re.compile(re.escape(group)))
            if group
            else self.page
        )
        scope.get_by_label(label, exact=True).check()

    def press(self, button: str) -> None:
        """Press a button that submits a form and wait for the next page."""
        with self.page.expect_navigation():
            self.page.get_by_role("button", name=button).first.click()

    # Reading -------------------------------------------------------------------------------
    def text(self) -> str:
        return self.page.locator("main").inner_text()

    def flash(self) -> str:
        return self.page.locator(".messages").inner_text()

    def error(self, label: str) -> str:
        """The message under a field after a refused submit (empty when the field is fine)."""
        heading = self.page.locator("label, legend", has_text=label)
        field = self.page.locator(".field--error", has=heading).last
        return field.locator(".field-error").first.inner_text() if field.count() else ""

    def fact(self, label: str) -> str:
        """What the page states beside a heading such as 「状態」 or 「段階」."""
        row = self.page.locator(".facts__row", has=self.page.locator("dt", has_text=label))
        return row.first.locator("dd").inner_text()

    def value(self, label: str) -> str:
        return self.page.get_by_label(label, exact=False).first.input_value()

    def shot(self, name: str) -> None:
        folder = os.environ.get("KASANE_SCREENSHOTS_DIR")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def take_consultation(window: Person, title: str) -> None:
    """The window takes a consultation; its first assessment waits in the window's inbox."""
    window.follow("相談を受け付ける")
    window.fill("件名", title)
    window.fill("受付日", clock.today().isoformat())
    window.tick("介護", group="相談内容（分類）")
    window.press("受け付けて初期アセスメントへ")
    assert re.search(r"/cases/\d+$", window.page.url), window.text()


def intake(window: Person, title: str, consent: bool) -> None:
    """The window records a 相談受付・申込票 and the first assessment's decision to refer the
    household to 多機関協働 (with or without the person's consent)."""
    today = clock.today().isoformat()
    window.follow("相談を受け付ける")
    window.fill("件名", title)
    window.fill("受付日", today)
    window.tick("介護", group="相談内容（分類）")
    if consent:
        window.tick("情報共有への本人同意")
        window.fill("同意日", today)
    window.press("受け付けて初期アセスメントへ")
    assert re.search(r"/cases/\d+$", window.page.url), window.text()
    window.follow("初期アセスメント（世帯全体）と対応の判断")
    window.fill("主訴", "母の介護と息子の無職")
    window.choose("対応の判断", "多機関協働へつなぐ")
    window.choose(
        "多機関協働へつなぐことへの本人同意",
        "同意あり" if consent else "同意なし（支援会議で検討）",
    )
    window.press("完了する")
    assert "完了しました" in window.flash()


def accept_and_assess(coordinator: Person) -> None:
    """多機関協働 accepts the referral and records the joint assessment."""
    coordinator.open_task("多機関協働の受付")
    coordinator.choose("受付の判断", "受理する")
    coordinator.press("完了する")
    coordinator.open_task("合同アセスメント")
    coordinator.press("完了する")


def fill_plan(
    coordinator: Person, goal: str, participation: bool = False, outreach: bool = False
) -> None:
    """Fill the 支援プラン form (one goal, primary agency くらし窓口, a year long); not submitted."""
    today = clock.today()
    coordinator.open_task("支援プランの作成")
    coordinator.fill("目標", goal)
    coordinator.fill("支援の内容", f"{goal}ための支援")
    coordinator.fill("担当機関", "くらし自立相談支援窓口")
    coordinator.pick("主担当機関", "【デモ】くらし自立相談支援窓口")
    coordinator.fill("プランの開始日", today.isoformat())
    coordinator.fill("プランの終了日", today.replace(year=today.year + 1).isoformat())
    coordinator.fill("次の見直し日", today.replace(year=today.year + 1).isoformat())
    coordinator.choose("参加支援を依頼する", "はい" if participation else "いいえ")
    coordinator.choose("アウトリーチを依頼する", "はい" if outreach else "いいえ")
    coordinator.choose("本人がプランに同意している", "はい")


def confer(supervisor: Person, outcome: str, **fields: str) -> None:
    """The supervisor records the 重層的支援会議's conclusion (``fields``: label → text)."""
    supervisor.open_task("重層的支援会議（プランの検討）")
    supervisor.fill("開催日", clock.today().isoformat())
    supervisor.choose("会議の結論", outcome)
    supervisor.choose("社会資源は足りている", "はい")
    for label, text in fields.items():
        supervisor.fill(label, text)
    supervisor.press("完了する")
    assert "完了しました" in supervisor.flash(), supervisor.text()


def decide(officer: Person) -> None:
    """The municipality's 支援決定."""
    officer.open_task("支援決定")
    officer.fill("支援決定日", clock.today().isoformat())
    officer.press("完了する")
    assert "完了しました" in officer.flash(), officer.text()
