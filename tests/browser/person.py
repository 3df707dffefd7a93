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
        page.goto(f"{base}/login")
        page.get_by_label("ユーザー名").fill(username)
        page.get_by_label("パスワード").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        page.wait_for_url(f"{base}/")

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

    # Filling in ----------------------------------------------------------------------------
    def fill(self, label: str, value: str) -> None:
        self.page.get_by_label(label, exact=False).first.fill(value)

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

    def value(self, label: str) -> str:
        return self.page.get_by_label(label, exact=False).first.input_value()

    def shot(self, name: str) -> None:
        folder = os.environ.get("KASANE_SCREENSHOTS_DIR")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


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


def fill_plan(coordinator: Person, goal: str, participation: bool = False) -> None:
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
    coordinator.choose("アウトリーチを依頼する", "いいえ")
    coordinator.choose("本人がプランに同意している", "はい")
