"""Scope keys: how a case comes into a supervisor's view, written on the read model's rows and
asked for by each view.

A case has the key ``a:<agency id>`` for each agency on it (intake, primary), and one per queue of
its open work: ``g:<queue>`` a group queue, ``o:<queue>`` the queue of an agency on the case (both
carrying no 支援会議 material), ``r:<queue>`` any other (another agency's queue, or material). A
supervisor's view takes the rows of their ``a:``, ``g:`` and ``o:`` keys as they are (whoever
oversees that agency or queue may open the case) and asks ``access.case_filter`` of the rows of
their ``r:`` keys: exactly the cases of their scope they may open (a test holds the two equal).
Rows about a piece of work carry their queue's key; rows about a case as a whole carry the key of
the case's set of keys (``s:<KeySet id>``), once: a view reads the sets holding one of its keys."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    select,
    union,
    union_all,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Agency, Case, CaseKey, KeySet, KeySetMember, WorkItem
from app.services import access, memo, queues
from app.services.supervision.view import Frame

# A key set's key (``s:<KeySet id>``), and the range of such keys (':' + 1 is ';').
SET, SETS_END = "s:", "s;"
# The key sets in a view, bound when a statement runs (``bound``): those holding one of the
# view's keys, and those holding only keys whose cases ``access.case_filter`` decides.
CASE_SETS, ASKED_SETS = "case_sets", "asked_sets"


def in_sets(column: Any, sets: str, values: dict[str, Any] | None = None) -> ColumnElement[bool]:
    """``column`` is one of the key sets bound as ``sets`` (``CASE_SETS`` or ``ASKED_SETS``): one
    parameter however many sets (hundreds of parameters cost more to send and plan), an array on
    PostgreSQL, a JSON list on SQLite (read as a subquery, which SQLite looks up on the column's
    index even with no statistics; a long IN list it would scan the table for)."""
    given = {"value": values[sets]} if values is not None else {}
    if db.engine.dialect.name == "postgresql":
        return column == any_(bindparam(sets, type_=postgresql.ARRAY(String), **given))
    listed = func.json_each(bindparam(sets, type_=JSON(), **given)).table_valued("value")
    return column.in_(select(listed.c.value))


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


def set_keys(case_ids: Sequence[int] | None = None) -> Select[Any]:
    """(case_id, scope_key) of the cases' key sets: one row a case (None: every case)."""
    return select(CaseKey.case_id, CaseKey.scope_key).where(
        CaseKey.scope_key >= SET, CaseKey.scope_key < SETS_END, *of_cases(CaseKey.case_id, case_ids)
    )


def assign_sets(bind: Any, case_ids: Sequence[int] | None) -> None:
    """Give each of these cases (None: every case) the row of its key set, from its keys (written
    just before): the set found by its digest, or made with its members."""
    by_case: dict[int, list[str]] = {}
    for case_id, key in bind.execute(
        select(CaseKey.case_id, CaseKey.scope_key)
        .where(*of_cases(CaseKey.case_id, case_ids))
        .order_by(CaseKey.case_id, CaseKey.scope_key)
    ):
        by_case.setdefault(case_id, []).append(key)
    if not by_case:
        return
    digests = {
        case_id: hashlib.sha256("\n".join(found).encode()).hexdigest()
        for case_id, found in by_case.items()
    }
    members = {digests[case_id]: found for case_id, found in by_case.items()}
    ids = _set_ids(bind, members)
    rows = [
        {"case_id": case_id, "scope_key": f"{SET}{ids[digest]}"}
        for case_id, digest in digests.items()
    ]
    for start in range(0, len(rows), 5000):
        bind.execute(insert(CaseKey.__table__), rows[start : start + 5000])


def _set_ids(bind: Any, members: dict[str, list[str]]) -> dict[str, int]:
    """The id of the set of each digest, the missing ones made (two transactions making the same
    set at once: the unique digest keeps one, the other reads it)."""
    wanted = list(members)

    def known() -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(wanted), 500):
            found.update(
                bind.execute(
                    select(KeySet.digest, KeySet.id).where(
                        KeySet.digest.in_(wanted[start : start + 500])
                    )
                ).all()
            )
        return found

    ids = known()
    missing = [digest for digest in wanted if digest not in ids]
    if not missing:
        return ids
    engine = bind if hasattr(bind, "dialect") else bind.get_bind()  # a connection or a session
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    bind.execute(
        dialect.insert(KeySet).on_conflict_do_nothing(index_elements=["digest"]),
        [{"digest": digest} for digest in missing],
    )
    ids = known()
    bind.execute(
        dialect.insert(KeySetMember).on_conflict_do_nothing(),
        [
            {"scope_key": key, "key_set_id": ids[digest]}
            for digest in missing
            for key in members[digest]
        ],
    )
    return ids


