"""Outbound events reach a real HTTP receiver on loopback: signed so the receiver can verify them
with the secret, retried on the backoff table until delivered once, in order per case, dead after
the table ends (and sent again when the administrator asks), never carrying personal data."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from app.extensions import db
from app.models import AuditEvent, WebhookDelivery, WebhookSubscription
from app.models.webhooks import EVENT_KINDS
from app.services import audit, cases, webhooks
from app.services.webhooks import subscriptions
from tests.harness import Flow, accept_and_plan, approve, first_assessment

SECRET_NAME = "鈴木 花子"
SECRET_KANA = "すずき はなこ"
BIRTH_DATE = "1951-03-14"
TITLE = "【テスト】鈴木さん世帯の介護と家計"
PURPOSE = "夫の借金と花子さんの通院について相談"


@dataclass
class Receiver:
    """An HTTP endpoint on loopback that keeps every POST and answers with the next scripted status."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    always: int = 200

    def kinds(self) -> list[str]:
        return [post["headers"]["X-Kasane-Event"] for post in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            box.received.append({"headers": dict(self.headers), "body": body})
            status = box.answers.pop(0) if box.answers else box.always
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    box.url = f"http://127.0.0.1:{server.server_port}/kasane/events"
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def subscription(flow: Flow, receiver: Receiver) -> WebhookSubscription:
    new = subscriptions.NewSubscription("庁内連携基盤", receiver.url, list(EVENT_KINDS))
    return subscriptions.create(flow.user("demo-admin"), new)


def verified(post: dict[str, Any], secret: str) -> dict[str, Any]:
    """What a receiver does: check the signature over "timestamp.body", then read the body."""
    headers, body = post["headers"], post["body"]
    signed = headers["X-Kasane-Timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Kasane-Signature"], expected)
    return json.loads(body)


def deliveries() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_an_opened_case_reaches_the_receiver_signed(
    flow: Flow, receiver: Receiver, subscription: WebhookSubscription
) -> None:
    case = flow.open_case()
    [pending] = deliveries()
    assert (pending.status, pending.event_kind, pending.sequence) == ("pending", "case.opened", 1)
    assert receiver.received == []  # sent by the worker, not inside the person's request

    assert webhooks.deliver_due() == 1

    [post] = receiver.received
    body = verified(post, subscription.secret)
    assert post["headers"]["X-Kasane-Event"] == "case.opened"
    assert post["headers"]["X-Kasane-Delivery"] == body["id"] == pending.uuid
    assert post["headers"]["X-Kasane-Timestamp"] == str(int(datetime.now(UTC).timestamp()))
    assert body["kind"] == "case.opened" and body["sequence"] == 1
    assert body["case"]["number"] == case.number and body["case"]["id"] == case.id
    assert body["case"]["stage"] == "intake" and body["case"]["status"] == "open"
    assert body["case"]["intake_agency"]["code"] == "elderly-center"
    [done] = deliveries()
    assert (done.status, done.attempts, done.last_status_code) == ("delivered", 1, 200)
    assert webhooks.deliver_due() == 0 and len(receiver.received) == 1


def test_a_failing_receiver_gets_the_event_again_on_the_backoff_table_until_it_takes_it(
    flow: Flow, receiver: Receiver, subscription: WebhookSubscription
) -> None:
    receiver.answers = [500, 502, 503]
    flow.open_case()
    for wait in (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30)):
        tried_at = datetime.now(UTC)
        assert webhooks.deliver_due() == 0
        [row] = deliveries()
        assert row.status == "failed" and row.last_error.startswith("HTTP 50")
        assert row.next_attempt_at - tried_at == wait
        flow.clock.shift(wait - timedelta(seconds=1))
        assert webhooks.deliver_due() == 0  # not yet: one second before its time
        flow.clock.shift(timedelta(seconds=1))

    assert webhooks.deliver_due() == 1

    [row] = deliveries()
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 4, 200)
    assert row.last_error is None and row.delivered_at is not None
    assert len({post["headers"]["X-Kasane-Delivery"] for post in receiver.received}) == 1
    flow.clock.shift(timedelta(days=2))
    assert webhooks.deliver_due() == 0 and len(receiver.received) == 4  # delivered once


