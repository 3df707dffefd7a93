"""Moves a running instance onto another version of its process, or says why it cannot.

SpiffWorkflow's diff (``SpecDiff`` and ``WorkflowDiff``, what ``diff_workflow`` builds for the top
workflow and each subprocess) aligns the old version's elements with the new one's by id (and, for
a renamed element, by its place between aligned neighbours); ``migrate_workflow`` swaps the specs
and resets every READY and WAITING task so that what follows it is predicted afresh. That reset
also replaces the task's data with its parent's (after compaction often the start data) and empties
its internal data, which is where a waiting timer keeps its due time, so Kasane puts both back: a
case keeps its data, a timer its date. A running call activity is not reset at all, so what follows
it is predicted again here (a task inserted after it would otherwise be skipped).

The library does not know what Kasane needs to stay true of a waiting task, so Kasane checks it:
a waiting user task whose form, lane or boundary events changed would put a half-filled form,
a claimed item or a stall timer out of step, and a running call activity whose called process
changed cannot be re-pointed. Every migration is tried on a copy: it "can move" only when the
moved state loads again under the new version with every task on a spec of that version.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from app.engine import serialization
from app.engine.specs import FORM_PROPERTY, SpecBundle

_log = logging.getLogger(__name__)
_REGISTRY = BpmnWorkflowSerializer.configure(dict(SPIFF_CONFIG))
_LIVE = TaskState.READY | TaskState.WAITING
_NOT_STARTED = TaskState.PREDICTED_MASK | TaskState.FUTURE

# Why a task (or the whole instance) cannot move; the service words them for people.
REMOVED = "removed"
TYPE_CHANGED = "type_changed"
FORM_CHANGED = "form_changed"
LANE_CHANGED = "lane_changed"
EVENT_CHANGED = "event_changed"
BOUNDARY_CHANGED = "boundary_changed"
SUBPROCESS_CHANGED = "subprocess_changed"
SUBPROCESS_REMOVED = "subprocess_removed"
HISTORY_REMOVED = "history_removed"
ENGINE = "engine"
BLOCKERS = (
    REMOVED,
    TYPE_CHANGED,
    FORM_CHANGED,
    LANE_CHANGED,
    EVENT_CHANGED,
    BOUNDARY_CHANGED,
    SUBPROCESS_CHANGED,
    SUBPROCESS_REMOVED,
    HISTORY_REMOVED,
    ENGINE,
)
# Spec attributes whose change is reported as such (the rest are the engine's own bookkeeping).
_REPORTED = {"bpmn_name": "name", "lane": "lane", "event_definition": "event", "typename": "type"}
_FLOW = {"inputs", "outputs", "cond_task_specs", "default_task_spec"}


@dataclass(frozen=True)
class Forms:
    """The form schemas of both versions, by process key and then form file name (a called
    process's forms under its own key)."""

    old: Mapping[str, Mapping[str, Any]]
    new: Mapping[str, Mapping[str, Any]]

    def changed(self, process_key: str, old_form: str | None, new_form: str | None) -> bool:
        """Whether a task of ``process_key`` would show another form (or the same file changed)."""
        if old_form != new_form:
            return True
        if old_form is None:
            return False
        return self.old.get(process_key, {}).get(old_form) != self.new.get(process_key, {}).get(
            new_form
        )


@dataclass(frozen=True)
class Move:
    """Where one READY or WAITING task lands in the new version, or why it cannot move."""

    process_key: str
    element_id: str
    name: str
    kind: str  # "user_task", "timer", "message", "call", "other"
    target_id: str | None
    blocker: str | None = None
    changes: tuple[str, ...] = ()
    task_id: str | None = None  # the engine task (a work item's ``task_id``), kept by the move


@dataclass
class Outcome:
    """What migrating one instance gives: each task's move, the instance-level blockers, and
    (when nothing blocks) the migrated state, serialized without specs."""

    moves: list[Move] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    state: str | None = None
    detail: str | None = None  # the engine's own words on an ENGINE failure, for the log

    @property
    def can_move(self) -> bool:
        return self.state is not None and not self.reasons

    @property
    def reasons(self) -> list[str]:
        """Every distinct reason this instance cannot move, in a stable order."""
        found = {m.blocker for m in self.moves if m.blocker} | set(self.blockers)
        return [code for code in BLOCKERS if code in found]


def migrate(old: SpecBundle, state: str, new: SpecBundle, forms: Forms) -> Outcome:
    """Try to move the instance stored as ``state`` (on ``old``) onto ``new``; ``state`` itself is
    never changed. The outcome carries the new state only when nothing blocks."""
    outcome = Outcome()
    try:
        workflow = serialization.load(state, old.spec, old.subprocess_specs)
        diffs = _diffs(workflow, new)
        for wf, (spec_diff, diff) in diffs.items():
            outcome.moves.extend(_moves(wf, spec_diff, diff, forms))
        outcome.blockers.extend(_subprocess_blockers(workflow, diffs, outcome))
        if outcome.reasons:
            return outcome
        _apply(workflow, diffs, new)
        stale = _stale_tasks(workflow)
        if stale:
            outcome.blockers.append(HISTORY_REMOVED)
            outcome.detail = ", ".join(sorted(stale))
            return outcome
        moved = serialization.dump(workflow)
        serialization.load(moved, new.spec, new.subprocess_specs)  # it must load as it will be read
    except Exception as exc:  # noqa: BLE001 - any engine failure on a designer's diagram refuses
        _log.info("migration to %s refused by the engine", new.key, exc_info=exc)
        outcome.blockers.append(ENGINE)
        outcome.detail = str(exc) or exc.__class__.__name__
        return outcome
    outcome.state = moved
    return outcome


def _diffs(workflow: Any, new: SpecBundle) -> dict[Any, tuple[Any, Any]]:
    """(spec diff, workflow diff) for the top workflow and for every subprocess whose process the
    new version still has (what ``diff_workflow`` computes, keeping the spec diffs for reports)."""
    found = {}
    for wf in (workflow, *workflow.subprocesses.values()):
        target = new.spec if wf is workflow else new.subprocess_specs.get(wf.spec.name)
        if target is not None:
            spec_diff = SpecDiff(_REGISTRY, wf.spec, target)
            found[wf] = (spec_diff, WorkflowDiff(wf, spec_diff))
    return found


def _moves(wf: Any, spec_diff: Any, diff: Any, forms: Forms) -> list[Move]:
    moves = []
    for task in wf.get_tasks(state=_LIVE, skip_subprocesses=True):
        spec = task.task_spec
        target = diff.alignment.get(task)
        changes = _changes(spec, spec_diff.comparisons.get(spec, []), target)
        blocker = _blocker(task, target, changes, forms)
        if spec.bpmn_id is None and blocker is None:
            continue  # the engine's own helper tasks move with the element they belong to
        moves.append(
            Move(
                process_key=wf.spec.name,
                element_id=spec.bpmn_id or spec.name,
                name=spec.bpmn_name or spec.bpmn_id or spec.name,
                kind=_kind(spec),
                target_id=(target.bpmn_id or target.name) if target is not None else None,
                blocker=blocker,
                changes=changes,
                task_id=str(task.id),
            )
        )
    return moves


def _blocker(task: Any, target: Any, changes: tuple[str, ...], forms: Forms) -> str | None:
    spec = task.task_spec
    if target is None:
        return REMOVED
    if "type" in changes:
        return TYPE_CHANGED
    if spec.manual and task.state == TaskState.READY:
        if _lane(spec) != _lane(target):
            return LANE_CHANGED
        old_form = _properties(spec).get(FORM_PROPERTY)
        new_form = _properties(target).get(FORM_PROPERTY)
        if forms.changed(task.workflow.spec.name, old_form, new_form):
            return FORM_CHANGED
    if _timers(spec) != _timers(target):
        return EVENT_CHANGED  # the planned due time is kept, so the timer must stay a timer alike
    if _in_boundary(task) != any(isinstance(i, BoundaryEventSplit) for i in target.inputs):
        return BOUNDARY_CHANGED
    return None


def _changes(spec: Any, compared: list[str], target: Any) -> tuple[str, ...]:
    """What changed on an aligned element, as people would name it: a property by its name,
    otherwise name, lane, event, type or flow (its incoming or outgoing flows)."""
    if target is None:
        return ()
    found: list[str] = []
    if target.bpmn_id != spec.bpmn_id:
        found.append("id")
    for attribute in compared:
        if attribute == "extensions":
            old, new = _properties(spec), _properties(target)
            found.extend(sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k)))
        elif attribute in _REPORTED:
            found.append(_REPORTED[attribute])
        elif attribute in _FLOW and "flow" not in found:
            found.append("flow")
    return tuple(dict.fromkeys(found))


