"""Keeps a case's record in step with its support flow: stage, status, and who is responsible.

The workflow holds only what its gateways read; the case row is the system of record. Each
user task names its stage (BPMN property ``stage``); some submissions change who is responsible.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app.engine.runtime import ReadyTask
from app.models import Case, ProcessInstance, User
from app.models.base import utcnow
from app.services import records, webhooks

OPEN, INTERRUPTED, CLOSED = "open", "interrupted", "closed"
ENDING_STAGES = {"closed", "returned"}

# 社会福祉法106条の4第2項の号: which activity a stage of the flow belongs to (reporting, subsidy).
ACT_OF_STAGE = {
    "intake": 1,
    "window_support": 1,
    "referral": 1,
    "support_council": 4,
    "outreach": 4,
    "coordination": 5,
    "assessment": 5,
    "support_plan": 6,
    "plan_conference": 6,
    "support_decision": 6,
    "participation": 2,
    "monitoring": 5,
    "evaluation": 5,
}

# Stage labels shown to staff; a municipality may rename them (the keys stay).
STAGE_LABELS = {
    "intake": _l("相談受付"),
    "window_support": _l("窓口での支援"),
    "referral": _l("つなぎ"),
    "support_council": _l("支援会議"),
    "outreach": _l("アウトリーチ"),
    "coordination": _l("多機関協働の受付"),
    "assessment": _l("アセスメント"),
    "support_plan": _l("支援プラン"),
    "plan_conference": _l("重層的支援会議"),
    "support_decision": _l("支援決定"),
    "delivery": _l("支援の実施"),
    "participation": _l("参加支援"),
    "monitoring": _l("モニタリング"),
    "evaluation": _l("評価"),
    "interrupted": _l("中断"),
    "returned": _l("主担当機関へ戻す"),
    "closed": _l("終結"),
}


def stage_labels() -> dict[str, Any]:
    """Stage labels with the municipality's own names for the two meetings."""
    from app.services import settings

    names = settings.current()
    labels: dict[str, Any] = dict(STAGE_LABELS)
    for stage in ("plan_conference", "support_council"):
        key = f"{stage}_label"
        # The law's names (translated) until the municipality gives its own, shown as written.
        if names[key] != settings.DEFINITIONS[key][0]:
            labels[stage] = names[key]
    return labels


def on_step(
    case: Case, instance: ProcessInstance, completed: bool, new_tasks: list[ReadyTask]
) -> None:
    """Move the case's stage and status after the engine advanced."""
    stages = [t.properties["stage"] for t in new_tasks if t.properties.get("stage")]
    if stages:
        case.stage = stages[-1]
    acts = {ACT_OF_STAGE[s] for s in [case.stage, *stages] if s in ACT_OF_STAGE}
    if not acts <= set(case.act_items or []):
        case.act_items = sorted(set(case.act_items or []) | acts)
    if completed:
        # A flow that ends by handing the case back to its primary agency says so (「主担当機関へ
        # 戻す」); every other end is 終結.
        if case.stage not in ENDING_STAGES:
            case.stage = "closed"
        webhooks.case_closing(case)
        case.status = CLOSED
        case.closed_at = case.closed_at or utcnow()
    else:
        case.status = INTERRUPTED if case.stage == "interrupted" else OPEN


def on_submission(
    case: Case,
    element_id: str,
    data: dict[str, Any],
    properties: dict[str, str],
    actor: User,
    words: dict[str, str] | None = None,
) -> None:
    """Apply what a completed form changes on the case (before the next tasks are routed).

    A task's ``stageOnComplete`` property names the stage the case is in once it is done, for when
    the flow then waits on a timer or message rather than on a new task.
    """
    if properties.get("stageOnComplete"):
        case.stage = properties["stageOnComplete"]
    records.record_submission(case, properties.get("recordAs"), data, actor, words or {})
