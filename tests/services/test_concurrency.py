"""Twenty people completing the same work item at once: one wins, the rest get a conflict."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import ProcessInstance, User
from app.services import instances, work_items
from app.services.errors import Conflict

THREADS = 20


def test_twenty_simultaneous_completions_one_succeeds(deployed: Flask) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks and concurrent writers are exercised on PostgreSQL")
    instance = instances.start("loop", data={"limit": 5})
    [item] = instances.open_items(instance)
    item_id, instance_id = item.id, instance.id
    db.session.remove()
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        with deployed.app_context():
            actor = db.session.scalar(select(User).where(User.username == "demo-coordinator"))
            barrier.wait(timeout=60)
            try:
                work_items.complete(item_id, actor, {"note": f"同時送信 {n}"})
                result = "ok"
            except Conflict:
                result = "conflict"
            except Exception as exc:  # noqa: BLE001 - any other outcome is the failure we look for
                result = f"error: {exc!r}"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes) == ["conflict"] * (THREADS - 1) + ["ok"]
    instance = db.session.get(ProcessInstance, instance_id)
    [next_item] = instances.open_items(instance)
    assert next_item.id != item_id
    actor = db.session.scalar(select(User).where(User.username == "demo-coordinator"))
    work_items.complete(next_item.id, actor, {"note": "続き"})
    assert len(instances.open_items(instance)) == 1
    run = instances.resume(db.session.get(ProcessInstance, instance_id))
    assert run.last_data()["count"] == 2
