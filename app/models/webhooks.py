"""Outbound events for integration: who receives them (subscriptions) and every delivery of one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import JSONDoc, UTCDateTime, one_of, utcnow
from app.models.users import User

# What happened to a case, as a receiving system is told; "ping" is the administrator's test send.
EVENT_KINDS = ("case.opened", "referral.sent", "referral.accepted", "plan.approved", "case.closed")
DELIVERY_KINDS = (*EVENT_KINDS, "ping")
# pending: not tried yet; failed: tried, tried again at next_attempt_at; dead: no more tries.
DELIVERY_STATUSES = ("pending", "delivered", "failed", "dead")


class WebhookSubscription(db.Model):
    """A receiving system's URL, the secret its deliveries are signed with, and the kinds it wants."""

    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(500))
    # Kept as typed: every delivery is signed with it (HMAC), so it cannot be stored as a hash.
    secret: Mapped[str] = mapped_column(String(100))
    event_kinds: Mapped[list] = mapped_column(JSONDoc, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User | None] = relationship()


class WebhookDelivery(db.Model):
    """One event to one subscription: its signed body's content, and how sending it went.

    ``sequence`` numbers a case's events per subscription (1, 2, 3 …), the order they are sent in;
    ``uuid`` stays the same over retries, so a receiver can tell a repeat from a new event."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        one_of("status", DELIVERY_STATUSES),
        one_of("event_kind", DELIVERY_KINDS),
        UniqueConstraint("subscription_id", "case_id", "sequence"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_log", "subscription_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscription.id"))
    event_kind: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("support_case.id"))
    sequence: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict] = mapped_column(JSONDoc, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    subscription: Mapped[WebhookSubscription] = relationship()
