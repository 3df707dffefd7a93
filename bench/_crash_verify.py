"""After the crash check: what the database holds against what the clients were told, and whether
every instance still loads and moves on."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from _load_client import NO_RESPONSE, REFUSED, Log, form_data, marker_of
from _load_common import timer_fires


def submissions(app: Any, log: Log) -> dict[str, int]:
    """Every submission answered 2xx is stored exactly once; none refused or never sent is."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import FormSubmission

    with app.app_context():
        stored = Counter(
            marker_of(data) for data in db.session.scalars(select(FormSubmission.data)) if data
        )
        db.session.remove()
    stored.pop(None, None)
    acked = [s for s in log.submissions if 200 <= s.status < 300]
    refused = [s for s in log.submissions if s.status >= 300 or s.status == REFUSED]
    lost = [s for s in log.submissions if s.status == NO_RESPONSE]
    return {
        "acknowledged": len(acked),
        "acknowledged_missing": sum(1 for s in acked if stored[s.marker] == 0),
        "acknowledged_twice": sum(1 for s in acked if stored[s.marker] > 1),
        "refused_or_unsent": len(refused),
        "refused_but_stored": sum(1 for s in refused if stored[s.marker] > 0),
        "deliberate_409": sum(1 for s in log.submissions if s.resubmit and s.status == 409),
        "second_submission_accepted": sum(
            1 for s in log.submissions if s.resubmit and 200 <= s.status < 300
        ),
        "server_errors": sum(1 for s in log.submissions if s.status >= 500),
        "no_response": len(lost),
        "no_response_stored": sum(1 for s in lost if stored[s.marker] == 1),
        "markers_stored_twice": sum(1 for count in stored.values() if count > 1),
    }


def steps(app: Any) -> dict[str, int]:
    """No step applied twice: one submission per completed work item, one work item per engine
    task, and as many flows taken out of a user task as the instance completed it."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import FormSubmission, PathStep, WorkItem

    with app.app_context():
        per_item = Counter(db.session.scalars(select(FormSubmission.work_item_id)))
        completed = list(
            db.session.execute(
                select(WorkItem.id, WorkItem.instance_id, WorkItem.element_id).where(
                    WorkItem.status == "completed"
                )
            )
        )
        per_task = db.session.scalar(
            select(func.count()).select_from(
                select(WorkItem.instance_id, WorkItem.task_id)
                .group_by(WorkItem.instance_id, WorkItem.task_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        taken = Counter(
            (row.instance_id, row.source_id)
            for row in db.session.execute(select(PathStep.instance_id, PathStep.source_id))
        )
        db.session.remove()
    done = Counter((row.instance_id, row.element_id) for row in completed)
    return {
        "completed_work_items": len(completed),
        "work_items_submitted_twice": sum(1 for count in per_item.values() if count > 1),
        "completed_without_submission": sum(1 for row in completed if per_item[row.id] == 0),
        "tasks_with_two_work_items": int(per_task or 0),
        "flows_out_not_matching_completions": sum(
            1 for key, count in done.items() if taken[key] != count
        ),
    }


def timers(app: Any, groups: dict[str, tuple[list[int], datetime]]) -> dict[str, int]:
    """Each timer fired exactly once, and (outage) not before the workers were back."""
    out: dict[str, int] = {}
    for name, (ids, not_before) in groups.items():
        fires = timer_fires(app, ids)
        out[f"timers_{name}"] = len(ids)
        out[f"timers_{name}_fired_once"] = sum(1 for at in fires.values() if len(at) == 1)
        out[f"timers_{name}_fired_twice"] = sum(1 for at in fires.values() if len(at) > 1)
        out[f"timers_{name}_not_fired"] = sum(1 for at in fires.values() if not at)
        out[f"timers_{name}_fired_too_early"] = sum(
            1 for at in fires.values() if at and min(at) < not_before
        )
    return out


def instances(app: Any, touched: set[int]) -> dict[str, int]:
    """Every instance loads with the engine and its ready tasks are its open work items; every
    instance the load or the timers touched takes one more step (its open task completed)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import ProcessInstance, User, WorkItem
    from app.services import instances as instance_service
    from app.services import work_items

    out = Counter(loaded=0, load_failed=0, ready_not_matching_work=0, continued=0)
    out["continue_failed"] = 0
    failures: list[str] = []
    with app.app_context():
        ids = list(db.session.scalars(select(ProcessInstance.id).order_by(ProcessInstance.id)))
        open_items: dict[int, list[WorkItem]] = defaultdict(list)
        for item in db.session.scalars(select(WorkItem).where(WorkItem.status == "open")):
            open_items[item.instance_id].append(item)
        for instance_id in ids:
            instance = db.session.get(ProcessInstance, instance_id)
            try:
                run = instance_service.resume(instance)
                ready = {task.task_id for task in run.ready_tasks()}
            except Exception as exc:  # noqa: BLE001 - any failure to load is what this counts
                out["load_failed"] += 1
                failures.append(f"instance {instance_id}: {exc!r}")
                continue
            out["loaded"] += 1
            if ready != {item.task_id for item in open_items[instance_id]}:
                out["ready_not_matching_work"] += 1
        db.session.rollback()
        owners = {user.id: user for user in db.session.scalars(select(User))}
        by_queue = {f"agency:{u.agency.code}": u for u in owners.values() if u.agency}
        coordinator = next(u for u in owners.values() if u.role == "coordinator")
        for instance_id in sorted(touched):
            for item_id in [item.id for item in open_items[instance_id]][:1]:
                item = db.session.get(WorkItem, item_id)
                actor = by_queue.get(item.queue, coordinator)
                data = form_data(item.element_id, f"mcontinue-{instance_id}") or {
                    "note": "再開の確認"
                }
                try:
                    work_items.complete(item.id, actor, data)
                    out["continued"] += 1
                except Exception as exc:  # noqa: BLE001
                    db.session.rollback()
                    out["continue_failed"] += 1
                    failures.append(f"instance {instance_id} item {item.id}: {exc!r}")
        db.session.remove()
    for failure in failures[:10]:
        print(f"    {failure}")
    return dict(out)


def touched_instances(app: Any, log: Log, timer_ids: list[int]) -> set[int]:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import WorkItem

    item_ids = {s.item_id for s in log.submissions}
    with app.app_context():
        found = set(
            db.session.scalars(select(WorkItem.instance_id).where(WorkItem.id.in_(item_ids)))
        )
        db.session.remove()
    return found | set(timer_ids)
