"""Keeps a case's record in step with its support flow: stage, status, and who is responsible.

The workflow holds only what its gateways read; the case row is the system of record. Each
user task names its stage (BPMN property ``stage``); some submissions change who is responsible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from app.engine.runtime import ReadyTask
from app.extensions import db
from app.models import Agency, Case, ProcessInstance
from app.models.base import utcnow

OPEN, INTERRUPTED, CLOSED = "open", "interrupted", "closed"

# Stage labels shown to staff; a municipality may rename them (the keys stay).
STAGE_LABELS = {
    "intake": "相談受付",
    "window_support": "窓口での支援",
    "referral": "つなぎ",
    "support_council": "支援会議",
    "outreach": "アウトリーチ",
    "coordination": "多機関協働の受付",
    "assessment": "アセスメント",
    "support_plan": "支援プラン",
    "plan_conference": "重層的支援会議",
    "support_decision": "支援決定",
    "delivery": "支援の実施",
    "participation": "参加支援",
    "monitoring": "モニタリング",
    "evaluation": "評価",
    "interrupted": "中断",
    "returned": "主担当機関へ戻す",
    "closed": "終結",
}


def on_step(
    case: Case, instance: ProcessInstance, completed: bool, new_tasks: list[ReadyTask]
) -> None:
    """Move the case's stage and status after the engine advanced."""
    stages = [t.properties["stage"] for t in new_tasks if t.properties.get("stage")]
    if stages:
        case.stage = stages[-1]
    if completed:
        if case.stage != "closed" or case.status != CLOSED:
            case.stage = "closed"
        case.status = CLOSED
        case.closed_at = case.closed_at or utcnow()
    else:
        case.status = INTERRUPTED if case.stage == "interrupted" else OPEN


def _agency(code: Any) -> Agency | None:
    if not isinstance(code, str):
        return None
    return db.session.scalar(select(Agency).where(Agency.code == code))


def _take_over(case: Case, data: dict[str, Any]) -> None:
    if data.get("referral_accepted") == "accepted":
        target = _agency(data.get("referral_to"))
        if target is not None:
            case.primary_agency_id = target.id


def _plan(case: Case, data: dict[str, Any]) -> None:
    target = _agency(data.get("primary_agency"))
    if target is not None:
        case.primary_agency_id = target.id


def _evaluation(case: Case, data: dict[str, Any]) -> None:
    if data.get("evaluation_decision") == "closure":
        target = _agency(data.get("next_primary_agency"))
        if target is not None:
            case.primary_agency_id = target.id


EFFECTS: dict[str, Callable[[Case, dict[str, Any]], None]] = {
    "referral_review": _take_over,
    "support_plan": _plan,
    "evaluation": _evaluation,
}


def on_submission(
    case: Case,
    element_id: str,
    data: dict[str, Any],
    process_data: dict[str, Any],
    properties: dict[str, str],
) -> None:
    """Apply what a completed form changes on the case (before the next tasks are routed).

    A task's ``stageOnComplete`` property names the stage the case is in once it is done, for when
    the flow then waits on a timer or message rather than on a new task.
    """
    if properties.get("stageOnComplete"):
        case.stage = properties["stageOnComplete"]
    effect = EFFECTS.get(element_id)
    if effect is not None:
        effect(case, {**process_data, **data})