def _subprocess_blockers(
    workflow: Any, diffs: dict[Any, tuple[Any, Any]], outcome: Outcome
) -> list[str]:
    """A subprocess moves only when its calling task still calls the same process."""
    blockers = []
    for sp_id, sp in workflow.subprocesses.items():
        caller = workflow.get_task_from_id(sp_id)
        caller_diff = diffs.get(caller.workflow)
        target = caller_diff[1].alignment.get(caller) if caller_diff is not None else None
        if sp not in diffs:
            if sp.completed:
                continue  # finished work whose process is gone: dropped from the document
            reason = SUBPROCESS_REMOVED
        elif not isinstance(target, SubWorkflowTask) or target.spec != caller.task_spec.spec:
            reason = SUBPROCESS_CHANGED
        else:
            continue
        spec = caller.task_spec
        outcome.moves.append(
            Move(
                process_key=caller.workflow.spec.name,
                element_id=spec.bpmn_id or spec.name,
                name=spec.bpmn_name or spec.bpmn_id or spec.name,
                kind="call",
                target_id=(target.bpmn_id or target.name) if target is not None else None,
                blocker=reason,
                task_id=str(caller.id),
            )
        )
        blockers.append(reason)
    return blockers


def _apply(workflow: Any, diffs: dict[Any, tuple[Any, Any]], new: SpecBundle) -> None:
    """Migrate in place, keeping each reset task's data and internal data (a timer's due time)."""
    kept = {}
    for wf in (workflow, *workflow.subprocesses.values()):
        for task in wf.get_tasks(state=_LIVE, skip_subprocesses=True):
            kept[task.id] = (copy.deepcopy(task.data), copy.deepcopy(task.internal_data))
    for sp_id, sp in list(workflow.subprocesses.items()):
        if sp not in diffs:
            del workflow.subprocesses[sp_id]  # a finished subprocess whose process is gone
    for wf, (_, diff) in diffs.items():
        migrate_workflow(
            diff, wf, new.spec if wf is workflow else new.subprocess_specs[wf.spec.name]
        )
    workflow.subprocess_specs = new.subprocess_specs
    for wf in (workflow, *workflow.subprocesses.values()):
        for task in wf.tasks.values():
            if task.id in kept:
                task.data, task.internal_data = kept[task.id]
        for task in wf.get_tasks(state=TaskState.STARTED, skip_subprocesses=True):
            _predict_again(task)


