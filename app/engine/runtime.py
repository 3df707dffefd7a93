"""Runs one process instance: start or resume, complete tasks, fire timers, receive messages, snapshot."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from app.engine import engine_messages, history, serialization
from app.engine.data import from_engine, to_engine
from app.engine.scripting import ScriptError, make_script_engine
from app.engine.specs import SpecBundle

_log = logging.getLogger(__name__)
_SCRIPT_ENGINE = make_script_engine()
_MAX_ROUNDS = 100
_CAME_FROM = "kasane_came_from"
_REACHED = TaskState.READY | TaskState.STARTED | TaskState.COMPLETED
_TIMER_TYPES = (
    "DurationTimerEventDefinition",
    "TimeDateEventDefinition",
    "CycleTimerEventDefinition",
)


class EngineError(Exception):
    """The process could not advance (a failing script, a bad expression); nothing should be saved."""

    def __init__(self, message_ja: str, element_id: str | None = None) -> None:
        self.message_ja = message_ja
        self.element_id = element_id
        super().__init__(f"{element_id or '-'}: {message_ja}")


class TaskNotReady(Exception):
    """The task is no longer waiting for input (already completed, cancelled, or unknown)."""


class NotWaitingForMessage(Exception):
    """The instance has no catch event waiting for this message."""


@dataclass(frozen=True)
class Waiting:
    """A catch event the instance waits at: a timer (with its due time) or a message."""

    element_id: str
    name: str
    kind: str  # "timer" or "message"
    process_key: str | None
    due_at: datetime | None = None
    message_name: str | None = None
    properties: dict[str, str] = field(default_factory=dict)


class NotWaitingForTimer(Exception):
    """The instance is not waiting at a timer with this element id."""


@dataclass
class ReadyTask:
    """A user task waiting for a person, as the work queue needs it."""

    task_id: str
    element_id: str
    name: str
    lane: str | None
    properties: dict[str, str]
    queue_hint: str | None = None
    process_key: str | None = None

    @property
    def form_key(self) -> str | None:
        return self.properties.get("formJsonSchemaFilename")


@dataclass
class Snapshot:
    """Everything the application stores or indexes after a step."""

    state: str
    completed: bool
    ready_tasks: list[ReadyTask]
    next_timer_at: datetime | None
    waiting_messages: list[str]
    data: dict[str, Any] = field(default_factory=dict)
    dropped_tasks: int = 0
    task_count: int = 0
    waiting: list[Waiting] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)


@dataclass(frozen=True)
class Step:
    """One sequence flow the instance went along since it was loaded: from one BPMN element to
    the next, in the process (or called process) ``process_key``."""

    process_key: str
    source_id: str
    target_id: str


class Run:
    """A loaded workflow plus the operations Kasane performs on it."""

    def __init__(self, bundle: SpecBundle, workflow: BpmnWorkflow) -> None:
        self.bundle = bundle
        self.workflow = workflow
        self._recorded = {task.id for task in self._reached_tasks()}
        # Whether the state last saved (see ``saved``) waited at any catch event: when it did
        # not, nothing was recorded as waited at or subscribed to with it. Not known for a
        # state from elsewhere (a version migration's): taken as yes.
        self.waited_when_saved = True
        # The READY user tasks of the state last saved (each had an open work item), or None.
        self.ready_when_saved: frozenset[str] | None = None

    def saved(self) -> None:
        """Note that the state as it is now has been saved with what it waits at and the work
        items of its READY user tasks."""
        self.waited_when_saved = bool(self.workflow.event_manager.tasks)
        self.ready_when_saved = frozenset(
            str(task.id)
            for wf in (self.workflow, *self.workflow.subprocesses.values())
            for task in wf.tasks.values()
            if task.state == TaskState.READY and task.task_spec.manual
        )

    @classmethod
    def start(cls, bundle: SpecBundle, data: dict[str, Any] | None = None) -> Run:
        workflow = BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=_SCRIPT_ENGINE)
        workflow.task_tree.data.update(to_engine(data or {}))
        for task in workflow.task_tree.children:
            task.data.update(to_engine(data or {}))
        run = cls(bundle, workflow)
        run.waited_when_saved = False  # a new instance has nothing recorded
        run.ready_when_saved = frozenset()
        run._advance()
        return run

    @classmethod
    def resume(cls, bundle: SpecBundle, state: str, *, as_saved: bool = False) -> Run:
        """``as_saved``: ``state`` is the instance's saved state (what it waits at was recorded
        with it)."""
        workflow = serialization.load(state, bundle.spec, bundle.subprocess_specs)
        workflow.script_engine = _SCRIPT_ENGINE
        run = cls(bundle, workflow)
        if as_saved:
            run.saved()
        return run

    def complete(self, task_id: str, data: dict[str, Any]) -> None:
        """Complete a READY user task with (already validated) form data and run on."""
        task = self._ready_manual_task(task_id)
        task.data.update(to_engine(data))
        self._guard(task.run)
        self._advance()

    def cancel(self) -> None:
        """End the workflow where it stands: every waiting task is cancelled, nothing more runs."""
        self._guard(self.workflow.cancel)

    def fire_due_timers(self) -> None:
        """Let timers whose time has come fire, then run on."""
        # The timers are looked at before the first round (not only at its end), so a due one
        # runs in it rather than in a second round.
        self._guard(self.workflow.refresh_timers)
        self._advance()

    def receive(self, message_name: str, payload: Any) -> None:
        """Deliver a message to the catch event waiting for it."""
        event = BpmnEvent(MessageEventDefinition(message_name), payload=to_engine(payload))
        try:
            self.workflow.send_event(event)
        except WorkflowException as exc:
            raise NotWaitingForMessage(message_name) from exc
        self._advance()

    def snapshot(self, compact: bool = True) -> Snapshot:
        steps = self.steps()
        dropped = history.compact(self.workflow) if compact else 0
        waiting = self.waiting_events()
        return Snapshot(
            state=serialization.dump(self.workflow),
            completed=self.workflow.is_completed(),
            ready_tasks=self.ready_tasks(),
            next_timer_at=_next_timer(waiting),
            waiting_messages=sorted(
                {e.name for e in waiting if e.event_type == "MessageEventDefinition"}
            ),
            data=self.last_data(),
            dropped_tasks=dropped,
            task_count=len(self.workflow.tasks),
            waiting=self.waiting(),
            steps=steps,
        )

    def steps(self) -> list[Step]:
        """The flows taken since the last call (or since loading). A flow counts as taken when
        the element it leads to is reached: an activity or gateway ready, running or done, a
        catch event once its event has come (while it waits, the token has not moved on, and an
        event-based gateway's other alternatives are never taken). Tasks the engine adds for
        itself (joins, boundary-event splits) are skipped over to the nearest BPMN element."""
        taken = []
        for task in sorted(self._reached_tasks(), key=lambda t: t.last_state_change):
            if task.id in self._recorded:
                continue
            self._recorded.add(task.id)
            source = _came_from(task)
            if task.task_spec.bpmn_id is not None and source is not None:
                taken.append(Step(task.workflow.spec.name, source, task.task_spec.bpmn_id))
        # Compaction may cut a waiting task loose from where it came from: note it on the task.
        for wf in (self.workflow, *self.workflow.subprocesses.values()):
            for task in wf.tasks.values():  # (the engine's task iterator costs ten times this)
                if task.state == TaskState.WAITING and _CAME_FROM not in task.internal_data:
                    task.internal_data[_CAME_FROM] = _came_from(task)
        return taken

    def _reached_tasks(self) -> list[Any]:
        found = []
        for wf in (self.workflow, *self.workflow.subprocesses.values()):
            found.extend(t for t in wf.tasks.values() if t.has_state(_REACHED))
        return found

    def properties_of(self, element_id: str, process_key: str | None = None) -> dict[str, str]:
        """The Kasane properties of an element (``stage``, ``dueInDays``, ...), from the spec."""
        return self.bundle.properties(element_id, process_key)

    def waiting_events(self) -> list[Any]:
        """Pending catch events, with an event-based gateway's alternatives listed one by one."""
        pending = []
        for task in list(self.workflow.event_manager.tasks.values()):
            definition = task.task_spec.event_definition
            parts = (
                definition.event_definitions
                if isinstance(definition, MultipleEventDefinition)
                else [definition]
            )
            pending.extend(part.details(task) for part in parts)
        return pending

    def waiting(self) -> list[Waiting]:
        """Every catch event waited at, by element id (an event-based gateway's alternatives one by
        one, each under the id of its own catch event)."""
        found = []
        for task, definition, spec in self._waiting_parts():
            kind = "timer" if isinstance(definition, TimerEventDefinition) else "message"
            if kind == "message" and not isinstance(definition, MessageEventDefinition):
                continue
            details = definition.details(task)
            found.append(
                Waiting(
                    element_id=spec.bpmn_id,
                    name=spec.bpmn_name or spec.bpmn_id,
                    kind=kind,
                    process_key=task.workflow.spec.name,
                    due_at=_next_timer([details]) if kind == "timer" else None,
                    message_name=details.name if kind == "message" else None,
                    properties=dict(
                        (getattr(spec, "extensions", None) or {}).get("properties", {})
                    ),
                )
            )
        return found

    def fire_timer_now(self, element_id: str) -> None:
        """Let a waiting timer fire now rather than at its time (a person acts before the date)."""
        for task, definition, spec in self._waiting_parts():
            if spec.bpmn_id != element_id or not isinstance(definition, TimerEventDefinition):
                continue
            if isinstance(task.task_spec.event_definition, MultipleEventDefinition):
                seen = task.internal_data.get("seen_events", [])
                task.internal_data["seen_events"] = [*seen, BpmnEvent(definition)]
            else:
                definition.has_fired(task)  # fixes the planned time, if not yet done
                task._set_internal_data(event_fired=True)
            self._advance()
            return
        raise NotWaitingForTimer(element_id)

    def _waiting_parts(self) -> list[tuple[Any, Any, Any]]:
        """(waiting task, event definition, the catch event's spec) for each alternative."""
        parts = []
        for task in list(self.workflow.event_manager.tasks.values()):
            definition = task.task_spec.event_definition
            if isinstance(definition, MultipleEventDefinition):
                outputs = list(task.task_spec.outputs)
                for index, inner in enumerate(definition.event_definitions):
                    spec = outputs[index] if index < len(outputs) else task.task_spec
                    parts.append((task, inner, spec))
            else:
                parts.append((task, definition, task.task_spec))
        return parts

    def ready_tasks(self) -> list[ReadyTask]:
        ready = []
        for t in self.workflow.get_tasks(state=TaskState.READY, manual=True):
            properties = dict(t.task_spec.extensions.get("properties", {}))
            hint_variable = properties.get("queueFromData")
            hint = t.data.get(hint_variable) if hint_variable else None
            ready.append(
                ReadyTask(
                    task_id=str(t.id),
                    element_id=t.task_spec.bpmn_id,
                    name=t.task_spec.bpmn_name or t.task_spec.bpmn_id,
                    lane=t.task_spec.lane,
                    properties=properties,
                    queue_hint=hint if isinstance(hint, str) else None,
                    process_key=t.workflow.spec.name,
                )
            )
        return ready

    def last_data(self) -> dict[str, Any]:
        """The data of the most recently changed unfinished task (what gateways would read next)."""
        tasks = self.workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK)
        if not tasks:
            last = self.workflow.last_task
            return from_engine(dict(last.data)) if last is not None else {}
        newest = max(tasks, key=lambda t: t.last_state_change)
        return from_engine(dict(newest.data))

    def _ready_manual_task(self, task_id: str) -> Any:
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except (ValueError, SpiffWorkflowException) as exc:
            raise TaskNotReady(task_id) from exc
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise TaskNotReady(task_id)
        return task

    def _advance(self) -> None:
        # do_engine_steps refreshes timers only at its end, so a timer that is due by then
        # leaves its task READY but not run; go round until nothing automatic is READY.
        for _ in range(_MAX_ROUNDS):
            self._guard(self.workflow.do_engine_steps)
            if self.workflow.get_next_task(state=TaskState.READY, manual=False) is None:
                return
        raise EngineError("自動処理が終わりません（タイマーや繰り返しの設定を確認してください）")

    @staticmethod
    def _guard(step: Any) -> None:
        try:
            step()
        except ScriptError as exc:
            raise EngineError(exc.message_ja) from exc
        except Exception as exc:  # noqa: BLE001 - the engine fails in many ways on a designer's diagram
            cause = _script_error(exc)
            task = _failing_task(exc)
            task_spec = getattr(exc, "task_spec", None) or (task.task_spec if task else None)
            element_id = getattr(task_spec, "bpmn_id", None) if task_spec is not None else None
            if cause is None:
                _log.warning("engine step failed at %s", element_id, exc_info=exc)
            message = cause.message_ja if cause else engine_messages.run_problem(exc, task_spec)
            raise EngineError(message, element_id) from exc


