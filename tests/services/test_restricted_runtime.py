"""Hostile scripts that pass deploy are stopped at run time, and the case stays loadable."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, FormSubmission, ProcessInstance, WorkItem
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
    # Never silently stuck: the instance is in error for supervisors, what was typed is kept.
    assert element in reloaded.error and "下書き" in caught.value.message
    assert db.session.get(WorkItem, item.id).draft == {"note": note}
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "process.error")
        )
        == 1
    )
    work_items.complete(item.id, coordinator, {"note": "問題なし"})
    finished = db.session.get(ProcessInstance, instance.id)
    assert finished.status == "completed" and finished.error is None
