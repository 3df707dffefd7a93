"""Scenario harness (a pytest plugin): the real processes and forms, demo agencies and users, a case driven task by task."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Case, FormSubmission, Meeting, ProcessInstance, User, WorkItem
from app.services import cases, definitions, events, work_items

ROOT = Path(__file__).parent.parent
START = datetime(2026, 4, 6, 0, 30, tzinfo=UTC)  # 09:30 in Japan, a Monday


class Flow:
    """One case moving through the support flow, with the clock under the test's control.

    With ``renamed`` (drawn id → deployed id), the flow runs on diagrams whose element ids were
    all renamed: the test still speaks of the ids as drawn, the product sees only the new ones.
    """

    def __init__(self, clock: Any, renamed: dict[str, str] | None = None) -> None:
        self.clock = clock
        self.case: Case | None = None
        self.renamed = renamed or {}
        self.drawn = {new: old for old, new in self.renamed.items()}

    def user(self, username: str) -> User:
        return db.session.scalar(select(User).where(User.username == username))

    def today(self, days: int = 0) -> str:
        return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()

    def open_case(
        self,
        username: str = "demo-elderly",
        title: str = "【テスト】世帯の相談",
        consent: bool = False,
    ) -> Case:
        intake = {
            "received_on": self.today(),
            "concerns": ["care", "income"],
            "most_pressing": "care",
        }
        if consent:
            intake.update(
                consent_given=True,
                consent_date=self.today(),
                consent_scope={"purpose": "支援のため"},
            )
        self.case = cases.open_case(self.user(username), title, intake)
        return self.case

    def open_items(self) -> list[WorkItem]:
        db.session.expire_all()
        return list(
            db.session.scalars(
                select(WorkItem)
                .where(WorkItem.case_id == self.case.id, WorkItem.status == "open")
                .order_by(WorkItem.id)
            )
        )

    def waiting(self) -> dict[str, str]:
        """Open work, element → queue."""
        return {self.drawn.get(i.element_id, i.element_id): i.queue for i in self.open_items()}

    def complete(
        self, element: str, username: str, data: dict[str, Any], queue: str | None = None
    ) -> WorkItem:
        deployed = self.renamed.get(element, element)
        matches = [i for i in self.open_items() if i.element_id == deployed]
        assert len(matches) == 1, f"expected one open {element}, have {self.waiting()}"
        item = matches[0]
        if queue is not None:
            assert item.queue == queue, f"{element} is in {item.queue}, expected {queue}"
        return work_items.complete(item.id, self.user(username), data)

    def pass_days(self, days: float) -> int:
        self.clock.shift(timedelta(days=days))
        return events.fire_due_timers()

    def deliver(self, message: str, payload: dict[str, Any] | None = None) -> None:
        events.deliver(message, self.case.number, payload or {})

    def refresh(self) -> Case:
        db.session.expire_all()
        self.case = db.session.get(Case, self.case.id)
        return self.case

    def submissions(self) -> list[str]:
        return [
            self.drawn.get(element, element)
            for element in db.session.scalars(
                select(FormSubmission.element_id)
                .where(FormSubmission.case_id == self.case.id)
                .order_by(FormSubmission.id)
            )
        ]

    def oversee(self, username: str, *agency_codes: str) -> User:
        """The supervisor ``username``, set (by the administrator) to oversee these agencies."""
        from app.services.supervision import scope as scopes

        supervisor = self.user(username)
        scopes.replace(supervisor, list(agency_codes), [], self.user("demo-admin"))
        db.session.commit()
        return supervisor

    def instances(self) -> list[ProcessInstance]:
        return list(
            db.session.scalars(
                select(ProcessInstance).where(ProcessInstance.case_id == self.case.id)
            )
        )


@pytest.fixture
def flow(request: pytest.FixtureRequest, ctx: Flask, demo: None, tmp_path: Path) -> Iterator[Flow]:
    """The real processes deployed as drawn, or (``@pytest.mark.renamed_ids``) once more with every
    element id renamed: Kasane must not depend on what a designer calls an element."""
    renamed: dict[str, str] = {}
    folder = ROOT / "processes"
    if getattr(request, "param", "as_drawn") == "renamed_ids":
        folder, renamed = rename_element_ids(folder, tmp_path / "renamed")
    definitions.deploy([str(folder)], str(ROOT / "forms"))
    with time_machine.travel(START, tick=False) as clock:
        yield Flow(clock, renamed)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "flow" in metafunc.fixturenames and metafunc.definition.get_closest_marker("renamed_ids"):
        metafunc.parametrize("flow", ["as_drawn", "renamed_ids"], indirect=True)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "renamed_ids: also run the scenario on diagrams with every element id renamed"
    )


ID_REFERENCES = ("sourceRef", "targetRef", "attachedToRef", "default", "bpmnElement", "messageRef")


def rename_element_ids(source: Path, target: Path) -> tuple[Path, dict[str, str]]:
    """Copies of the diagrams with every element id renamed (ids and the references to them;
    process ids, message names, names, properties and expressions unchanged)."""
    from lxml import etree

    target.mkdir(parents=True, exist_ok=True)
    renamed: dict[str, str] = {}
    for path in sorted(source.glob("*.bpmn")):
        tree = etree.parse(str(path))
        for element in tree.iter():
            if not isinstance(element.tag, str):
                continue
            local = etree.QName(element).localname
            old = element.get("id")
            if old and local not in ("process", "definitions"):
                renamed.setdefault(old, f"el_{len(renamed):03d}_{old[::-1]}")
        for element in tree.iter():
            if not isinstance(element.tag, str):
                continue
            local = etree.QName(element).localname
            if element.get("id") in renamed and local not in ("process", "definitions"):
                element.set("id", renamed[element.get("id")])
            for attribute in ID_REFERENCES:
                if element.get(attribute) in renamed:
                    element.set(attribute, renamed[element.get(attribute)])
            if local in ("incoming", "outgoing", "flowNodeRef") and element.text in renamed:
                element.text = renamed[element.text]
        tree.write(str(target / path.name), xml_declaration=True, encoding="UTF-8")
    return target, renamed


class Calendar:
    """The calendar of a browser journey: days pass for the live server (it runs in this process)
    and the test alike, and the timer worker then runs one round, as ``flask kasane worker`` does
    every few seconds. Logins end as days pass, so people log in again."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack

    def pass_days(self, days: float) -> int:
        """Move on ``days``; how many waiting processes the worker's round moved on."""
        later = datetime.now(UTC) + timedelta(days=days)
        self._stack.enter_context(time_machine.travel(later, tick=True))
        fired = events.fire_due_timers()
        db.session.remove()
        return fired