def _predict_again(task: Any) -> None:
    """A running call activity is not reset by the library: what it leads to was planned under the
    old version (a task inserted after it would be skipped). Drop what has not started yet and
    predict it again from the new outputs."""
    outputs = task.task_spec.outputs
    for child in list(task.children):
        if child.task_spec not in outputs and child.has_state(_NOT_STARTED):
            task.workflow._remove_task(child.id)
    task.task_spec._predict(task, mask=TaskState.PREDICTED_MASK | TaskState.STARTED)


def _stale_tasks(workflow: Any) -> list[str]:
    """Tasks still on a spec the new version does not have (they would not load again)."""
    stale = []
    for wf in (workflow, *workflow.subprocesses.values()):
        for task in wf.tasks.values():
            if wf.spec.task_specs.get(task.task_spec.name) is not task.task_spec:
                stale.append(f"{wf.spec.name}:{task.task_spec.name}")
    return stale


def _kind(spec: Any) -> str:
    if spec.manual:
        return "user_task"
    parts = _event_parts(spec)
    if any(isinstance(p, TimerEventDefinition) for p in parts):
        return "timer"
    if any(isinstance(p, MessageEventDefinition) for p in parts):
        return "message"
    if isinstance(spec, SubWorkflowTask):
        return "call"
    return "other"


def _event_parts(spec: Any) -> list[Any]:
    """The event definitions a catch event (or an event-based gateway, one per alternative) waits for."""
    definition = getattr(spec, "event_definition", None)
    if definition is None:
        return []
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition]


def _timers(spec: Any) -> list[str]:
    """The kinds of timer waited for (duration, date, cycle): what a planned due time means."""
    return sorted(
        p.__class__.__name__ for p in _event_parts(spec) if isinstance(p, TimerEventDefinition)
    )


def _in_boundary(task: Any) -> bool:
    parent = task.parent
    return parent is not None and isinstance(parent.task_spec, BoundaryEventSplit)


def _lane(spec: Any) -> str | None:
    return getattr(spec, "lane", None)


def _properties(spec: Any) -> dict[str, str]:
    return dict((getattr(spec, "extensions", None) or {}).get("properties", {}))
