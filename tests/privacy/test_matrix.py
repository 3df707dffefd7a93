"""The permission matrix: every demo role against every action on a case, its open task, the work
list, the audit trail (search, 本人開示 export) and 支援会議 material, through the pages, the JSON API
and the services.

Each cell opens one case at the elderly window (demo-elderly) without consent; its first task
(``first_assessment``) waits in ``agency:elderly-center``. The expected outcome of each cell is written
out below from domain.md ("The two meetings, and who may see what", "Roles") and app/services/access.py:

- Own window: only the staff of the agencies on the case (and whoever holds one of its tasks in their
  queues) see it. No referral has been made and there is no consent, so no other window, no group
  (多機関協働, アウトリーチ, 参加支援, 支援会議, 市町村, スーパーバイザー) sees it yet. The demo supervisor
  is the 係長 of the welfare division, not of the elderly window, so the case is not theirs either.
- Content-less roles (地域づくり, 支援会議 member, statistician, admin, process designer, auditor) never
  see case content or work items.
- A refusal to read a case or a task is a 404 with no hint that the record exists, and is audited.
- Only auditors search the audit trail or export a person's record (a refusal there is a 403: the
  trail's existence is no secret), and the refusal is audited too.
- 支援会議 material: the chair (supervisor) and the selected members who signed the pledge only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from app.extensions import db
from app.models import AuditEvent, Case, FormSubmission, Meeting, WorkItem
from app.services import access, council, definitions, disclosure, users
from app.services import demo as demo_service
from app.services.errors import ServiceError
from tests.conftest import ServerLikeClient, _wipe
from tests.harness import ROOT, Flow, first_assessment
from tests.web.support import csrf_from, log_in

TITLE = "【テスト】権限表のケース 母の介護と息子の無職"
COUNCIL_SECRET = "近隣から、夜間に大きな物音がすると情報提供あり"

# Role → demo user (app/services/demo.py: one user per role).
ROLES = {
    "owning_window": "demo-elderly",
    "other_window": "demo-child",
    "coordinator": "demo-coordinator",
    "outreach": "demo-outreach",
    "participation": "demo-participation",
    "community": "demo-community",
    "council_member": "demo-council",
    "supervisor": "demo-supervisor",
    "decision_officer": "demo-decision",
    "statistician": "demo-statistician",
    "admin": "demo-admin",
    "process_designer": "demo-designer",
    "auditor": "demo-auditor",
}

ACTIONS = (
    "case_page",  # GET /cases/<id>
    "case_diagram",  # GET /cases/<id>/diagram.bpmn
    "case_api",  # GET /api/v1/cases/<id>
    "task_page",  # GET /tasks/<id>
    "task_api",  # GET /api/v1/work-items/<id>
    "complete_page",  # POST /tasks/<id>
    "complete_api",  # POST /api/v1/work-items/<id>/complete
    "claim_page",  # POST /work-items/<id>/claim
    "claim_api",  # POST /api/v1/work-items/<id>/claim
    "list_api",  # GET /api/v1/work-items
    "audit_search",  # app.services.disclosure.search
    "audit_page",  # GET /audit?person=<id>
    "disclosure_page",  # GET /audit/persons/<id>/disclosure.json (本人開示)
    "council_material",  # app.services.council.material
    "council_page",  # GET /council/<meeting id>
)


def row(*statuses: int) -> dict[str, int]:
    assert len(statuses) == len(ACTIONS)
    return dict(zip(ACTIONS, statuses, strict=True))


HIDDEN = row(404, 404, 404, 404, 404, 404, 404, 404, 404, 200, 403, 403, 403, 404, 404)

# fmt: off
EXPECTED: dict[str, dict[str, int]] = {
    #                   case: page diagram api  task: page api  complete: page api  claim: page api  list  audit: search page export  council: material page
    "owning_window":    row(200, 200, 200,      200, 200,       302, 200,           302, 200,        200,  403, 403, 403,              404, 404),
    "other_window":     HIDDEN,
    "coordinator":      HIDDEN,
    "outreach":         HIDDEN,
    "participation":    HIDDEN,
    "community":        HIDDEN,
    "council_member":   row(404, 404, 404,      404, 404,       404, 404,           404, 404,        200,  403, 403, 403,              200, 200),
    "supervisor":       row(404, 404, 404,      404, 404,       404, 404,           404, 404,        200,  403, 403, 403,              200, 200),
    "decision_officer": HIDDEN,
    "statistician":     HIDDEN,
    "admin":            HIDDEN,
    "process_designer": HIDDEN,
    "auditor":          row(404, 404, 404,      404, 404,       404, 404,           404, 404,        200,  200, 200, 200,              404, 404),
}
# fmt: on

# What GET /api/v1/work-items lists for each role, with three open tasks on three cases:
# "owning" (the matrix case, agency:elderly-center), "child" (a case taken in at the child window,
# agency:child-center) and "coordination" (a consented case passed to 多機関協働, queue coordination).
LISTED: dict[str, set[str]] = {role: set() for role in ROLES}
LISTED.update(
    owning_window={"owning"},
    other_window={"child"},
    coordinator={"coordination"},
    supervisor={"coordination"},  # a member of the coordination group
)

# The audit action a refusal is recorded under, per action.
DENIAL_ACTION = {
    "case_page": "case.view",
    "case_diagram": "case.view",
    "case_api": "case.view",
    "task_page": "work_item.view",
    "task_api": "work_item.view",
    "complete_page": "work_item.view",
    "complete_api": "work_item.view",
    "claim_page": "work_item.view",
    "claim_api": "work_item.view",
    "audit_search": "audit.search",
    "audit_page": "audit.search",
    "disclosure_page": "disclosure.export",
    "council_material": "council.material",
    "council_page": "council.material",
}


def test_the_table_covers_every_role_and_action() -> None:
    assert set(EXPECTED) == set(ROLES) == set(LISTED)
    assert all(set(cells) == set(ACTIONS) for cells in EXPECTED.values())
    # Reading a case or a task is refused as "not found", never "forbidden".
    reads = [a for a in ACTIONS if a.startswith(("case_", "task_", "complete_", "claim_"))]
    assert {EXPECTED[r][a] for r in ROLES for a in reads} <= {200, 302, 404}


class World:
    """Demo users and the real processes, deployed once per backend; every cell opens its own case
    (so a completion or a claim in one cell cannot change another) and clients are made per role
    when first asked for."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.flow = Flow(clock=None)
        self._tokens: dict[str, dict[str, str]] = {}
        self._web: dict[str, FlaskClient] = {}
        self._meeting: int | None = None

    def open_matrix_case(self) -> Cell:
        case = self.flow.open_case("demo-elderly", TITLE)
        [item] = self.flow.open_items()
        assert (item.element_id, item.queue) == ("first_assessment", "agency:elderly-center")
        last = db.session.scalar(select(func.max(AuditEvent.id))) or 0
        return Cell(self, case.id, item.id, case.number, case.person_id, last)

    def api(self, username: str) -> tuple[FlaskClient, dict[str, str]]:
        if username not in self._tokens:
            token = users.create_token(self.flow.user(username), "matrix")
            self._tokens[username] = {"Authorization": f"Bearer {token}"}
        client = ServerLikeClient(self.app, self.app.response_class, use_cookies=False)
        return client, self._tokens[username]

    def web(self, username: str) -> FlaskClient:
        if username not in self._web:
            client = ServerLikeClient(self.app, self.app.response_class, use_cookies=True)
            assert log_in(client, username).status_code == 302
            self._web[username] = client
        return self._web[username]

    def csrf(self, username: str) -> str:
        return csrf_from(self.web(username).get("/"))

    def meeting(self) -> int:
        """A 支援会議 about a case without consent, chaired by the supervisor; demo-council is
        selected as a member and signs the pledge (made once, when first needed)."""
        if self._meeting is None:
            flow = self.flow
            flow.open_case("demo-elderly", "【テスト】支援会議で扱うケース")
            flow.complete(
                "first_assessment",
                "demo-elderly",
                first_assessment("coordination", consent="not_given"),
            )
            flow.complete(
                "support_council",
                "demo-supervisor",
                {
                    "meeting_date": flow.today(),
                    "members_present": ["福祉総務課 係長", "民生委員"],
                    "all_members_pledged": True,
                    "shared_summary": COUNCIL_SECRET,
                    "council_course": "outreach",
                    "revisit_after": "P14D",
                },
            )
            meeting = db.session.scalars(
                select(Meeting).where(Meeting.kind == "support_council")
            ).one()
            council.select_members(meeting.id, flow.user("demo-supervisor"), ["demo-council"])
            council.sign_pledge(meeting.id, flow.user("demo-council"))
            self._meeting = meeting.id
        return self._meeting


