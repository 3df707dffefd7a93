"""The pages a newcomer sees first, rendered in Chromium; `make screenshots` keeps the PNGs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.conftest import log_in


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("KASANE_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_key_pages_render_and_are_captured(live_server: str, new_page, shots: Path) -> None:
    base = live_server
    page = new_page()
    page.goto(f"{base}/login")
    assert page.get_by_role("button", name="ログイン").is_visible()
    page.screenshot(path=str(shots / "01-login.png"), full_page=True)
    log_in(page, base, "demo-elderly")
    page.goto(f"{base}/cases/new")
    page.fill('[name="title"]', "【デモ】母の介護と息子の仕事の相談")
    page.fill('[name="received_on"]', "2026-04-06")
    page.locator('input[name="concerns"][value="care"]').check()
    page.get_by_role("button", name="受け付けて初期アセスメントへ").click()
    page.get_by_role("link", name="初期アセスメント（世帯全体）と対応の判断").click()
    page.get_by_role("button", name="完了する").click()
    assert page.locator(".field-error").count() >= 1
    page.screenshot(path=str(shots / "03-task-form-with-errors.png"), full_page=True)
    page.goto(f"{base}/inbox")
    assert page.locator("table.inbox tbody tr").count() >= 1
    inbox = page.locator("main").inner_text()
    # Queues and agencies are shown by name, never by their internal keys.
    assert "【デモ】中央地域包括支援センター" in inbox and "agency:" not in inbox
    page.screenshot(path=str(shots / "02-inbox.png"), full_page=True)
    page.locator("table.inbox a[href*='/cases/']").first.click()
    page.wait_for_selector(".kasane-diagram .djs-element.active")
    case_text = page.locator("main").inner_text()
    assert "支援中" in case_text and "初期アセスメント（世帯全体）と対応の判断" in case_text
    page.screenshot(path=str(shots / "04-case-page.png"), full_page=True)
    for name in (
        "01-login.png",
        "02-inbox.png",
        "03-task-form-with-errors.png",
        "04-case-page.png",
    ):
        assert (shots / name).stat().st_size > 10_000
