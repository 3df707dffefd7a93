"""The API reference page renders the OpenAPI document with the bundled Swagger UI (no CDN)."""

from __future__ import annotations

from tests.browser.person import Person


def test_the_api_reference_lists_every_operation(live_server: str, new_page) -> None:
    developer = Person(new_page(), live_server, "demo-admin")
    errors: list[str] = []
    developer.page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    developer.go("/api/docs")
    developer.page.locator(".opblock").first.wait_for()
    assert developer.page.locator(".opblock").count() == 8
    assert "/work-items/{item_id}/complete" in developer.page.locator("#main").inner_text()
    assert not [e for e in errors if "Content Security Policy" in e], errors
    developer.shot("api-reference")