def test_a_case_later_events_wait_for_its_earlier_ones_and_other_cases_do_not(
    flow: Flow, receiver: Receiver, subscription: WebhookSubscription
) -> None:
    receiver.answers = [500]  # refuses the first case's opening once
    first = flow.open_case(consent=True)
    flow.complete(
        "first_assessment",
        "demo-elderly",
        first_assessment("referral", referral_to="poverty-center", referral_purpose="家計の相談"),
    )
    flow.complete("referral_review", "demo-poverty", {"referral_accepted": "accepted"})
    assert webhooks.deliver_due() == 0
    assert receiver.kinds() == ["case.opened"]  # the referral waits behind the failed opening

    second = flow.open_case(title="【テスト】別の世帯")
    assert webhooks.deliver_due() == 1  # another case is not held up by the first
    assert [verified(p, subscription.secret)["case"]["id"] for p in receiver.received] == [
        first.id,
        second.id,
    ]

    flow.clock.shift(webhooks.BACKOFF[0])
    assert webhooks.deliver_due() == 3
    bodies = [verified(p, subscription.secret) for p in receiver.received[2:]]
    assert [(b["kind"], b["sequence"]) for b in bodies] == [
        ("case.opened", 1),
        ("referral.sent", 2),
        ("referral.accepted", 3),
    ]
    assert all(b["case"]["id"] == first.id for b in bodies)
    sent, accepted = bodies[1], bodies[2]
    assert sent["case"]["stage"] == "referral"  # the case as the step left it
    assert sent["referral"]["to_agency"]["code"] == "poverty-center"
    assert accepted["referral"]["status"] == "accepted"
    assert accepted["case"]["primary_agency"]["code"] == "poverty-center"


def test_after_the_table_ends_the_delivery_is_dead_until_the_administrator_sends_it_again(
    flow: Flow, receiver: Receiver, subscription: WebhookSubscription
) -> None:
    receiver.always = 500
    flow.open_case()
    for wait in webhooks.BACKOFF:
        assert webhooks.deliver_due() == 0
        flow.clock.shift(wait)
    assert webhooks.deliver_due() == 0
    [row] = deliveries()
    assert (row.status, row.attempts, row.next_attempt_at) == ("dead", 6, None)
    flow.clock.shift(timedelta(days=3))
    assert webhooks.deliver_due() == 0 and len(receiver.received) == 6

    receiver.always = 204
    admin = flow.user("demo-admin")
    subscriptions.resend(admin, subscription.id, row.id)
    assert webhooks.deliver_due() == 1
    [row] = deliveries()
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 204)
    assert len({p["headers"]["X-Kasane-Delivery"] for p in receiver.received}) == 1
    [resent] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "webhook.resend"))
    assert (resent.actor_name, resent.object_id) == ("demo-admin", str(row.id))


def test_every_kind_of_event_is_a_pointer_without_personal_data(
    flow: Flow, receiver: Receiver, subscription: WebhookSubscription
) -> None:
    intake = {
        "received_on": flow.today(),
        "concerns": ["care", "debt"],
        "person": {"name": SECRET_NAME, "kana": SECRET_KANA, "birth_date": BIRTH_DATE},
        "consent_given": True,
        "consent_date": flow.today(),
        "consent_scope": {"purpose": "支援のため"},
    }
    flow.case = cases.open_case(flow.user("demo-elderly"), TITLE, intake)
    flow.complete(
        "first_assessment",
        "demo-elderly",
        first_assessment("referral", referral_to="poverty-center", referral_purpose=PURPOSE),
    )
    flow.complete("referral_review", "demo-poverty", {"referral_accepted": "accepted"})
    flow.open_case(title=TITLE)
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    accept_and_plan(flow)
    approve(flow)
    flow.open_case(title=TITLE)
    flow.complete("first_assessment", "demo-elderly", first_assessment("window"))
    outcome = {"support_content": "介護保険の申請支援", "window_outcome": "close"}
    flow.complete("window_support", "demo-elderly", {**outcome, "closure_reason": "解決した"})

    assert webhooks.deliver_due() == 7  # 3 + 2 + 2 events of three cases
    bodies = [verified(p, subscription.secret) for p in receiver.received]
    assert {b["kind"] for b in bodies} == set(EVENT_KINDS)
    closed = next(b for b in bodies if b["kind"] == "case.closed")
    assert closed["case"]["status"] == "closed" and closed["case"]["stage"] == "closed"
    approved = next(b for b in bodies if b["kind"] == "plan.approved")
    assert approved["plan"]["version"] == 1 and approved["plan"]["approved_on"] == flow.today()
    everything = b"".join(p["body"] for p in receiver.received).decode()
    for secret in (SECRET_NAME, SECRET_KANA, BIRTH_DATE, TITLE, PURPOSE, "介護保険", "解決した"):
        assert secret not in everything
    assert all(set(b) <= {"id", "kind", "occurred_at", "sequence", "case", "referral", "plan"}
               for b in bodies)  # fmt: skip


