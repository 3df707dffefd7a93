"""Moving running cases onto a new version of the support flow: preview in counts, then the move.

Real processes, real engine, real database. Version 2 of the flow inserts a task after the first
assessment (and renames it) and one after the outreach call activity, gives the coordination
intake ten days instead of five, removes the referral review, renames the window's timer element,
puts the support decision in the plan stage, changes the window-support form, and gives
participation matching 21 days instead of 14.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import event, select, update

from app.extensions import db
from app.models import AuditEvent, Case, ProcessDefinition, ProcessInstance, WaitingEvent, WorkItem
from app.services import definitions, settings, work_items
from app.services.design import migration as version_migration
from app.services.design.migration import ReasonCount
from app.services.errors import Forbidden, InvalidInput, NotFound
from tests.harness import ROOT, Flow, accept_and_plan, approve, first_assessment, hold_council

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}
REMOVED = {"referral_review", "referral_review_stalled", "referral_accepted", "f_referral"}
REMOVED |= {"esc_referral", "referral_ok", "referral_declined"}
RENAMED = {"window_interval": "window_next_check"}
NEW_TASK = (
    f'<bpmn:userTask xmlns:bpmn="{BPMN}" xmlns:spiffworkflow="{SPIFF}" id="%s" name="確認">'
    "<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property "
    'name="formJsonSchemaFilename" value="escalation.schema.json"/></spiffworkflow:properties>'
    "</bpmn:extensionElements></bpmn:userTask>"
)
NEW_FLOW = f'<bpmn:sequenceFlow xmlns:bpmn="{BPMN}" id="f_%s" sourceRef="%s" targetRef="%s"/>'
DECISION = {"decision_date": "2026-04-06", "decision_number": "重層-1"}
CHECKED = {"checked_on": "2026-04-06", "action": "確認した"}
COORDINATION = first_assessment("coordination", consent="given")
REFERRAL = first_assessment("referral", referral_to="poverty-center", referral_purpose="家計")
CONTINUE = {"support_content": "介護保険の申請支援", "window_outcome": "continue"}
# Where each case of version 1 waits: the steps that bring it there.
STEPS: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "A": [],  # first assessment
    "B": [("first_assessment", "demo-elderly", COORDINATION)],  # coordination intake
    "C": [("first_assessment", "demo-elderly", REFERRAL)],  # referral review
    "D": [("first_assessment", "demo-elderly", first_assessment("window"))],  # window support
    "E": [  # the window's next check, a timer
        ("first_assessment", "demo-elderly", first_assessment("window")),
        ("window_support", "demo-elderly", CONTINUE),
    ],
    "G": [("first_assessment", "demo-elderly", COORDINATION)],  # support decision, then F
}


@pytest.fixture(autouse=True)
def admins_design(flow: Flow) -> None:
    """This municipality lets administrators design (and so migrate) too."""
    settings.update("admins_may_design", True, flow.user("demo-admin"))
    db.session.commit()


def _one(root: Any, xpath: str) -> Any:
    [found] = root.xpath(xpath, namespaces=NS)
    return found


def _property(root: Any, task: str, name: str) -> Any:
    return _one(root, f"//bpmn:userTask[@id='{task}']//spiffworkflow:property[@name='{name}']")


def _insert(root: Any, after: str, flow: str, before: str, task: str, lane: str) -> None:
    """A new user task on the flow ``flow`` from ``after`` to ``before``."""
    _one(root, f"//bpmn:sequenceFlow[@id='{flow}']").set("targetRef", task)
    _one(root, f"//*[@id='{after}']").addnext(etree.fromstring(NEW_TASK % task))
    _one(root, "//bpmn:process").append(etree.fromstring(NEW_FLOW % (task, task, before)))
    etree.SubElement(_one(root, f"//bpmn:lane[@id='{lane}']"), f"{{{BPMN}}}flowNodeRef").text = task


def _version_two(root: Any) -> None:
    for element in list(root.iter()):
        if not isinstance(element.tag, str):
            continue
        refs = {element.get("id"), element.get("bpmnElement")}
        if etree.QName(element).localname == "flowNodeRef":
            refs.add(element.text)
            element.text = RENAMED.get(element.text, element.text)
        if refs & REMOVED:
            element.getparent().remove(element)
        for attribute in ("id", "sourceRef", "targetRef", "bpmnElement"):
            if element.get(attribute) in RENAMED:
                element.set(attribute, RENAMED[element.get(attribute)])
    _one(root, "//bpmn:sequenceFlow[@id='to_referral']").set("targetRef", "take_over")
    _insert(root, "first_assessment", "f_route", "route", "intake_review", "lane_intake")
    _insert(
        root, "outreach", "outreach_done", "delivery_join", "outreach_review", "lane_coordination"
    )
    _one(root, "//bpmn:userTask[@id='first_assessment']").set(
        "name", "初期アセスメントと対応の判断"
    )
    _property(root, "coordination_intake", "dueInDays").set("value", "10")
    _property(root, "support_decision", "stage").set("value", "support_plan")


def deploy_version_two(tmp_path: Path, change: Any = _version_two) -> ProcessDefinition:
    """Deploy the changed copy (processes and forms) as the next version; returns support_case's."""
    processes, forms = tmp_path / "processes", tmp_path / "forms"
    shutil.copytree(ROOT / "processes", processes)
    shutil.copytree(ROOT / "forms", forms)
    tree = etree.parse(str(processes / "support_case.bpmn"))
    change(tree.getroot())
    tree.write(str(processes / "support_case.bpmn"), xml_declaration=True, encoding="UTF-8")
    participation = processes / "participation.bpmn"
    xml = participation.read_text(encoding="utf-8")
    xml = xml.replace('"dueInDays" value="14"', '"dueInDays" value="21"')
    participation.write_text(xml, encoding="utf-8")
    form = forms / "window_support.schema.json"
    schema = json.loads(form.read_text(encoding="utf-8"))
    schema["properties"]["next_step"] = {"title": "次の一歩", "type": "string", "maxLength": 200}
    form.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    definitions.deploy([str(processes)], str(forms))
    return definitions.latest("support_case")


