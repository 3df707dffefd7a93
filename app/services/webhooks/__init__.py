"""Outbound events for integration: a case opened, a referral sent or accepted, a plan approved, a
case closed, signed and sent to the municipality's subscribed systems, at least once and in order
per case.

- ``emit``: events are noted where the change happens and become deliveries as it commits;
- ``delivery``: the timer worker's ``deliver_due`` sends what is due, retrying on a backoff table;
- ``subscriptions``: the administrator's subscriptions, delivery log, resend and test send.
"""

from app.services.webhooks.delivery import BACKOFF, deliver_due, send, signed_headers, worker_round
from app.services.webhooks.emit import case_closing, on_audit

__all__ = [
    "BACKOFF",
    "case_closing",
    "deliver_due",
    "on_audit",
    "send",
    "signed_headers",
    "worker_round",
]