@dataclass
class Cell:
    """One cell's own case and its open first task; audit events after ``last_event`` are the cell's."""

    world: World
    case_id: int
    item_id: int
    number: str
    person_id: int
    last_event: int

    @property
    def flow(self) -> Flow:
        return self.world.flow

    def item_now(self) -> WorkItem:
        db.session.expire_all()
        return db.session.get(WorkItem, self.item_id)

    def events(self, username: str, action: str, outcome: str) -> list[AuditEvent]:
        db.session.expire_all()
        return list(
            db.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.id > self.last_event,
                    AuditEvent.actor_name == username,
                    AuditEvent.action == action,
                    AuditEvent.outcome == outcome,
                )
            )
        )


@pytest.fixture(scope="module")
def world(app: Flask) -> Iterator[World]:
    """Like the ``flow`` fixture, but once per backend for the whole table (deploying the processes
    and loading the demo users per cell would make ~200 cells take well over a minute)."""
    with app.app_context():
        _wipe()
        demo_service.load_demo_users()
        definitions.deploy([str(ROOT / "processes")], str(ROOT / "forms"))
        yield World(app)
        db.session.rollback()
        _wipe()
        db.session.remove()


# Each action: (cell, username) → the status it got (HTTP status, or a service error's status).
Action = Callable[["Cell", str], int]


