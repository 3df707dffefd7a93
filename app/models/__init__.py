"""SQLAlchemy models, one module per aggregate; importing this package registers them all."""

from app.models.audit import AuditEvent
from app.models.cases import Case
from app.models.consent import Consent
from app.models.design import ProcessDraft
from app.models.meetings import ActionItem, Meeting, MeetingAttendee, MeetingCase
from app.models.people import Household, HouseholdMember, Involvement, Person
from app.models.plans import Evaluation, PlanGoal, SupportPlan
from app.models.referrals import Referral, ReferralEvent
from app.models.resources import Placement, Resource, ResourceGap
from app.models.settings import Setting
from app.models.supervision import (
    CaseKey,
    Escalation,
    FlowTally,
    FlowTallyMark,
    FlowTallyMonth,
    KeySet,
    KeySetMember,
    ReadModelPending,
    StallEntry,
    StepLimit,
    SupervisorScope,
    WaitEntry,
)
from app.models.users import Agency, ApiToken, Group, Membership, User, UserSession
from app.models.webhooks import WebhookDelivery, WebhookSubscription
from app.models.workflow import (
    FormSubmission,
    MessageSubscription,
    PathStep,
    ProcessDefinition,
    ProcessInstance,
    WaitingEvent,
    WorkItem,
)

__all__ = [
    "ActionItem",
    "Consent",
    "Evaluation",
    "Household",
    "HouseholdMember",
    "Involvement",
    "Meeting",
    "MeetingAttendee",
    "MeetingCase",
    "Person",
    "Placement",
    "Escalation",
    "StallEntry",
    "WaitEntry",
    "CaseKey",
    "FlowTally",
    "FlowTallyMonth",
    "KeySet",
    "KeySetMember",
    "ReadModelPending",
    "FlowTallyMark",
    "StepLimit",
    "SupervisorScope",
    "ProcessDraft",
    "PlanGoal",
    "Referral",
    "ReferralEvent",
    "Resource",
    "ResourceGap",
    "SupportPlan",
    "Agency",
    "ApiToken",
    "AuditEvent",
    "Case",
    "FormSubmission",
    "Group",
    "Membership",
    "MessageSubscription",
    "ProcessDefinition",
    "ProcessInstance",
    "Setting",
    "User",
    "UserSession",
    "PathStep",
    "WaitingEvent",
    "WorkItem",
    "WebhookDelivery",
    "WebhookSubscription",
]
