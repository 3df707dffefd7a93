"""Turns form submissions into the domain records (the system of record) in the same transaction.

Each completed form is also kept unchanged as a FormSubmission; these records are what
reports, the case page and the access rules read. One function per form element.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
    "referral_target",
]


@dataclass(frozen=True)
class Recorder:
    """A kind of domain record a task writes when its form is completed. A user task names one
    with the BPMN property ``recordAs``; deploy checks that the task's form is the one the
    recorder reads and that a step which shares the case beyond its window declares
    ``sharesInformation`` with the recorder's purpose (so the consent check is made)."""

    write: Callable[[Case, Data, User], None]
    form: str
    shares: str | None = None


RECORDERS: dict[str, Recorder] = {
    "first_assessment": Recorder(
        people.first_assessment, "first_assessment.schema.json", "referral"
    ),
    "referral_review": Recorder(people.referral_review, "referral_review.schema.json"),
    "outreach_visit": Recorder(people.outreach_visit, "outreach_visit.schema.json"),
    "support_council": Recorder(plans.support_council, "support_council.schema.json"),
    "support_plan": Recorder(plans.support_plan, "support_plan.schema.json", "coordination"),
    "plan_conference": Recorder(plans.plan_conference, "plan_conference.schema.json", "conference"),
    "support_decision": Recorder(plans.support_decision, "support_decision.schema.json"),
    "evaluation": Recorder(plans.evaluation, "evaluation.schema.json"),
    "participation_matching": Recorder(
        participation.matching, "participation_matching.schema.json"
    ),
    "participation_placement": Recorder(
        participation.placement, "participation_placement.schema.json"
    ),
    "participation_retention": Recorder(
        participation.retention, "participation_retention.schema.json"
    ),
}


def referral_target(data: Data) -> str | None:
    """The window a completed form refers the case to, if it refers it (the agency's code)."""
    return people.referral_target(data)


def record_submission(
    case: Case, record_as: str | None, data: Data, actor: User, words: dict[str, str] | None = None
) -> None:
    """Write the domain records a completed form implies, by the task's ``recordAs`` (nothing for
    tasks that only advance the flow). ``words`` are the chosen options in words, kept where a
    record is shown as it was (支援会議 material)."""
    recorder = RECORDERS.get(record_as or "")
    if recorder is not None:
        recorder.write(case, {**data, WORDS: words or {}}, actor)


def record_message(case: Case, message_name: str, payload: Any, actor: User | None) -> None:
    """What a message from outside says about the case (consent obtained is recorded as consent)."""
    if message_name == "consent_obtained":
        if isinstance(payload, dict) and payload.get("recorded"):
            return  # recorded on the case page just before the message was sent
        scope = payload.get("scope") if isinstance(payload, dict) else None
        record_consent_obtained(case, scope, "message", actor)