def open_cases(flow: Flow, *names: str) -> dict[str, Case]:
    """Cases waiting at different steps of version 1 (STEPS; F waits inside both call activities,
    G at the support decision before them)."""
    made: dict[str, Case] = {}
    for name in names:
        flow.open_case(consent=name == "C")
        for element, username, data in STEPS["G" if name == "F" else name]:
            flow.complete(element, username, data)
        if name in "FG":
            accept_and_plan(flow, participation=True, outreach=True)
            approve(flow)
        if name == "F":
            flow.complete("support_decision", "demo-decision", DECISION)
        made[name] = flow.case
    return made


def instance_of(case: Case) -> ProcessInstance:
    db.session.expire_all()
    return db.session.scalar(select(ProcessInstance).where(ProcessInstance.case_id == case.id))


def _open(case: Case) -> list[WorkItem]:
    db.session.expire_all()
    where = (WorkItem.case_id == case.id, WorkItem.status == "open")
    return list(db.session.scalars(select(WorkItem).where(*where).order_by(WorkItem.id)))


def items_of(case: Case) -> list[tuple[Any, ...]]:
    return [(i.id, i.task_id, i.element_id, i.assignee_id, i.draft, i.due_at) for i in _open(case)]


def _stage(case: Case) -> str:
    db.session.expire_all()
    return db.session.get(Case, case.id).stage


def _waiting(case: Case) -> list[tuple[Any, ...]]:
    db.session.expire_all()
    rows = db.session.scalars(select(WaitingEvent).where(WaitingEvent.case_id == case.id))
    return [(w.element_id, w.due_at, w.since) for w in rows]


