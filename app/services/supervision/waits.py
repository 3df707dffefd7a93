"""Where cases wait now, for the heatmap: every open work item and every waiting catch event of a
case, with its process, element, since when and until when. ``readmodel`` writes them into
``WaitEntry`` (open work with its queue's key, a catch event with its case's key set's) as each
change commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, String, literal, null, select, union_all
from sqlalchemy import cast as sql_cast

from app.models import WaitingEvent, WorkItem
from app.services.supervision.keys import item_key, of_cases, set_keys

COLUMNS = (
    "case_id",
    "kind",
    "source_id",
    "process_key",
    "element_id",
    "since",
    "due_at",
    "item_id",
    "queue",
)


def entries(case_ids: Sequence[int] | None = None) -> Select[Any]:
    """Every wait of the cases (all cases: None): open work once, with its queue's key; a catch
    event once, with the key of its case's key set."""
    items = select(
        *_named(
            WorkItem.case_id,
            literal("item", String(10)),
            WorkItem.id,
            WorkItem.process_key,
            WorkItem.element_id,
            WorkItem.created_at,
            WorkItem.due_at,
            WorkItem.id,
            WorkItem.queue,
        )
    ).where(
        WorkItem.status == "open",
        WorkItem.case_id.is_not(None),
        *of_cases(WorkItem.case_id, case_ids),
    )
    events = select(
        *_named(
            WaitingEvent.case_id,
            literal("event", String(10)),
            WaitingEvent.id,
            WaitingEvent.process_key,
            WaitingEvent.element_id,
            WaitingEvent.since,
            WaitingEvent.due_at,
            sql_cast(null(), WorkItem.id.type),
            sql_cast(null(), String(80)),
        )
    ).where(WaitingEvent.case_id.is_not(None), *of_cases(WaitingEvent.case_id, case_ids))
    work = items.add_columns(item_key().label("scope_key")).subquery("work")
    waits = events.subquery("waits")
    keys = set_keys(case_ids).subquery("keys")
    return union_all(
        select(work.c.scope_key, *(work.c[name] for name in COLUMNS)),
        select(keys.c.scope_key, *(waits.c[name] for name in COLUMNS)).join(
            keys, keys.c.case_id == waits.c.case_id
        ),
    )


def _named(*columns: Any) -> list[Any]:
    return [column.label(name) for column, name in zip(columns, COLUMNS, strict=True)]
