"""A case with a very long title (no spaces to break at) keeps the inbox and the case list within
the page: the columns stay readable and nothing scrolls sideways."""

from __future__ import annotations

from app.services import clock
from tests.browser.person import Person


def test_long_titles_wrap_inside_the_inbox_and_the_case_list(live_server: str, new_page) -> None:
    window = Person(new_page(), live_server, "demo-elderly")
    window.follow("相談を受け付ける")
    window.fill("件名", "【テスト】" + "YamadaHouseholdConsultation" * 7)
    window.fill("受付日", clock.today().isoformat())
    window.tick("介護", group="相談内容（分類）")
    window.press("受け付けて初期アセスメントへ")
    for path in ("/inbox", "/cases"):
        window.go(path)
        table = window.page.locator("table").first
        wrap = window.page.locator(".table-wrap").first
        assert table.bounding_box()["width"] <= wrap.bounding_box()["width"] + 1, path
        scroll = window.page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= window.page.viewport_size["width"], path
    window.shot("inbox-long-title")