def test_preview_counts_cases_per_element_and_reason_without_case_content(
    flow: Flow, tmp_path: Path
) -> None:
    cases = open_cases(flow, "A", "B", "C", "D", "E", "F")
    v1 = definitions.latest("support_case")
    v2 = deploy_version_two(tmp_path)
    assert v2.version == 2
    ids = {name: instance_of(case).id for name, case in cases.items()}

    preview = version_migration.preview(v1.id, v2.id, flow.user("demo-designer"))

    assert preview.total == 6
    assert sorted(preview.movable_ids) == sorted(ids[n] for n in "ABEF")
    assert preview.blocked == (ReasonCount("removed", 1), ReasonCount("form_changed", 1))
    rows = {(e.process_key, e.element_id): e for e in preview.elements}
    review = rows[("support_case", "referral_review")]
    assert (review.waiting, review.movable, review.target_id) == (1, 0, None)
    assert review.blocked == (ReasonCount("removed", 1),)
    assert rows[("support_case", "referral_review_stalled")].blocked[0].code == "removed"
    window = rows[("support_case", "window_support")]
    assert (window.movable, window.blocked) == (0, (ReasonCount("form_changed", 1),))
    intake = rows[("support_case", "coordination_intake")]
    assert (intake.waiting, intake.movable, intake.changes) == (1, 1, ("dueInDays",))
    assert set(rows[("support_case", "first_assessment")].changes) == {"flow", "name"}
    timer = rows[("support_case", "window_interval")]
    assert (timer.kind, timer.waiting, timer.movable, timer.held) == ("timer", 1, 1, 0)
    assert (timer.target_id, timer.changes) == ("window_next_check", ("id",))
    matching = rows[("participation", "participation_matching")]
    assert (matching.movable, matching.changes) == (1, ("dueInDays",))
    assert rows[("outreach", "outreach_followup")].movable == 1
    shown = repr(preview)
    for case in cases.values():
        assert case.number not in shown and case.title not in shown
    # Nothing moved: a preview only tries.
    assert {instance_of(c).definition_id for c in cases.values()} == {v1.id}


def test_migrate_moves_what_can_move_and_leaves_the_rest_exactly_as_it_was(
    flow: Flow, tmp_path: Path
) -> None:
    cases = open_cases(flow, "A", "B", "C", "D", "F", "G")
    coordinator = flow.user("demo-coordinator")
    [b_item] = _open(cases["B"])
    work_items.claim(b_item.id, coordinator)
    work_items.save_draft(b_item.id, coordinator, {"coordination_decision": "accept"})
    v2 = deploy_version_two(tmp_path)
    before = {n: instance_of(c) for n, c in cases.items()}
    states = {n: (i.state, i.lock_version, i.definition_id) for n, i in before.items()}
    items = {n: items_of(c) for n, c in cases.items()}
    stage_of_g = _stage(cases["G"])
    new_case = flow.open_case()
    assert instance_of(new_case).definition_id == v2.id  # new cases start on the newest version

    report = version_migration.migrate(
        [i.id for i in before.values()], v2.id, flow.user("demo-designer")
    )

    outcome = {r.instance_id: r for r in report.results}
    assert {n: outcome[i.id].outcome for n, i in before.items()} == {
        "A": "moved",
        "B": "moved",
        "C": "refused",
        "D": "refused",
        "F": "moved",
        "G": "moved",
    }
    assert outcome[before["C"].id].reasons == ("removed",)
    assert "新しい版にありません" in outcome[before["C"].id].message
    assert outcome[before["D"].id].reasons == ("form_changed",)
    for name in "CD":
        after = instance_of(cases[name])
        assert (after.state, after.lock_version, after.definition_id) == states[name]
        assert items_of(cases[name]) == items[name]
    for name in "ABFG":
        assert instance_of(cases[name]).definition_id == v2.id
        assert items_of(cases[name]) == items[name]  # same rows, assignee, draft and due date
    assert items["B"][0][3] == coordinator.id and items["B"][0][4] == {
        "coordination_decision": "accept"
    }
    assert [i.title for i in _open(cases["A"])] == ["初期アセスメントと対応の判断"]
    assert (stage_of_g, _stage(cases["G"])) == ("support_decision", "support_plan")

    flow.case = cases["A"]
    flow.complete("first_assessment", "demo-elderly", first_assessment("window"))
    assert flow.waiting() == {"intake_review": "agency:elderly-center"}  # the inserted task

    # The data the case gathered stays with it: the split after the decision reads the plan.
    flow.case = cases["G"]
    flow.complete("support_decision", "demo-decision", DECISION)
    assert set(flow.waiting()) == {"participation_matching", "outreach_followup"}

    flow.case = cases["F"]
    none_found = {"match_result": "not_found", "unmet_need": "近くに参加先がない"}
    flow.complete("participation_matching", "demo-participation", none_found)
    linked = {"visit_date": flow.today(), "followup_result": "linked", "linked_agency": "x"}
    flow.complete("outreach_followup", "demo-outreach", linked)
    # The task inserted after the running call activity is not skipped.
    assert flow.waiting() == {"outreach_review": "coordination"}
    flow.complete("outreach_review", "demo-coordinator", CHECKED)
    assert flow.waiting() == {}
    assert "review_due" in {element for element, _, _ in _waiting(cases["F"])}

    audit = {
        (row.object_id, row.outcome): row.detail
        for row in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "process.migrate")
        )
    }
    assert audit[(str(before["A"].id), "ok")] == {"key": "support_case", "from": 1, "to": 2}
    assert audit[(str(before["C"].id), "refused")]["reasons"] == ["removed"]
    assert len(audit) == 6
    again = version_migration.migrate([before["A"].id], v2.id, flow.user("demo-admin"))
    assert again.results[0].reasons == ("same_version",)


