"""A sandbox run of a process: in memory only, moved on one step at a time by its caller.

A designer tries a draft with sample data before it goes live. The caller decides each step
(complete a READY user task, let a timer fire now, deliver a message); this module runs the
engine, notes the path of elements the run went through, and tells where the run stands so the
caller can see that it circles. Nothing here reads or writes the database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from SpiffWorkflow.util.task import TaskState

from app.engine import history
from app.engine.data import from_engine
from app.engine.runtime import _CAME_FROM, ReadyTask, Run, Waiting
from app.engine.specs import SpecBundle

T = TypeVar("T")
_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
# Engine notes that differ on every pass (a timer's planned time) without changing what follows.
_VOLATILE = frozenset(("event_value", "event_fired", "seen_events", _CAME_FROM))


class Element(NamedTuple):
    """A BPMN element the run passed through or stopped at."""

    process_key: str | None
    element_id: str
    name: str


def element_of(bundle: SpecBundle, process_key: str | None, element_id: str) -> Element:
    """The element with its name as drawn (its id when it has none); the main process by default."""
    spec = bundle.spec
    if process_key and process_key != spec.name:
        spec = bundle.subprocess_specs.get(process_key, spec)
    task_spec = spec.task_specs.get(element_id)
    name = getattr(task_spec, "bpmn_name", None) or element_id
    return Element(process_key or spec.name, element_id, " ".join(name.split()))


class Sandbox:
    """One in-memory run of a parsed bundle, with the path it has taken so far."""

    def __init__(self, bundle: SpecBundle, data: dict[str, Any]) -> None:
        """Start the main process with ``data``; raises EngineError when it cannot even start."""
        self.bundle = bundle
        self.path: list[Element] = []
        self._passed: set[tuple[str, str]] = set()
        self.run = Run.start(bundle, data)
        self._note_steps()

    @property
    def finished(self) -> bool:
        return self.run.workflow.is_completed()

    def ready(self) -> list[ReadyTask]:
        """READY user tasks, in the main process and in called processes."""
        return self.run.ready_tasks()

    def waiting(self, kind: str) -> list[Waiting]:
        """Catch events waited at, of ``kind`` "timer" or "message" (timers soonest first).
        A timer's time is computed here, so a bad timer expression fails as a step would."""
        found = [w for w in self._guarded(self.run.waiting) if w.kind == kind]
        return sorted(found, key=lambda w: (w.due_at is None, w.due_at or 0, w.element_id))

    def complete(self, task: ReadyTask, data: dict[str, Any]) -> None:
        try:
            self.run.complete(task.task_id, data)
        finally:
            self._note_steps()

    def fire(self, timer: Waiting) -> None:
        """Let a waiting timer fire now: inside the sandbox, time jumps to its moment."""
        try:
            self.run.fire_timer_now(timer.element_id)
        finally:
            self._note_steps()

    def deliver(self, message_name: str, payload: Any = None) -> None:
        try:
            self.run.receive(message_name, payload if payload is not None else {})
        finally:
            self._note_steps()

    def data(self) -> dict[str, Any]:
        """The data the run would read next (the most recently changed unfinished task's)."""
        return self.run.last_data()

    def position(self) -> str:
        """A digest of where the run stands: every live task with its data. The run is
        deterministic, so meeting the same position twice with the same input means a loop."""
        parts = []
        for wf in (self.run.workflow, *self.run.workflow.subprocesses.values()):
            for task in wf.tasks.values():
                if not task.has_state(_LIVE):
                    continue
                notes = {k: v for k, v in task.internal_data.items() if k not in _VOLATILE}
                parts.append(
                    json.dumps(
                        [
                            wf.spec.name,
                            task.task_spec.name,
                            task.state,
                            from_engine(task.data),
                            notes,
                        ],
                        sort_keys=True,
                        default=str,
                    )
                )
        return hashlib.sha256("\n".join(sorted(parts)).encode("utf-8")).hexdigest()

    def element(self, process_key: str | None, element_id: str) -> Element:
        return element_of(self.bundle, process_key, element_id)

    def failed_element(self) -> Element | None:
        """The element whose task the engine marked as failed, if any."""
        for wf in (self.run.workflow, *self.run.workflow.subprocesses.values()):
            for task in wf.tasks.values():
                if task.has_state(TaskState.ERROR) and task.task_spec.bpmn_id:
                    return self.element(wf.spec.name, task.task_spec.bpmn_id)
        return None

    def _note_steps(self) -> None:
        for step in self.run.steps():
            for element_id in (step.source_id, step.target_id):
                key = (step.process_key, element_id)
                # A source is listed only the first time (the start event, a called process's
                # start); a target is listed every time the run comes to it.
                if element_id == step.target_id or key not in self._passed:
                    self._passed.add(key)
                    self.path.append(self.element(step.process_key, element_id))
        # A long try must not slow down with its own history, as a real case must not.
        history.compact(self.run.workflow)

    @staticmethod
    def _guarded(call: Callable[[], T]) -> T:
        """``call()`` with engine failures turned into EngineError, as in a real step."""
        box: list[T] = []
        Run._guard(lambda: box.append(call()))
        return box[0]
