"""Scope keys: how a case comes into a supervisor's view, written on the read model's rows and
asked for by each view.

A case has the key ``a:<agency id>`` for each agency on it (intake, primary), and one per queue of
its open work: ``g:<queue>`` a group queue, ``o:<queue>`` the queue of an agency on the case (both
carrying no 支援会議 material), ``r:<queue>`` any other (another agency's queue, or material). A
supervisor's view takes the rows of their ``a:``, ``g:`` and ``o:`` keys as they are (whoever
oversees that agency or queue may open the case) and asks ``access.case_filter`` of the rows of
their ``r:`` keys: exactly the cases of their scope they may open (a test holds the two equal)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    exists,
    literal,
    select,
    union,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Agency, Case, CaseKey, WorkItem
from app.services import access, memo, queues
from app.services.supervision.view import Frame


def of_cases(column: Any, case_ids: Sequence[int] | None) -> list[ColumnElement[bool]]:
    """The condition "of these cases" (none: of every case)."""
    return [] if case_ids is None else [column.in_(case_ids)]


def item_key() -> Any:
    """SQL over ``WorkItem``: the key its queue gives its case (``g:``, ``o:`` or ``r:``)."""
    agency_queue = WorkItem.queue.startswith(queues.agency_queue(""), autoescape=True)
    holder = aliased(Case, name="holder")
    own_queue = (
        select(Agency.id)
        .join(holder, Agency.id.in_((holder.intake_agency_id, holder.primary_agency_id)))
        .where(
            holder.id == WorkItem.case_id,
            WorkItem.queue == literal(queues.agency_queue("")) + Agency.code,
        )
        .exists()
    )
    prefix = case(
        (WorkItem.council_material.is_(True), literal("r:")),
        (and_(agency_queue, own_queue), literal("o:")),
        (agency_queue, literal("r:")),
        else_=literal("g:"),
    )
    return prefix + WorkItem.queue


def scope_keys(case_ids: Sequence[int] | None = None) -> Select[Any]:
    """(case_id, scope_key), each once, for these cases (None: every case)."""

    def agency(column: Any) -> Select[Any]:
        return select(
            Case.id.label("case_id"), (literal("a:") + sql_cast(column, String)).label("scope_key")
        ).where(column.is_not(None), *of_cases(Case.id, case_ids))

    work = select(WorkItem.case_id, item_key()).where(
        WorkItem.status == "open",
        WorkItem.case_id.is_not(None),
        *of_cases(WorkItem.case_id, case_ids),
    )
    return union(agency(Case.intake_agency_id), agency(Case.primary_agency_id), work)


@dataclass
class ViewKeys:
    """The keys of one view. Rows about a piece of work carry one key, their queue's; rows about
    a case as a whole carry every key of the case."""

    case_plain: list[str]  # case rows in view as they are
    item_plain: list[str]  # work rows in view as they are
    asked: list[str]  # rows (of either kind) whose case ``case_filter`` decides
    agency_id: int | None  # the agency filter: work rows only of cases it holds


def of_frame(frame: Frame) -> ViewKeys:
    """The keys of a view. A queue filter leaves out what is there only because an overseen
    agency holds it; an agency filter, what is there through a queue (work in a queue of the
    scope is still listed for a case that agency holds)."""
    agencies = set(frame.scope.agency_ids)
    if frame.agency_id is not None:
        agencies &= {frame.agency_id}
    item_queues = set(frame.scope.queues)
    if frame.queue:
        item_queues &= {frame.queue}
        agencies = set()
    groups = item_queues & frame.scope.group_queues
    item_plain = [f"g:{queue}" for queue in sorted(groups)]
    item_plain += [f"o:{queue}" for queue in sorted(item_queues - groups)]
    case_plain = [f"a:{agency}" for agency in sorted(agencies)]
    if frame.agency_id is None:
        # Work in an agency's own queue: already in through the agency, unless a filter left it out.
        held_by = {queues.agency_queue(code) for code in _codes(agencies)}
        case_plain += [f"g:{queue}" for queue in sorted(groups)]
        case_plain += [f"o:{queue}" for queue in sorted(item_queues - groups - held_by)]
    return ViewKeys(
        case_plain=case_plain,
        item_plain=item_plain,
        asked=[f"r:{queue}" for queue in sorted(item_queues)],
        agency_id=frame.agency_id,
    )


def _codes(agency_ids: set[int]) -> list[str]:
    if not agency_ids:
        return []
    wanted = sorted(agency_ids)
    return memo.remembered(
        ("agency codes", tuple(wanted)),
        lambda: list(db.session.scalars(select(Agency.code).where(Agency.id.in_(wanted)))),
        Agency,
    )


def keyed(
    frame: Frame, rows: Any, columns: list[Any], *conditions: ColumnElement[bool]
) -> tuple[list[Select[Any]], list[Select[Any]]]:
    """SELECTs of a keyed read-model table's rows in the frame's view: (of work rows, of rows
    about a case as a whole). A work row (``item_id`` set) comes once; a case row once per key
    of the case in view (the same thing may come more than once: the caller counts each once)."""
    keys = of_frame(frame)
    work = [rows.item_id.is_not(None)]
    if keys.agency_id is not None:
        work.append(
            exists().where(
                CaseKey.case_id == rows.case_id, CaseKey.scope_key == f"a:{keys.agency_id}"
            )
        )
    whole = [rows.item_id.is_(None)]
    allowed = exists(
        select(Case.id).where(Case.id == rows.case_id, access.case_filter(frame.actor))
    )
    found: tuple[list[Select[Any]], list[Select[Any]]] = ([], [])
    for parts, plain, kind in (
        (found[0], keys.item_plain, work),
        (found[1], keys.case_plain, whole),
    ):
        if plain:
            parts.append(select(*columns).where(rows.scope_key.in_(plain), *kind, *conditions))
        if keys.asked and (kind is work or frame.agency_id is None):
            parts.append(
                select(*columns).where(rows.scope_key.in_(keys.asked), *kind, *conditions, allowed)
            )
    return found


def visible(frame: Frame) -> Select[tuple[int]]:
    """The ids of the cases in the frame's view (as an IN list: each once)."""
    keys = of_frame(frame)
    parts = []
    if keys.case_plain:
        parts.append(select(CaseKey.case_id).where(CaseKey.scope_key.in_(keys.case_plain)))
    if keys.asked and frame.agency_id is None:
        allowed = select(Case.id).where(Case.id == CaseKey.case_id, access.case_filter(frame.actor))
        parts.append(
            select(CaseKey.case_id).where(CaseKey.scope_key.in_(keys.asked), exists(allowed))
        )
    if not parts:
        return select(Case.id).where(Case.id.is_(None))
    return union(*parts) if len(parts) > 1 else parts[0]  # type: ignore[return-value]