def test_waiting_timers_keep_their_due_times_and_fire_once(flow: Flow, tmp_path: Path) -> None:
    cases = open_cases(flow, "B", "E")
    hold_council(flow)  # H waits at an event-based gateway: consent, a revisit timer, a request
    cases["H"] = flow.case
    due = {n: (instance_of(c).next_timer_at, _waiting(c)) for n, c in cases.items()}
    assert all(timer_at is not None for timer_at, _ in due.values())
    progress = {n: instance_of(c).last_progress_at for n, c in cases.items()}
    flow.pass_days(3)  # the move happens days after the timers were set
    v2 = deploy_version_two(tmp_path)

    report = version_migration.migrate(
        [instance_of(c).id for c in cases.values()], v2.id, flow.user("demo-designer")
    )

    assert report.count("moved") == 3
    for name, case in cases.items():
        timer_at, rows = due[name]
        expected = [(RENAMED.get(element, element), at, since) for element, at, since in rows]
        after = instance_of(case)
        assert after.next_timer_at == timer_at
        assert after.last_progress_at == progress[name]  # a move is not progress on the case
        assert _waiting(case) == expected
    # Set on day 0: B's stall timer for day 12 (5 + 7 days), H's revisit for day 14, E's next
    # check for day 30. Had the move planned them again, they would come due three days later.
    assert flow.pass_days(8.9) == 0
    assert flow.pass_days(0.2) == 1
    flow.case = cases["B"]
    assert set(flow.waiting()) == {"coordination_intake", "escalation"}
    assert flow.pass_days(1.8) == 0
    assert flow.pass_days(0.2) == 1
    flow.case = cases["H"]
    assert set(flow.waiting()) == {"support_council"}  # watched: back to the 支援会議
    assert flow.pass_days(15.8) == 0
    flow.case = cases["E"]
    assert flow.waiting() == {}
    assert flow.pass_days(0.2) == 1
    assert flow.waiting() == {"window_support": "agency:elderly-center"}
    assert flow.pass_days(40) == 0
    assert len(flow.open_items()) == 1


def test_a_case_changed_meanwhile_is_a_conflict_and_the_others_still_move(
    flow: Flow, tmp_path: Path
) -> None:
    cases = open_cases(flow, "A", "B")
    v2 = deploy_version_two(tmp_path)
    first, second = instance_of(cases["A"]), instance_of(cases["B"])
    session = db.session()

    def someone_else_completes_a_task(*_: Any) -> None:
        # Another request commits a step of the same instance between our read and our write.
        with db.engine.begin() as other:
            other.execute(
                update(ProcessInstance)
                .where(ProcessInstance.id == first.id)
                .values(lock_version=ProcessInstance.lock_version + 1)
            )

    event.listen(session, "before_flush", someone_else_completes_a_task, once=True)
    report = version_migration.migrate([first.id, second.id], v2.id, flow.user("demo-designer"))

    assert [r.outcome for r in report.results] == ["conflict", "moved"]
    assert "他の操作と同時に更新されました" in report.results[0].message
    after = instance_of(cases["A"])
    assert (after.definition_id, after.state) == (first.definition_id, first.state)
    assert instance_of(cases["B"]).definition_id == v2.id


