"""Turns form submissions into the domain records (the system of record) in the same transaction.

Each completed form is also kept unchanged as a FormSubmission; these records are what
reports, the case page and the access rules read. One function per form element.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.models import Case, User
from app.services.records import participation, people, plans
from app.services.records.people import (
    WORDS,
    Data,
    agency_by_code,
    record_consent_obtained,
    record_intake,
)
from app.services.records.plans import latest_plan

__all__ = [
    "agency_by_code",
    "latest_plan",
    "record_consent_obtained",
    "record_intake",
    "record_message",
    "record_submission",
]

RECORDERS: dict[str, Callable[[Case, Data, User], None]] = {
    "first_assessment": people.first_assessment,
    "referral_review": people.referral_review,
    "outreach_visit": people.outreach_visit,
    "support_council": plans.support_council,
    "support_plan": plans.support_plan,
    "plan_conference": plans.plan_conference,
    "support_decision": plans.support_decision,
    "evaluation": plans.evaluation,
    "participation_matching": participation.matching,
    "participation_placement": participation.placement,
    "participation_retention": participation.retention,
}


def record_submission(
    case: Case, element_id: str, data: Data, actor: User, words: dict[str, str] | None = None
) -> None:
    """Write the domain records a completed form implies (nothing for forms that only advance the
    flow). ``words`` are the chosen options in words, kept where a record is shown as it was
    (支援会議 material)."""
    recorder = RECORDERS.get(element_id)
    if recorder is not None:
        recorder(case, {**data, WORDS: words or {}}, actor)


def record_message(case: Case, message_name: str, payload: Any, actor: User | None) -> None:
    """What a message from outside says about the case (consent obtained is recorded as consent)."""
    if message_name == "consent_obtained":
        if isinstance(payload, dict) and payload.get("recorded"):
            return  # recorded on the case page just before the message was sent
        scope = payload.get("scope") if isinstance(payload, dict) else None
        record_consent_obtained(case, scope, "message", actor)
