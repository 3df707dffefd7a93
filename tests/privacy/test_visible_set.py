"""The set of cases the supervisors' views read (``keys.visible``, from the scope keys kept on the
read model) is exactly their
scope within what ``access.case_filter`` admits, over a world drawn at random: cases held
by windows, referrals in every status with and without consent (standing or withdrawn) or under an
override, work in agency and group queues in every status, 支援会議 material, work assigned to or
completed by one person, and supervisors with and without an explicit scope."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from sqlalchemy import exists, false, insert, or_, select, union, union_all

from app.extensions import db
from app.models import (
    Agency,
    Case,
    Consent,
    Group,
    Membership,
    ProcessInstance,
    Referral,
    StallEntry,
    SupervisorScope,
    User,
    WaitEntry,
    WorkItem,
)
from app.models.base import utcnow
from app.services import access, definitions
from app.services.supervision import keys, readmodel, view
from app.services.supervision import scope as scopes
from tests.harness import ROOT

AGENCIES, GROUPS, CASES = 4, 3, 120
# Rows get ids of their own, far above what the tables' sequences hand out to other tests' rows
# (an id a sequence gave out earlier in the run would collide).
BASE = 9_000_000
ROLES = ("window_worker", "coordinator", "supervisor", "supervisor", "council_member", "admin")


def _world(seed: int, ctx: Flask) -> list[User]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    definitions.deploy([str(ROOT / "processes")], str(ROOT / "forms"))
    definition_id = definitions.latest("support_case").id
    db.session.execute(insert(Agency), [
        {"id": BASE + a, "code": f"w{a}", "name": f"窓口{a}", "kind": "other"} for a in range(AGENCIES)
    ])  # fmt: skip
    db.session.execute(insert(Group), [
        {"id": BASE + g, "key": f"g{g}", "name": f"グループ{g}"} for g in range(GROUPS)
    ])  # fmt: skip
    people = [
        {"id": BASE + u, "username": f"p{u}", "display_name": f"人{u}", "password_hash": "x",
         "role": ROLES[u % len(ROLES)], "active": u != 13, "is_demo": False, "created_at": now,
         "agency_id": BASE + u % AGENCIES if u % 5 else None}
        for u in range(24)
    ]  # fmt: skip
    db.session.execute(insert(User), people)
    db.session.execute(insert(Membership), [
        {"user_id": BASE + u, "group_id": BASE + g}
        for u in range(24) for g in range(GROUPS) if rng.random() < 0.4
    ])  # fmt: skip
    scopes = []
    for person in people:
        if person["role"] == "supervisor" and person["id"] % 3:
            scopes += [{"user_id": person["id"], "agency_id": BASE + rng.randrange(AGENCIES)}]
            scopes += [{"user_id": person["id"], "queue": f"g{rng.randrange(GROUPS)}"}]
    if scopes:
        db.session.execute(insert(SupervisorScope), [
            {"agency_id": None, "queue": None, **row} for row in scopes
        ])  # fmt: skip
    agency = lambda: BASE + rng.randrange(AGENCIES)  # noqa: E731
    db.session.execute(insert(Case), [
        {"id": BASE + c, "number": f"T-{seed}-{c:04d}", "title": f"ケース{c}", "status": "open",
         "stage": "intake", "intake": {}, "created_at": now, "cycle": 1,
         "intake_agency_id": agency() if rng.random() < 0.8 else None,
         "primary_agency_id": agency() if rng.random() < 0.5 else None}
        for c in range(CASES)
    ])  # fmt: skip
    db.session.execute(insert(Referral), [
        {"case_id": BASE + rng.randrange(CASES), "from_agency_id": agency(), "to_agency_id": agency(),
         "consent_basis": rng.choice(["consent", "consent", "override"]),
         "status": rng.choice(["sent", "accepted", "declined", "done"]), "created_at": now}
        for _ in range(60)
    ])  # fmt: skip
    db.session.execute(insert(Consent), [
        {"case_id": BASE + rng.randrange(CASES), "agencies": [], "info_kinds": [], "purposes": [],
         "given_on": date.today(), "source": "intake", "created_at": now,
         "withdrawn_on": date.today() if rng.random() < 0.4 else None}
        for _ in range(50)
    ])  # fmt: skip
    db.session.execute(insert(ProcessInstance), [
        {"id": BASE + c, "definition_id": definition_id, "case_id": BASE + c, "status": "waiting",
         "state": "{}", "lock_version": 1, "last_progress_at": now, "created_at": now, "compactions": 0}
        for c in range(CASES)
    ])  # fmt: skip
    queues = [f"agency:w{a}" for a in range(AGENCIES)] + [f"g{g}" for g in range(GROUPS)]
    items = []
    for i in range(300):
        c = rng.randrange(CASES)
        status = rng.choice(["open", "completed", "cancelled"])
        items.append({
            "id": BASE * 10 + i, "instance_id": BASE + c, "case_id": BASE + c, "task_id": uuid.UUID(int=i).hex,
            "element_id": "e", "process_key": "support_case", "title": "t", "lane": "l",
            "queue": rng.choice(queues), "form_key": None, "status": status, "priority": 50,
            "council_material": rng.random() < 0.15, "created_at": now,
            "assignee_id": BASE + rng.randrange(24) if rng.random() < 0.3 else None,
            "completed_by_id": BASE + rng.randrange(24) if status == "completed" and rng.random() < 0.5 else None,
        })  # fmt: skip
    db.session.execute(insert(WorkItem), items)
    # Loaded in bulk, past the application: its read model is filled as a migration fills it.
    readmodel.rebuild(db.session)
    db.session.commit()
    return list(db.session.scalars(select(User).where(User.id >= BASE).order_by(User.id)))


def _scoped(scope: scopes.Scope, agency_id: int | None, queue: str | None) -> set[int]:
    """By the definition: held by an overseen agency, or with open work in an overseen queue."""
    agencies = scope.agency_ids & ({agency_id} if agency_id else scope.agency_ids)
    queues = scope.queues & ({queue} if queue else scope.queues)
    held = (
        or_(Case.intake_agency_id.in_(agencies), Case.primary_agency_id.in_(agencies))
        if agencies and not queue
        else false()
    )
    worked = (
        exists().where(
            WorkItem.case_id == Case.id, WorkItem.status == "open", WorkItem.queue.in_(queues)
        )
        if queues and agency_id is None
        else false()
    )
    return set(db.session.scalars(select(Case.id).where(or_(held, worked))))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_supervisors_view_is_their_scope_within_what_they_may_open(
    ctx: Flask, demo: None, seed: int
) -> None:
    """``keys.visible`` (the set the stalled list, heatmap and flows read by scope key) is exactly the
    cases of the supervisor's scope that ``case_filter`` lets them open, with every filter."""
    people = [p for p in _world(seed, ctx) if p.role == "supervisor" and p.active]
    compared = listed_work = 0
    for person in people:
        scope = scopes.of(person)
        may_open = set(db.session.scalars(select(Case.id).where(access.case_filter(person))))
        filters = [(None, None)] + [(a, None) for a in scope.agency_ids]
        filters += [(None, q) for q in scope.queues]
        for agency_id, queue in filters:
            frame = view.Frame(
                actor=person, scope=scope, now=utcnow(), agency_id=agency_id, queue=queue
            )
            expected = _scoped(scope, agency_id, queue) & may_open
            bound = keys.bound(frame)
            assert set(db.session.scalars(keys.visible(frame), bound)) == expected, (
                person.username,
                agency_id,
                queue,
            )
            # Work rows carry their queue's key only: the open work of those cases in the
            # queues of the view, exactly (read from the wait entries, as the heatmap does).
            item_queues = scope.queues & ({queue} if queue else scope.queues)
            work = set(
                db.session.scalars(
                    select(WorkItem.id).where(
                        WorkItem.status == "open",
                        WorkItem.queue.in_(item_queues),
                        WorkItem.case_id.in_(expected),
                    )
                )
            )
            parts, _ = keys.keyed(frame, WaitEntry, [WaitEntry.item_id], WaitEntry.kind == "item")
            listed = set(db.session.scalars(union(*parts))) if parts else set()
            assert listed == work, (person.username, agency_id, queue)
            # Rows about a case as a whole come once each, for exactly the cases in view (with
            # no agency filter; with one, only the cases that agency holds).
            _, parts = keys.keyed(frame, StallEntry, [StallEntry.id, StallEntry.case_id])
            whole = db.session.execute(union_all(*parts), bound).all() if parts else []
            assert len(whole) == len({row_id for row_id, _ in whole})
            in_view = set(
                db.session.scalars(
                    select(StallEntry.case_id).where(
                        StallEntry.item_id.is_(None), StallEntry.case_id.in_(expected)
                    )
                )
            )
            assert {case_id for _, case_id in whole} == in_view, (person.username, agency_id)
            compared += len(expected)
            listed_work += len(work)
    assert compared > 0 and listed_work > 0