def test_a_running_call_activity_whose_called_process_changed_blocks(
    flow: Flow, tmp_path: Path
) -> None:
    cases = open_cases(flow, "F", "A")
    v1 = definitions.latest("support_case")

    def swap_called_processes(root: Any) -> None:
        _one(root, "//bpmn:callActivity[@id='participation']").set("calledElement", "outreach")
        _one(root, "//bpmn:callActivity[@id='outreach']").set("calledElement", "participation")

    v2 = deploy_version_two(tmp_path, swap_called_processes)
    preview = version_migration.preview(v1.id, v2.id, flow.user("demo-admin"))

    assert preview.blocked == (ReasonCount("subprocess_changed", 1),)
    rows = {(e.process_key, e.element_id): e for e in preview.elements}
    for call in ("participation", "outreach"):
        row = rows[("support_case", call)]
        assert (row.kind, row.blocked) == ("call", (ReasonCount("subprocess_changed", 1),))
    assert rows[("participation", "participation_matching")].held == 1
    assert preview.movable_ids == (instance_of(cases["A"]).id,)

    def drop_participation(root: Any) -> None:
        swap_called_processes(root)
        _one(root, "//bpmn:callActivity[@id='outreach']").set("calledElement", "outreach")

    v3 = deploy_version_two(tmp_path / "v3", drop_participation)
    gone = version_migration.preview(v1.id, v3.id, flow.user("demo-designer"))
    assert gone.blocked == (ReasonCount("subprocess_removed", 1),)
    report = version_migration.migrate([instance_of(cases["F"]).id], v3.id, flow.user("demo-admin"))
    assert report.results[0].reasons == ("subprocess_removed",)
    assert instance_of(cases["F"]).definition_id == v1.id


def test_only_designers_and_administrators_migrate(flow: Flow, tmp_path: Path) -> None:
    cases = open_cases(flow, "A")
    v1 = definitions.latest("support_case")
    v2 = deploy_version_two(tmp_path)
    assert version_migration.preview(v1.id, v2.id, flow.user("demo-designer")).total == 1
    # An administrator only where the municipality allows administrators to design.
    settings.update("admins_may_design", False, flow.user("demo-admin"))
    db.session.commit()
    with pytest.raises(Forbidden):
        version_migration.preview(v1.id, v2.id, flow.user("demo-admin"))
    settings.update("admins_may_design", True, flow.user("demo-admin"))
    db.session.commit()
    assert version_migration.preview(v1.id, v2.id, flow.user("demo-admin")).total == 1
    caseworker = flow.user("demo-elderly")
    with pytest.raises(Forbidden):
        version_migration.preview(v1.id, v2.id, caseworker)
    with pytest.raises(Forbidden):
        version_migration.migrate([instance_of(cases["A"]).id], v2.id, caseworker)
    assert instance_of(cases["A"]).definition_id == v1.id
    denied = db.session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.outcome == "denied", AuditEvent.actor_id == caseworker.id
        )
    ).all()
    assert sorted(denied) == ["process.migrate", "process.migration_preview"]
    designer = flow.user("demo-designer")
    with pytest.raises(InvalidInput):
        version_migration.preview(v1.id, definitions.latest("outreach").id, designer)
    with pytest.raises(InvalidInput):
        version_migration.migrate([], v2.id, designer)
    with pytest.raises(NotFound):
        version_migration.preview(987654, v2.id, designer)
    unknown = version_migration.migrate([987654], v2.id, designer)
    assert unknown.results[0].reasons == ("not_found",)
