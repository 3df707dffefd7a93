"""The BPMN↔form contract at deploy: a gateway's condition reads fields that exist and compares
choices with values the form can give; a diagram that breaks it is refused naming the flow."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from app.extensions import db
from app.models import ProcessDraft
from app.services import definitions
from app.services.design import drafts

ROOT = Path(__file__).parent.parent.parent
FORMS = str(ROOT / "forms")


@pytest.fixture
def draft(ctx: Flask, demo: None, user) -> ProcessDraft:
    definitions.deploy([str(ROOT / "processes")], FORMS)
    return drafts.start_from_version(definitions.latest("support_case").id, user("demo-designer"))


def _problems_after(draft: ProcessDraft, user, old: str, new: str) -> list[drafts.Problem]:
    assert old in draft.bpmn_xml
    changed = draft.bpmn_xml.replace(old, new, 1)
    drafts.save(draft.id, changed, draft.lock_version, user("demo-designer"))
    return drafts.problems(db.session.get(ProcessDraft, draft.id), FORMS)


def test_the_running_flow_keeps_the_contract(draft) -> None:
    assert drafts.problems(draft, FORMS) == []


def test_a_condition_on_a_field_no_form_has_is_refused(draft, user) -> None:
    [problem] = _problems_after(draft, user, "decision == 'referral'", "decison == 'referral'")
    assert "「decison」" in problem.message and problem.element_id


def test_a_choice_the_form_cannot_give_is_refused_with_the_choices(draft, user) -> None:
    [problem] = _problems_after(draft, user, "decision == 'referral'", "decision == 'refer'")
    assert "'refer'" in problem.message and "referral" in problem.message
    assert problem.element_id


def test_a_value_a_script_writes_counts_as_known(draft, user) -> None:
    # ``consent`` is written by a script ('given'); comparing with another value is refused.
    [problem] = _problems_after(draft, user, "consent == 'given'", "consent == 'granted'")
    assert "'granted'" in problem.message