@pytest.fixture
def calendar(ctx: Flask) -> Iterator[Calendar]:
    with ExitStack() as stack:
        yield Calendar(stack)


def plan(
    review_in_days: int = 30, participation: bool = False, outreach: bool = False, **extra: Any
) -> dict:
    """A valid support plan form."""
    today = datetime.now(UTC).date()
    return {
        "goals": [
            {
                "goal": "生活費の見通しを立てる",
                "support_content": "家計相談と債務整理の支援",
                "responsible_agency": "くらし自立相談支援窓口",
                "staff": "相談員A",
                "frequency": "月2回",
            }
        ],
        "primary_agency": "poverty-center",
        "plan_start": today.isoformat(),
        "plan_end": (today + timedelta(days=180)).isoformat(),
        "review_date": (today + timedelta(days=review_in_days)).isoformat(),
        "participation_requested": participation,
        "outreach_requested": outreach,
        "person_consented": True,
        **extra,
    }


def iso(d: date) -> str:
    return d.isoformat()


def first_assessment(decision: str, **extra: object) -> dict:
    return {
        "main_complaint": "母の介護と息子の無職",
        "urgency": "medium",
        "decision": decision,
        **extra,
    }


def council_record(flow: Flow, course: str, revisit_after: str) -> dict:
    """A valid 支援会議 record form."""
    return {
        "meeting_date": flow.today(),
        "all_members_pledged": True,
        "council_course": course,
        "revisit_after": revisit_after,
    }


def accept_and_plan(flow: Flow, **plan_options: object) -> None:
    flow.complete(
        "coordination_intake",
        "demo-coordinator",
        {"coordination_decision": "accept"},
        "coordination",
    )
    flow.complete(
        "assessment", "demo-coordinator", {"main_complaint": "世帯の複合的な課題"}, "coordination"
    )
    flow.complete("support_plan", "demo-coordinator", plan(**plan_options), "coordination")


def approve(flow: Flow) -> None:
    flow.complete(
        "plan_conference",
        "demo-supervisor",
        {
            "conference_date": flow.today(),
            "conference_outcome": "approve",
            "resources_sufficient": True,
        },
    )


def decided_plan(flow: Flow, review_in_days: int = 30) -> None:
    """A case taken from the window to an approved and decided plan (then waiting for its review)."""
    flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="given")
    )
    accept_and_plan(flow, review_in_days=review_in_days)
    approve(flow)
    flow.complete("support_decision", "demo-decision", {"decision_date": flow.today()})


def hold_council(
    flow: Flow, summary: str = "近隣からの情報", title: str | None = None, course: str = "watch"
) -> Meeting:
    """A new case without consent taken to the 支援会議, which shares ``summary`` and decides
    ``course`` (watch, outreach, emergency); the meeting."""
    flow.open_case(title=title) if title else flow.open_case()
    flow.complete(
        "first_assessment", "demo-elderly", first_assessment("coordination", consent="not_given")
    )
    flow.complete(
        "support_council",
        "demo-supervisor",
        {
            "meeting_date": flow.today(),
            "members_present": ["福祉総務課 係長", "民生委員"],
            "all_members_pledged": True,
            "shared_summary": summary,
            "council_course": course,
            "revisit_after": "P14D",
        },
    )
    return db.session.scalars(
        select(Meeting).where(Meeting.kind == "support_council").order_by(Meeting.id.desc())
    ).first()


def matched(flow: Flow, retention_check_after: str = "P14D") -> dict[str, Any]:
    """A valid 参加先とのマッチング form: a work trial found."""
    return {
        "match_result": "matched",
        "resource_kind": "work_trial",
        "resource_name": "【デモ】地域の農園",
        "host_contact": "園主",
        "matched_on": flow.today(),
        "retention_check_after": retention_check_after,
    }
