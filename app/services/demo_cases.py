"""Demo cases standing at several stages of the support flow, driven through the real services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Case, User, WorkItem
from app.services import cases, clock, work_items

DEMO_PREFIX = "【デモ】"


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _do(case: Case, element: str, username: str, data: dict[str, Any]) -> None:
    item = db.session.scalar(
        select(WorkItem).where(
            WorkItem.case_id == case.id, WorkItem.element_id == element, WorkItem.status == "open"
        )
    )
    work_items.complete(item.id, _user(username), data)


def _day(offset: int = 0) -> str:
    return (clock.today() + timedelta(days=offset)).isoformat()


def _assess(decision: str, **extra: Any) -> dict[str, Any]:
    return {
        "main_complaint": "複数の困りごとがある世帯",
        "urgency": "medium",
        "decision": decision,
        **extra,
    }


def _plan(participation: bool = False) -> dict[str, Any]:
    return {
        "goals": [
            {
                "goal": "家計の見通しを立てる",
                "support_content": "家計相談と債務整理の支援",
                "responsible_agency": "【デモ】くらし自立相談支援窓口",
                "staff": "【デモ】相談員",
                "frequency": "月2回",
            },
            {
                "goal": "母の介護サービスを安定させる",
                "support_content": "ケアマネジャーと連携",
                "responsible_agency": "【デモ】中央地域包括支援センター",
                "frequency": "月1回",
            },
        ],
        "primary_agency": "poverty-center",
        "plan_start": _day(),
        "plan_end": _day(180),
        "review_date": _day(30),
        "participation_requested": participation,
        "outreach_requested": False,
        "person_consented": True,
    }


def _to_plan(case: Case, window: str) -> None:
    _do(case, "first_assessment", window, _assess("coordination", consent="given"))
    _do(case, "coordination_intake", "demo-coordinator", {"coordination_decision": "accept"})
    _do(
        case,
        "assessment",
        "demo-coordinator",
        {"main_complaint": "80代の母の介護と50代の息子の無職・債務"},
    )


def _at_intake(case: Case, window: str) -> None:
    """Nothing done yet: the first assessment waits at the window."""


def _at_coordination(case: Case, window: str) -> None:
    _do(case, "first_assessment", window, _assess("coordination", consent="given"))


def _at_conference(case: Case, window: str) -> None:
    _to_plan(case, window)
    _do(case, "support_plan", "demo-coordinator", _plan())


def _in_delivery(case: Case, window: str) -> None:
    _to_plan(case, window)
    _do(case, "support_plan", "demo-coordinator", _plan(participation=True))
    _do(
        case,
        "plan_conference",
        "demo-supervisor",
        {"conference_date": _day(), "conference_outcome": "approve", "resources_sufficient": True},
    )
    _do(
        case,
        "support_decision",
        "demo-decision",
        {"decision_date": _day(), "decision_number": "デモ-001"},
    )


def _in_support_council(case: Case, window: str) -> None:
    _do(case, "first_assessment", window, _assess("coordination", consent="not_given"))
    _do(
        case,
        "support_council",
        "demo-supervisor",
        {
            "meeting_date": _day(),
            "all_members_pledged": True,
            "approach_by": "welfare-division",
            "council_course": "watch",
            "revisit_after": "P14D",
        },
    )


def _closed_at_window(case: Case, window: str) -> None:
    _do(case, "first_assessment", window, _assess("window"))
    _do(
        case,
        "window_support",
        window,
        {
            "support_content": "介護保険の申請を支援",
            "window_outcome": "close",
            "closure_reason": "サービス利用が始まった",
        },
    )


DEMO_CASES: list[tuple[str, str, Callable[[Case, str], None]]] = [
    ("demo-elderly", "高齢の母と同居する息子の生活の相談（受付直後）", _at_intake),
    ("demo-elderly", "8050世帯：母の介護と息子の債務（多機関協働の受付待ち）", _at_coordination),
    ("demo-child", "ダブルケアの世帯（重層的支援会議の前）", _at_conference),
    ("demo-poverty", "就労に不安のある若者（参加支援の実施中）", _in_delivery),
    (
        "demo-disability",
        "長期のひきこもりが疑われる世帯（支援会議・アウトリーチ中）",
        _in_support_council,
    ),
    ("demo-elderly", "介護保険の申請の相談（窓口で終結）", _closed_at_window),
]


def load_demo_cases() -> int:
    """Create the demo cases once (none if any demo case exists); returns how many were created."""
    exists = db.session.scalar(select(Case.id).where(Case.title.startswith(DEMO_PREFIX)).limit(1))
    if exists:
        return 0
    for username, title, advance in DEMO_CASES:
        intake = {
            "received_on": _day(),
            "route": "person",
            "method": "visit",
            "concerns": ["care", "income"],
        }
        case = cases.open_case(_user(username), DEMO_PREFIX + title, intake)
        advance(case, username)
    return len(DEMO_CASES)