def _status(response: TestResponse, *, api: bool) -> int:
    if api and response.status_code >= 400:
        error = response.get_json()["error"]
        assert set(error) >= {"code", "message"}, error
    if response.status_code == 404:
        # No hint that the record exists: neither a case number nor the title appears.
        body = response.get_data(as_text=True)
        assert "K-20" not in body and "権限表のケース" not in body
        if api:
            assert response.get_json()["error"]["code"] == "not_found"
    return response.status_code


def case_page(cell: Cell, username: str) -> int:
    page = cell.world.web(username).get(f"/cases/{cell.case_id}")
    if page.status_code == 200:
        assert cell.number in page.get_data(as_text=True)
    return _status(page, api=False)


def case_diagram(cell: Cell, username: str) -> int:
    xml = cell.world.web(username).get(f"/cases/{cell.case_id}/diagram.bpmn")
    if xml.status_code == 200:
        assert xml.mimetype == "application/xml" and b"first_assessment" in xml.data
    return _status(xml, api=False)


def case_api(cell: Cell, username: str) -> int:
    client, headers = cell.world.api(username)
    got = client.get(f"/api/v1/cases/{cell.case_id}", headers=headers)
    if got.status_code == 200:
        body = got.get_json()
        assert body["number"] == cell.number
        assert [i["id"] for i in body["work_items"]] == [cell.item_id]
    return _status(got, api=True)


def task_page(cell: Cell, username: str) -> int:
    page = cell.world.web(username).get(f"/tasks/{cell.item_id}")
    if page.status_code == 200:
        assert 'name="decision"' in page.get_data(as_text=True)
    return _status(page, api=False)


def task_api(cell: Cell, username: str) -> int:
    client, headers = cell.world.api(username)
    got = client.get(f"/api/v1/work-items/{cell.item_id}", headers=headers)
    if got.status_code == 200:
        assert got.get_json()["element_id"] == "first_assessment"
    return _status(got, api=True)


def complete_page(cell: Cell, username: str) -> int:
    form = {
        "csrf_token": cell.world.csrf(username),
        "main_complaint": "母の介護と息子の無職",
        "urgency": "medium",
        "decision": "window",
    }
    sent = cell.world.web(username).post(f"/tasks/{cell.item_id}", data=form)
    _check_completion(cell, username, sent.status_code == 302)
    return _status(sent, api=False)