def test_only_active_subscriptions_for_the_kind_get_deliveries_and_a_rollback_sends_nothing(
    flow: Flow, receiver: Receiver, subscription: WebhookSubscription
) -> None:
    admin = flow.user("demo-admin")
    closures = subscriptions.create(
        admin, subscriptions.NewSubscription("終結のみ", receiver.url, ["case.closed"])
    )
    subscriptions.set_active(admin, subscription.id, False)
    flow.open_case()
    assert deliveries() == []  # the opening is not a closure, and the other one is stopped

    subscriptions.set_active(admin, subscription.id, True)
    audit.record("case.create", "case", flow.case.id, None, case_id=flow.case.id)
    db.session.rollback()
    assert deliveries() == []
    assert closures.active and [e.action for e in _admin_audit()] == [
        "webhook.create",
        "webhook.create",
        "webhook.deactivate",
        "webhook.activate",
    ]


def _admin_audit() -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("webhook.%")).order_by(AuditEvent.id)
        )
    )


def test_a_test_send_is_signed_logged_not_retried_and_not_redirected(
    flow: Flow, receiver: Receiver, subscription: WebhookSubscription
) -> None:
    admin = flow.user("demo-admin")
    ok = subscriptions.send_test(admin, subscription.id)
    assert (ok.status, ok.event_kind, ok.last_status_code) == ("delivered", "ping", 200)
    assert verified(receiver.received[0], subscription.secret)["kind"] == "ping"
    receiver.answers = [404]
    refused = subscriptions.send_test(admin, subscription.id)
    assert (refused.status, refused.last_error, refused.next_attempt_at) == (
        "dead",
        "HTTP 404",
        None,
    )
    receiver.answers = [307]
    moved = subscriptions.send_test(admin, subscription.id)
    assert (moved.status, moved.last_error) == ("dead", "HTTP 307")
    assert len(receiver.received) == 3  # the signed body is not sent on to another address
    log = subscriptions.log(admin, subscription.id)
    assert [d.id for d in log] == [moved.id, refused.id, ok.id]


def test_the_worker_survives_an_unreachable_receiver(
    ctx: Flask, flow: Flow, subscription: WebhookSubscription
) -> None:
    subscription.url = "http://127.0.0.1:9/nothing-listens-here"
    db.session.commit()
    flow.open_case()

    result = ctx.test_cli_runner().invoke(args=["kasane", "worker", "--once"])

    assert result.exit_code == 0, result.output
    [row] = deliveries()
    assert row.status == "failed" and row.attempts == 1 and row.last_status_code is None
    assert row.last_error.startswith("ConnectionRefusedError")


def test_two_workers_never_send_one_delivery_at_once(
    ctx: Flask, flow: Flow, receiver: Receiver, subscription: WebhookSubscription
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer; the row lock is PostgreSQL's")
    flow.open_case()
    [row] = deliveries()
    db.session.commit()
    with db.engine.connect() as other:  # another worker, in the middle of sending it
        other.execute(text(f"SELECT id FROM webhook_delivery WHERE id = {row.id} FOR UPDATE"))
        assert webhooks.deliver_due() == 0
        assert receiver.received == []
        other.rollback()
    assert webhooks.deliver_due() == 1 and len(receiver.received) == 1