def _failing_task(exc: BaseException) -> Any | None:
    """The engine task being worked on when ``exc`` was raised (the innermost ``my_task``)."""
    task = getattr(exc, "task", None)
    if isinstance(task, Task):
        return task
    found = None
    tb = exc.__traceback__
    while tb is not None:
        candidate = tb.tb_frame.f_locals.get("my_task")
        if isinstance(candidate, Task):
            found = candidate
        tb = tb.tb_next
    return found


def _came_from(task: Any) -> str | None:
    """The BPMN element a task was reached from (past the engine's own helper tasks)."""
    if _CAME_FROM in task.internal_data:
        return task.internal_data[_CAME_FROM]
    source = task.parent
    while source is not None and source.task_spec.bpmn_id is None:
        source = source.parent
    return source.task_spec.bpmn_id if source is not None else None


def _script_error(exc: BaseException) -> ScriptError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ScriptError):
            return current
        seen.add(id(current))
        inner = getattr(current, "exception", None)
        current = (
            inner if isinstance(inner, BaseException) else current.__cause__ or current.__context__
        )
    return None


def _next_timer(waiting: list[Any]) -> datetime | None:
    times = []
    for event in waiting:
        if event.event_type not in _TIMER_TYPES or not event.value:
            continue
        value = event.value
        try:
            when = TimerEventDefinition.get_datetime(value) if isinstance(value, str) else None
        except ValueError:
            when = None
        if when is not None:
            times.append(when if when.tzinfo else when.replace(tzinfo=UTC))
    return min(times) if times else None
