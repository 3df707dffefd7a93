"""Sending due deliveries: claimed one at a time (``SELECT … FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two workers never send one delivery at once), signed, POSTed with a short timeout,
and on failure tried again after the next wait of ``BACKOFF``; after the last it is dead. A later
event of a case waits while an earlier one of the same case and subscription is still to be sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from http.client import HTTPException
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models.base import utcnow
from app.models.webhooks import WebhookDelivery, WebhookSubscription

# The waits after the 1st … 5th failed attempt; the 6th failure makes the delivery dead.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
TIMEOUT_SECONDS = 5.0
WAITING = ("pending", "failed")  # still to be sent: a later event of the same case waits for these
log = logging.getLogger(__name__)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a new address to send the signed body to."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def deliver_due(now: datetime | None = None, limit: int = 100) -> int:
    """Send the deliveries that are due, each in its own transaction; how many were delivered.
    A case's next event becomes due within the same call once the one before it is delivered."""
    now = now or utcnow()
    tried: set[int] = set()
    delivered = 0
    while len(tried) < limit:
        due = [i for i in _due_ids(now, limit) if i not in tried]
        if not due:
            break
        for delivery_id in due[: limit - len(tried)]:
            tried.add(delivery_id)
            delivered += _deliver_one(delivery_id, now)
    return delivered


def worker_round(now: datetime | None = None) -> int:
    """``deliver_due`` for the timer worker's loop: whatever goes wrong is logged and rolled back,
    and the worker goes on firing timers (the deliveries stay due for the next round)."""
    try:
        return deliver_due(now)
    except Exception:
        db.session.rollback()
        log.exception("webhook delivery round failed")
        return 0


def _due(now: datetime) -> list[Any]:
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(
        earlier.subscription_id == WebhookDelivery.subscription_id,
        earlier.case_id == WebhookDelivery.case_id,
        earlier.sequence < WebhookDelivery.sequence,
        earlier.status.in_(WAITING),
    )
    return [
        WebhookDelivery.status.in_(WAITING),
        WebhookDelivery.next_attempt_at <= now,
        ~blocked,
    ]


def _due_ids(now: datetime, limit: int) -> list[int]:
    stmt = (
        select(WebhookDelivery.id)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookSubscription.active.is_(True), *_due(now))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def _deliver_one(delivery_id: int, now: datetime) -> bool:
    """Claim one due delivery, send it and record the answer; whether it was delivered."""
    stmt = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id, *_due(now))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=WebhookDelivery)
    row = db.session.scalars(stmt).first()
    if row is None:  # another worker has it, or it is no longer due
        db.session.rollback()
        return False
    code, error = send(row.subscription, row.event_kind, row.uuid, row.payload, now)
    record_answer(row, code, error, now, retry=True)
    db.session.commit()
    return row.status == "delivered"


def signed_headers(secret: str, kind: str, delivery_id: str, body: bytes, now: datetime) -> dict:
    """The headers of one delivery: what it is, its id, and the HMAC-SHA256 of "timestamp.body"."""
    timestamp = str(int(now.timestamp()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Kasane-Webhook/1",
        "X-Kasane-Event": kind,
        "X-Kasane-Delivery": delivery_id,
        "X-Kasane-Timestamp": timestamp,
        "X-Kasane-Signature": f"sha256={digest.hexdigest()}",
    }


def send(
    subscription: WebhookSubscription, kind: str, delivery_id: str, payload: dict, now: datetime
) -> tuple[int | None, str | None]:
    """POST one signed body; (HTTP status, None) on a 2xx, else (status or None, a short reason)."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    headers = signed_headers(subscription.secret, kind, delivery_id, body, now)
    request = urllib.request.Request(subscription.url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, None
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, HTTPException, ValueError) as exc:
        # The kind of failure only (refused, timed out, name not found): nothing the receiver said.
        reason = getattr(exc, "reason", exc)
        words = getattr(reason, "strerror", None) if isinstance(reason, OSError) else None
        return None, f"{type(reason).__name__}{': ' + words if words else ''}"[:200]


def in_words(error: str | None) -> str:
    """A failure as the administrator reads it; the stored code (for operators) stays as it is."""
    if not error:
        return ""
    if error.startswith("HTTP "):
        return _("受信側が %(code)s を返しました", code=error[5:])
    kind = error.split(":", 1)[0]
    words = {
        "ConnectionRefusedError": _l(
            "接続を拒否されました（受信側が動いていないか、ポートが違います）"
        ),
        "TimeoutError": _l("応答がありませんでした（%(seconds)s秒）"),
        "timeout": _l("応答がありませんでした（%(seconds)s秒）"),
        "gaierror": _l("送信先のホスト名が見つかりません"),
        "SSLError": _l("TLS（https）の接続に失敗しました"),
        "SSLCertVerificationError": _l("送信先の証明書を確認できませんでした"),
    }.get(kind)
    if words is None:
        return _("送信できませんでした（%(kind)s）", kind=kind)
    return str(words) % {"seconds": TIMEOUT_SECONDS} if "%(seconds)s" in str(words) else str(words)


def record_answer(
    row: WebhookDelivery, code: int | None, error: str | None, now: datetime, retry: bool
) -> None:
    row.attempts = (row.attempts or 0) + 1
    row.last_status_code, row.last_error = code, error
    if error is None:
        row.status, row.delivered_at, row.next_attempt_at = "delivered", now, None
    elif retry and row.attempts <= len(BACKOFF):
        row.status, row.next_attempt_at = "failed", now + BACKOFF[row.attempts - 1]
    else:
        row.status, row.next_attempt_at = "dead", None
