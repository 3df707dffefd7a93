"""Usable with the keyboard alone, and readable on a tablet (no sideways scrolling)."""

from __future__ import annotations

from tests.browser.conftest import log_in


def date_keys(page, year: str, month: str, day: str) -> str:
    """The digits to type into a date field: its part order follows the browser's own locale."""
    page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', '<input type=date id=probe-date>')"
    )
    page.focus("#probe-date")
    page.keyboard.type("04062026")
    us_order = page.eval_on_selector("#probe-date", "e => e.value") == "2026-04-06"
    page.evaluate("document.getElementById('probe-date').remove()")
    return f"{month}{day}{year}" if us_order else f"{year}{month}{day}"


def test_an_intake_can_be_recorded_with_the_keyboard_alone(live_server: str, new_page) -> None:
    page = new_page()
    page.goto(f"{live_server}/login")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent.trim()") == "本文へ移動"
    page.get_by_label("ユーザー名").focus()
    page.keyboard.type("demo-elderly")
    page.keyboard.press("Tab")
    from app.services.demo import DEMO_PASSWORD

    page.keyboard.type(DEMO_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.goto(f"{live_server}/cases/new")
    page.get_by_label("件名").focus()
    page.keyboard.type("【テスト】キーボードだけで受付")
    keys = date_keys(page, "2026", "04", "06")
    page.locator('[name="received_on"]').focus()
    page.keyboard.type(keys)
    box = page.locator('input[name="concerns"][value="income"]')
    box.focus()
    page.keyboard.press("Space")
    assert box.is_checked()
    page.get_by_role("button", name="受け付けて初期アセスメントへ").focus()
    with page.expect_navigation(url="**/cases/*"):
        page.keyboard.press("Enter")
    link = page.get_by_role("link", name="初期アセスメント（世帯全体）と対応の判断")
    link.focus()
    with page.expect_navigation(url="**/tasks/*"):
        page.keyboard.press("Enter")
    radio = page.locator('input[name="decision"][value="window"]')
    radio.focus()
    page.keyboard.press("Space")
    assert radio.is_checked()
    outline = page.evaluate(
        "getComputedStyle(document.activeElement).outlineStyle + ' ' + getComputedStyle(document.activeElement).outlineWidth"
    )
    assert not outline.startswith("none"), outline  # focus stays visible
    page.get_by_role("button", name="完了する").focus()
    with page.expect_navigation(url="**/inbox"):
        page.keyboard.press("Enter")
    assert "完了しました" in page.locator(".messages").inner_text()


def test_pages_fit_a_tablet_screen(live_server: str, browser) -> None:
    context = browser.new_context(
        locale="ja-JP", viewport={"width": 768, "height": 1024}, has_touch=True
    )
    try:
        page = context.new_page()
        log_in(page, live_server, "demo-elderly")
        page.goto(f"{live_server}/cases/new")
        page.fill('[name="title"]', "【テスト】タブレット")
        page.fill('[name="received_on"]', "2026-04-06")
        page.locator('input[name="concerns"][value="care"]').check()
        with page.expect_navigation(url="**/cases/*"):
            page.get_by_role("button", name="受け付けて初期アセスメントへ").click()
        case_url = page.url
        task_href = page.get_by_role(
            "link", name="初期アセスメント（世帯全体）と対応の判断"
        ).get_attribute("href")
        for url in (
            f"{live_server}/inbox",
            case_url,
            f"{live_server}{task_href}",
            f"{live_server}/cases/new",
        ):
            page.goto(url)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, (url, overflow)
    finally:
        context.close()
