"""Hostile scripts that pass deploy are stopped at run time, and the case stays loadable."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import FormSubmission, ProcessInstance, WorkItem
from app.services import instances, work_items
from app.services.errors import ProcessFailure


@pytest.mark.parametrize(
    ("note", "element", "words"),
    [("open", "read_file", "format"), ("spin", "spin", "時間")],
)
def test_refused_script_leaves_the_case_as_it_was(
    deployed: Flask, user, note: str, element: str, words: str
) -> None:
    coordinator = user("demo-coordinator")
    instance = instances.start("hostile")
    [item] = instances.open_items(instance)
    state_before = instance.state
    with pytest.raises(ProcessFailure) as caught:
        work_items.complete(item.id, coordinator, {"note": note})
    assert element in caught.value.message and words in caught.value.message
    db.session.expire_all()
    reloaded = db.session.get(ProcessInstance, instance.id)
    assert reloaded.state == state_before
    assert db.session.get(WorkItem, item.id).status == "open"
    assert db.session.scalar(select(func.count(FormSubmission.id))) == 0
    work_items.complete(item.id, coordinator, {"note": "問題なし"})
    assert db.session.get(ProcessInstance, instance.id).status == "completed"
