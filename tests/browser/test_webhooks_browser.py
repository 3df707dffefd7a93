"""The administrator in the browser: adds a receiving system under 管理 › 外部連携 by the form's
labels, reads the signing secret, and after a window takes a consultation and the worker's round
has run, finds the delivered event in the delivery log (the receiver verified its signature)."""

from __future__ import annotations

from app.extensions import db
from app.services import webhooks
from tests.browser.person import Person, take_consultation
from tests.services.test_webhooks import Receiver, receiver, verified  # noqa: F401  (fixture)

TITLE = "【テスト】外部連携の確認"


def worker_round() -> int:
    """What ``flask kasane worker`` does every few seconds, for the outbound events."""
    db.session.remove()
    sent = webhooks.deliver_due()
    db.session.remove()
    return sent


def test_the_administrator_subscribes_a_receiver_and_sees_the_delivered_event(
    live_server: str,
    new_page,
    receiver: Receiver,  # noqa: F811  (the fixture imported above)
) -> None:
    admin = Person(new_page(), live_server, "demo-admin")
    admin.follow("管理")
    admin.follow("外部連携（Webhook）")
    admin.fill("名前", "庁内連携基盤")
    admin.fill("送信先のURL", "ftp://renkei.example.jp/in")
    admin.press("送信先を追加する")
    assert "http:// か https:// で始めてください" in admin.error("送信先のURL")
    admin.fill("送信先のURL", receiver.url)
    admin.page.get_by_label("支援プランの承認", exact=True).uncheck()
    admin.press("送信先を追加する")
    assert "送信先「庁内連携基盤」を追加しました" in admin.flash()
    admin.press("署名の秘密鍵を表示する")
    secret = admin.page.locator("code.webhook-secret").inner_text()
    admin.press("テスト送信")
    assert "テスト送信が届きました（応答 200）" in admin.flash()

    window = Person(new_page(), live_server, "demo-elderly")
    take_consultation(window, TITLE)
    assert worker_round() == 1

    ping, opened = (verified(post, secret) for post in receiver.received)
    assert ping["kind"] == "ping" and opened["kind"] == "case.opened"
    admin.follow("外部連携の一覧に戻る")
    listed = admin.page.locator("table.webhooks tbody tr", has_text="庁内連携基盤").inner_text()
    assert "つなぎの受理" in listed and "支援プランの承認" not in listed and "有効" in listed
    admin.follow("庁内連携基盤")
    log = admin.page.locator("table.webhook-log tbody tr")
    assert log.count() == 2
    row = log.filter(has_text="ケースの受付")
    assert opened["case"]["number"] in row.inner_text()
    assert "配信済み" in row.inner_text() and "200" in row.inner_text()
    assert TITLE not in admin.text()  # a pointer to the case, not its content
    admin.shot("admin-webhooks-log")
