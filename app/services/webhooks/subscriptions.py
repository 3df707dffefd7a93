"""The administrator's side of outbound events: subscriptions (with their signing secret), the
delivery log, sending a dead delivery again, and a test send. Every change is audited."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.models.base import utcnow
from app.models.webhooks import EVENT_KINDS, WebhookDelivery, WebhookSubscription
from app.services import admin, audit, forms
from app.services.errors import InvalidInput, NotFound
from app.services.webhooks.delivery import record_answer, send

LOG_SIZE = 100
KIND_LABELS = {
    "case.opened": _l("ケースの受付"),
    "referral.sent": _l("つなぎの送付"),
    "referral.accepted": _l("つなぎの受理"),
    "plan.approved": _l("支援プランの承認"),
    "case.closed": _l("ケースの終結"),
    "ping": _l("テスト送信"),
}
STATUS_LABELS = {
    "pending": _l("送信待ち"),
    "delivered": _l("配信済み"),
    "failed": _l("再試行待ち"),
    "dead": _l("送信を断念"),
}


@dataclass
class NewSubscription:
    """What the administrator typed to add a subscription."""

    name: str = ""
    url: str = ""
    event_kinds: list[str] | None = None


def url_problem(url: str) -> str | None:
    """Why a URL cannot receive deliveries (Japanese, with what to do), or None."""
    if not url:
        return _("送信先のURLを入力してください。")
    if len(url) > 500 or any(c.isspace() or ord(c) < 32 for c in url):
        return _("URLは空白や制御文字を含まない500文字以内で入力してください。")
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return _("URLの形式が正しくありません（例：https://example.jp/kasane/events）。")
    if parts.scheme not in ("http", "https"):
        return _("URLは http:// か https:// で始めてください。")
    if not parts.hostname or not port_ok:
        return _("URLの形式が正しくありません（例：https://example.jp/kasane/events）。")
    if parts.username or parts.password:
        return _("URLに利用者名やパスワードを含めないでください（署名で送信元を確かめます）。")
    return None


def create(actor: User, new: NewSubscription) -> WebhookSubscription:
    """Add a subscription with a freshly generated secret; audited."""
    admin.require_admin(actor, "webhook.create", "webhook_subscription")
    name, url = (new.name or "").strip(), (new.url or "").strip()
    kinds = list(dict.fromkeys(new.event_kinds or []))
    errors: dict[str, str] = {}
    if not name or len(name) > 100 or forms.unusable_text(name):
        errors["name"] = _("名前を100文字以内で入力してください（制御文字は使えません）。")
    problem = url_problem(url)
    if problem:
        errors["url"] = problem
    if not kinds or any(kind not in EVENT_KINDS for kind in kinds):
        errors["event_kinds"] = _("送信するできごとを1つ以上選んでください。")
    if errors:
        raise InvalidInput(_("入力に誤りがあります。各項目を確かめてください。"), fields=errors)
    row = WebhookSubscription(
        name=name,
        url=url,
        secret=secrets.token_hex(32),
        event_kinds=kinds,
        active=True,
        created_by_id=actor.id,
        created_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    detail = {"name": name, "url": url, "event_kinds": kinds}
    audit.record("webhook.create", "webhook_subscription", row.id, actor, detail=detail)
    db.session.commit()
    return row


def subscriptions(actor: User) -> list[WebhookSubscription]:
    admin.require_admin(actor, "webhook.list", "webhook_subscription")
    return list(db.session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def get(actor: User, subscription_id: int) -> WebhookSubscription:
    admin.require_admin(actor, "webhook.view", "webhook_subscription", subscription_id)
    row = db.session.get(WebhookSubscription, subscription_id)
    if row is None:
        raise NotFound(_("指定された送信先は見つかりません。"))
    return row


def reveal_secret(actor: User, subscription_id: int) -> str:
    """The signing secret, for the administrator to set on the receiver; each showing audited."""
    row = get(actor, subscription_id)
    audit.record("webhook.secret_view", "webhook_subscription", row.id, actor)
    db.session.commit()
    return row.secret


def set_active(actor: User, subscription_id: int, active: bool) -> bool:
    """Stop (or resume) sending to a subscription; whether anything changed. Events of a stopped
    subscription are not recorded; those already waiting are sent if it is resumed."""
    row = get(actor, subscription_id)
    if row.active == active:
        return False
    row.active = active
    action = "webhook.activate" if active else "webhook.deactivate"
    audit.record(action, "webhook_subscription", row.id, actor)
    db.session.commit()
    return True


def log(actor: User, subscription_id: int) -> list[WebhookDelivery]:
    """The latest deliveries of a subscription, newest first."""
    row = get(actor, subscription_id)
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == row.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(LOG_SIZE)
        )
    )


def resend(actor: User, subscription_id: int, delivery_id: int) -> WebhookDelivery:
    """Send a dead delivery again from the start of the backoff table (by the worker); audited."""
    row = get(actor, subscription_id)
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.subscription_id != row.id:
        raise NotFound(_("指定された送信記録は見つかりません。"))
    if delivery.status != "dead":
        raise InvalidInput(_("再送できるのは送信を断念した記録だけです。"))
    delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, utcnow()
    audit.record("webhook.resend", "webhook_delivery", delivery.id, actor, case_id=delivery.case_id)
    db.session.commit()
    return delivery


def send_test(actor: User, subscription_id: int) -> WebhookDelivery:
    """Send a signed "ping" now and log how it went (not retried); audited."""
    row = get(actor, subscription_id)
    now = utcnow()
    delivery_id = str(uuid.uuid4())
    payload = {"id": delivery_id, "kind": "ping", "occurred_at": now.isoformat()}
    code, error = send(row, "ping", delivery_id, payload, now)
    delivery = WebhookDelivery(
        uuid=delivery_id, subscription_id=row.id, event_kind="ping", payload=payload, created_at=now
    )
    record_answer(delivery, code, error, now, retry=False)
    db.session.add(delivery)
    db.session.flush()
    detail = {"delivery": delivery.id, "status": delivery.status, "code": code}
    audit.record("webhook.test", "webhook_subscription", row.id, actor, detail=detail)
    db.session.commit()
    return delivery