def complete_api(cell: Cell, username: str) -> int:
    client, headers = cell.world.api(username)
    sent = client.post(
        f"/api/v1/work-items/{cell.item_id}/complete",
        json=first_assessment("window"),
        headers=headers,
    )
    if sent.status_code == 200:
        assert sent.get_json()["status"] == "completed"
    _check_completion(cell, username, sent.status_code == 200)
    return _status(sent, api=True)


def _check_completion(cell: Cell, username: str, done: bool) -> None:
    item = cell.item_now()
    submissions = db.session.scalars(
        select(FormSubmission).where(FormSubmission.work_item_id == cell.item_id)
    ).all()
    if done:
        assert item.status == "completed" and item.completed_by_id == cell.flow.user(username).id
        assert len(submissions) == 1
        assert {i.element_id for i in cell.flow.open_items()} == {"window_support"}
    else:
        assert item.status == "open" and item.assignee_id is None and submissions == []


def claim_page(cell: Cell, username: str) -> int:
    form = {"csrf_token": cell.world.csrf(username), "next": "/inbox"}
    sent = cell.world.web(username).post(f"/work-items/{cell.item_id}/claim", data=form)
    _check_claim(cell, username, sent.status_code == 302)
    return _status(sent, api=False)


def claim_api(cell: Cell, username: str) -> int:
    client, headers = cell.world.api(username)
    sent = client.post(f"/api/v1/work-items/{cell.item_id}/claim", headers=headers)
    if sent.status_code == 200:
        assert sent.get_json()["assignee"] == username
    _check_claim(cell, username, sent.status_code == 200)
    return _status(sent, api=True)


def _check_claim(cell: Cell, username: str, claimed: bool) -> None:
    item = cell.item_now()
    assert item.status == "open"
    assert item.assignee_id == (cell.flow.user(username).id if claimed else None)


def list_api(cell: Cell, username: str) -> int:
    """Two more cases, all three titled with a marker only this cell uses, so ``q`` finds just them."""
    flow = cell.flow
    marker = f"一覧{cell.case_id}番"
    labels = {cell.item_id: "owning"}
    db.session.get(Case, cell.case_id).title = f"{TITLE} {marker}"
    db.session.commit()
    flow.open_case("demo-child", f"【テスト】こども窓口のケース {marker}")
    [child_item] = flow.open_items()
    labels[child_item.id] = "child"
    flow.open_case("demo-poverty", f"【テスト】多機関協働へつないだケース {marker}", consent=True)
    flow.complete(
        "first_assessment", "demo-poverty", first_assessment("coordination", consent="given")
    )
    [coordination_item] = flow.open_items()
    assert coordination_item.queue == "coordination"
    labels[coordination_item.id] = "coordination"

    client, headers = cell.world.api(username)
    got = client.get("/api/v1/work-items", query_string={"q": marker}, headers=headers)
    assert got.status_code == 200, got.get_json()
    body = got.get_json()
    listed = [i["id"] for i in body["items"]]
    assert body["total"] == len(listed)
    role = next(r for r, u in ROLES.items() if u == username)
    assert {labels.get(i, f"unexpected item {i}") for i in listed} == LISTED[role]

    # Without a filter too: whatever is listed, the role may open, on a case it may see.
    actor = flow.user(username)
    everything = client.get("/api/v1/work-items?per_page=100", headers=headers).get_json()
    for shown in everything["items"]:
        item = db.session.get(WorkItem, shown["id"])
        assert access.may_work_on(actor, item)
        assert access.may_see_case(actor, db.session.get(Case, item.case_id))
    if access.NO_CASE_CONTENT & {actor.role}:
        assert everything["total"] == 0
    # Asking for a queue that is not one's own reveals nothing either.
    if username != "demo-elderly":
        other = client.get("/api/v1/work-items?queue=agency:elderly-center", headers=headers)
        assert other.status_code == 404 or other.get_json()["total"] == 0
    return got.status_code


def audit_search(cell: Cell, username: str) -> int:
    try:
        found = disclosure.search(cell.flow.user(username), disclosure.AuditQuery())
    except ServiceError as exc:
        return exc.status
    assert any(e.action == "case.create" and e.case_id == cell.case_id for e in found)
    return 200