@dataclass
class ViewKeys:
    """The keys of one view. Rows about a piece of work carry one key, their queue's; rows about
    a case as a whole are read by the key sets holding ``case_plain`` or ``asked`` keys."""

    case_plain: list[str]  # case rows in view as they are
    item_plain: list[str]  # work rows in view as they are
    asked: list[str]  # rows (of either kind) whose case ``case_filter`` decides
    agency_id: int | None  # the agency filter: work rows only of cases it holds


def of_frame(frame: Frame) -> ViewKeys:
    """The keys of a view. A queue filter leaves out what is there only because an overseen
    agency holds it; an agency filter, what is there through a queue (work in a queue of the
    scope is still listed for a case that agency holds). Keys asked of ``case_filter`` that no
    case has (no key set holds them) are left out: their part of a statement, with its access
    conditions, would only cost planning."""
    keys = _of_frame(frame)
    if keys.asked:
        asked = set(keys.asked)
        if not any(key in asked for key, _ in _members(keys)):
            keys = replace(keys, asked=[])
    return keys


def shape(frame: Frame) -> tuple[Any, ...]:
    """What a view's statement is built for: the frame's standing, and whether it asks
    ``case_filter`` of any rows."""
    return (frame.standing(), bool(of_frame(frame).asked))


def _members(keys: ViewKeys) -> list[tuple[str, int]]:
    """(key, key set) of every set holding one of the view's keys, read once per request (sets
    are never removed, so a key may be held by a set no case has any more)."""
    wanted = [*keys.case_plain, *keys.asked]
    if not wanted:
        return []
    return memo.remembered(
        ("key set members", tuple(wanted)),
        lambda: list(
            db.session.execute(
                select(KeySetMember.scope_key, KeySetMember.key_set_id).where(
                    KeySetMember.scope_key.in_(wanted)
                )
            )
        ),
        KeySet,
    )


def _of_frame(frame: Frame) -> ViewKeys:
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
    allowed = exists(
        select(Case.id).where(Case.id == rows.case_id, access.case_filter(frame.actor))
    )
    found: tuple[list[Select[Any]], list[Select[Any]]] = ([], [])
    if keys.item_plain:
        found[0].append(
            select(*columns).where(rows.scope_key.in_(keys.item_plain), *work, *conditions)
        )
    if keys.asked:
        found[0].append(
            select(*columns).where(rows.scope_key.in_(keys.asked), *work, *conditions, allowed)
        )
    # Rows about a case as a whole carry its key set's key: each comes once.
    if keys.case_plain:
        found[1].append(select(*columns).where(in_sets(rows.scope_key, CASE_SETS), *conditions))
    if keys.asked and frame.agency_id is None:
        found[1].append(
            select(*columns).where(in_sets(rows.scope_key, ASKED_SETS), *conditions, allowed)
        )
    return found


def bound(frame: Frame) -> dict[str, Any]:
    """The values a view's statement is run with: the frame's moments and the key sets in view
    (``CASE_SETS``, ``ASKED_SETS``), read once per request."""
    keys = of_frame(frame)
    plain_keys = set(keys.case_plain)
    asked = set(keys.asked if frame.agency_id is None else [])
    plain: set[int] = set()
    others: set[int] = set()
    for key, set_id in _members(_of_frame(frame)):
        if key in plain_keys:
            plain.add(set_id)
        elif key in asked:
            others.add(set_id)
    return {
        **frame.bound(),
        "case_sets": [f"{SET}{i}" for i in sorted(plain)],
        "asked_sets": [f"{SET}{i}" for i in sorted(others - plain)],
    }


def visible(frame: Frame, values: dict[str, Any] | None = None) -> Select[tuple[int]]:
    """The ids of the cases in the frame's view, each once (by their key sets: run with
    ``bound``, or given its ``values`` to hold)."""
    keys = of_frame(frame)
    parts = []
    if keys.case_plain:
        parts.append(select(CaseKey.case_id).where(in_sets(CaseKey.scope_key, CASE_SETS, values)))
    if keys.asked and frame.agency_id is None:
        allowed = select(Case.id).where(Case.id == CaseKey.case_id, access.case_filter(frame.actor))
        parts.append(
            select(CaseKey.case_id).where(
                in_sets(CaseKey.scope_key, ASKED_SETS, values), exists(allowed)
            )
        )
    if not parts:
        return select(Case.id).where(Case.id.is_(None))
    return union_all(*parts) if len(parts) > 1 else parts[0]  # type: ignore[return-value]
