"""The supervisors' workload: open work per queue and per worker of their scope, what is late, what
falls due this week, what nobody holds, and the oldest, on both databases."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import WorkItem
from app.services import work_items
from app.services.supervision import workload
from tests.harness import Flow


def test_open_work_per_queue_and_worker(flow: Flow) -> None:
    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    worker = flow.user("demo-elderly")
    for title in ("一件目", "二件目", "三件目"):
        flow.open_case(title=f"【テスト】{title}")
        flow.pass_days(2)
    items = list(
        db.session.scalars(
            select(WorkItem).where(WorkItem.status == "open").order_by(WorkItem.created_at)
        )
    )
    assert len(items) == 3 and len({item.queue for item in items}) == 1
    work_items.claim(items[0].id, worker)
    work_items.claim(items[1].id, worker)
    db.session.commit()

    workers, queues = workload.workload(supervisor)
    [queue] = queues
    assert (queue.key, queue.open, queue.unassigned) == (items[0].queue, 3, 1)
    # First assessments are due in 3 days: opened 6 and 4 days ago, two are late; 2 days ago, due
    # this week.
    assert (queue.overdue, queue.due_this_week, queue.oldest_days) == (2, 1, 6.0)
    [mine] = workers
    assert (mine.key, mine.label, mine.open) == (str(worker.id), worker.display_name, 2)
    assert (mine.overdue, mine.due_this_week, mine.unassigned, mine.oldest_days) == (2, 0, 0, 6.0)

    # Another agency's supervisor sees none of it.
    other = flow.oversee("demo-supervisor", "child-center")
    assert workload.workload(other) == ([], [])
