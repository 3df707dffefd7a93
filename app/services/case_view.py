"""What a case page shows: position in the flow, plan versions, decisions, and a timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from lxml import etree
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AuditEvent,
    Case,
    FormSubmission,
    ProcessDefinition,
    ProcessInstance,
    User,
    WorkItem,
)

BPMN_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
# Material of the 支援会議 (106条の6) never appears in the normal case view.
COUNCIL_ELEMENTS = {"support_council"}
DECISION_ELEMENTS = {
    "plan_conference": "重層的支援会議",
    "evaluation": "評価（重層的支援会議）",
    "support_decision": "支援決定",
}
REFERRAL_ELEMENTS = {"referral_review"}


@dataclass
class TimelineEntry:
    at: datetime
    who: str
    what: str
    detail: str = ""


@dataclass
class CaseView:
    case: Case
    instance: ProcessInstance | None
    open_items: list[WorkItem]
    plans: list[FormSubmission]
    decisions: list[tuple[str, FormSubmission]]
    referrals: list[FormSubmission]
    timeline: list[TimelineEntry]
    active_elements: list[str] = field(default_factory=list)
    completed_elements: list[str] = field(default_factory=list)


def build(case: Case) -> CaseView:
    """Assemble the case page from the case's own tables (never from engine state)."""
    instances = list(
        db.session.scalars(
            select(ProcessInstance)
            .where(ProcessInstance.case_id == case.id)
            .order_by(ProcessInstance.id)
        )
    )
    current = instances[-1] if instances else None
    items = list(
        db.session.scalars(
            select(WorkItem).where(WorkItem.case_id == case.id).order_by(WorkItem.id)
        )
    )
    submissions = list(
        db.session.scalars(
            select(FormSubmission)
            .where(FormSubmission.case_id == case.id)
            .order_by(FormSubmission.id)
        )
    )
    names = _user_names(
        {s.submitted_by_id for s in submissions} | {i.completed_by_id for i in items}
    )
    active, completed = _positions(current, items)
    return CaseView(
        case=case,
        instance=current,
        open_items=[i for i in items if i.status == "open"],
        plans=[s for s in submissions if s.element_id == "support_plan"],
        decisions=[
            (DECISION_ELEMENTS[s.element_id], s)
            for s in submissions
            if s.element_id in DECISION_ELEMENTS
        ],
        referrals=[s for s in submissions if s.element_id in REFERRAL_ELEMENTS],
        timeline=_timeline(case, items, submissions, names),
        active_elements=active,
        completed_elements=completed,
    )


def _user_names(ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {
        u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(wanted)))
    }


def _positions(
    instance: ProcessInstance | None, items: list[WorkItem]
) -> tuple[list[str], list[str]]:
    """Element ids to highlight on the main diagram: open tasks, and what has been done."""
    if instance is None:
        return [], []
    main_key = instance.definition.key
    calls = _call_activities(instance.definition_id)

    def on_main(item: WorkItem) -> str | None:
        if item.process_key in (None, main_key):
            return item.element_id
        return calls.get(item.process_key)

    mine = [i for i in items if i.instance_id == instance.id]
    active = sorted({e for i in mine if i.status == "open" and (e := on_main(i))})
    done = sorted({e for i in mine if i.status == "completed" and (e := on_main(i))} - set(active))
    return active, done


@lru_cache(maxsize=64)
def _call_activities(definition_id: int) -> dict[str, str]:
    """Called process key → the call activity's element id, for a definition (immutable, so cached)."""
    definition = db.session.get(ProcessDefinition, definition_id)
    root = etree.fromstring(definition.bpmn_xml.encode("utf-8"))
    return {
        node.get("calledElement"): node.get("id")
        for node in root.xpath(
            f"//bpmn:process[@id='{definition.key}']//bpmn:callActivity", namespaces=BPMN_NS
        )
    }


def _timeline(
    case: Case, items: list[WorkItem], submissions: list[FormSubmission], names: dict[int, str]
) -> list[TimelineEntry]:
    titles = {i.id: i.title for i in items}
    entries = [
        TimelineEntry(case.created_at, _creator(case), "ケースを受け付けました", case.number)
    ]
    for sub in submissions:
        title = titles.get(sub.work_item_id, sub.element_id)
        detail = (
            "（内容は支援会議の構成員のみ閲覧できます）"
            if sub.element_id in COUNCIL_ELEMENTS
            else ""
        )
        entries.append(
            TimelineEntry(
                sub.submitted_at, names.get(sub.submitted_by_id, "-"), f"「{title}」を完了", detail
            )
        )
    for item in items:
        if item.status == "cancelled":
            entries.append(
                TimelineEntry(
                    item.completed_at or item.created_at,
                    "システム",
                    f"「{item.title}」は不要になりました",
                )
            )
    for event in db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.case_id == case.id,
            AuditEvent.action.in_(["process.message", "process.timer", "case.reopen"]),
        )
    ):
        entries.append(TimelineEntry(event.at, event.actor_name, _event_label(event)))
    return sorted(entries, key=lambda e: e.at)


def _creator(case: Case) -> str:
    user = db.session.get(User, case.created_by_id) if case.created_by_id else None
    return user.display_name if user else "-"


def _event_label(event: AuditEvent) -> str:
    if event.action == "process.message":
        return f"知らせを受けました（{event.detail.get('message', '')}）"
    if event.action == "case.reopen":
        return f"ケースを再開しました（第{event.detail.get('cycle')}期）"
    return "予定日になりました（タイマー）"


def submission_fields(sub: FormSubmission, schema: dict[str, Any] | None) -> list[tuple[str, str]]:
    """A submission's answers as (label, text) pairs, using the form's Japanese titles."""
    props = (schema or {}).get("properties", {})
    rows = []
    for key, value in sub.data.items():
        prop = props.get(key, {})
        rows.append((prop.get("title", key), _text(value, prop)))
    return rows


def _text(value: Any, prop: dict[str, Any]) -> str:
    choices = {c.get("const"): c.get("title") for c in prop.get("oneOf", []) if isinstance(c, dict)}
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, list):
        titles = prop.get("x-enumTitles")
        enum = prop.get("items", {}).get("enum") if isinstance(prop.get("items"), dict) else None
        if titles and enum:
            lookup = dict(zip(enum, titles, strict=False))
            return "、".join(lookup.get(v, str(v)) for v in value)
        return "、".join(
            _text(v, prop.get("items", {}) if isinstance(prop.get("items"), dict) else {})
            for v in value
        )
    if isinstance(value, dict):
        inner = prop.get("properties", {})
        return " / ".join(
            f"{inner.get(k, {}).get('title', k)}: {_text(v, inner.get(k, {}))}"
            for k, v in value.items()
        )
    return str(choices.get(value, value))
