"""SQLAlchemy models, one module per aggregate; importing this package registers them all."""

from app.models.audit import AuditEvent
from app.models.cases import Case
from app.models.settings import Setting
from app.models.users import Agency, ApiToken, Group, Membership, User
from app.models.workflow import (
    FormSubmission,
    MessageSubscription,
    ProcessDefinition,
    ProcessInstance,
    WorkItem,
)

__all__ = [
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
    "WorkItem",
]