def audit_page(cell: Cell, username: str) -> int:
    page = cell.world.web(username).get(f"/audit?person={cell.person_id}")
    if page.status_code == 200:
        assert "case.create" in page.get_data(as_text=True)
    return _status(page, api=False)


def disclosure_page(cell: Cell, username: str) -> int:
    export = cell.world.web(username).get(f"/audit/persons/{cell.person_id}/disclosure.json")
    if export.status_code == 200:
        assert [c["number"] for c in export.get_json()["cases"]] == [cell.number]
        assert "attachment" in export.headers["Content-Disposition"]
    return _status(export, api=False)


def council_page(cell: Cell, username: str) -> int:
    meeting_id = cell.world.meeting()
    cell.last_event = db.session.scalar(select(func.max(AuditEvent.id))) or 0
    page = cell.world.web(username).get(f"/council/{meeting_id}")
    assert (COUNCIL_SECRET in page.get_data(as_text=True)) == (page.status_code == 200)
    return _status(page, api=False)


def council_material(cell: Cell, username: str) -> int:
    meeting_id = cell.world.meeting()
    cell.last_event = db.session.scalar(select(func.max(AuditEvent.id))) or 0
    try:
        shown = council.material(meeting_id, cell.flow.user(username))
    except ServiceError as exc:
        return exc.status
    assert shown["material"]["shared_summary"] == COUNCIL_SECRET
    return 200


RUN: dict[str, Action] = {
    "case_page": case_page,
    "case_diagram": case_diagram,
    "case_api": case_api,
    "task_page": task_page,
    "task_api": task_api,
    "complete_page": complete_page,
    "complete_api": complete_api,
    "claim_page": claim_page,
    "claim_api": claim_api,
    "list_api": list_api,
    "audit_search": audit_search,
    "audit_page": audit_page,
    "disclosure_page": disclosure_page,
    "council_material": council_material,
    "council_page": council_page,
}


# What an allowed action leaves in the audit trail (domain.md: every view and change of personal data).
OK_AUDIT = {
    "case_page": "case.view",
    "case_diagram": "case.view",
    "case_api": "case.view",
    "task_page": "work_item.view",  # the page shows the case's title and the saved draft
    "task_api": None,  # the task's own fields only (its name, queue, dates): no personal data
    "complete_page": "work_item.complete",
    "complete_api": "work_item.complete",
    "claim_page": "work_item.claim",
    "claim_api": "work_item.claim",
    "audit_search": "audit.search",
    "audit_page": "audit.search",
    "disclosure_page": "disclosure.export",
    "council_material": "council.material",
    "council_page": "council.material",
}


def _cells() -> list[object]:
    cells = []
    for role in ROLES:
        for action in ACTIONS:
            cells.append(pytest.param(role, action, id=f"{role}-{action}"))
    return cells


@pytest.mark.parametrize(("role", "action"), _cells())
def test_matrix(world: World, role: str, action: str) -> None:
    cell = world.open_matrix_case()
    username = ROLES[role]
    expected = EXPECTED[role][action]

    got = RUN[action](cell, username)

    assert got == expected, f"{role} ({username}) {action}: got {got}, expected {expected}"
    if action == "list_api":
        return
    audited = DENIAL_ACTION[action]
    denials = cell.events(username, audited, "denied")
    if expected in (403, 404):
        assert len(denials) == 1, f"the refusal of {action} to {username} is not audited once"
        if audited == "case.view":
            assert (denials[0].object_id, denials[0].case_id) == (str(cell.case_id), cell.case_id)
        if audited == "work_item.view":
            assert (denials[0].object_id, denials[0].case_id) == (str(cell.item_id), cell.case_id)
        return
    assert denials == []
    trail = OK_AUDIT[action]
    if trail is None:
        return
    done = cell.events(username, trail, "ok")
    assert done, f"{action} by {username} left no {trail} event in the audit trail"
    if trail in ("case.view", "work_item.view", "work_item.complete", "work_item.claim"):
        assert {e.case_id for e in done} == {cell.case_id}
