"""Moves running cases onto another version of their process: a preview in counts, then the move.

A deploy adds a version and leaves running cases where they are. A process designer (or an
administrator) previews what moving them would do, in counts per element and per reason, never
case content, and then moves the cases that can move. Each case moves in its own transaction: a
case that cannot move, or that someone changed meanwhile, stays exactly as it was, and the others
still move. A moved case keeps its work items (same rows, so assignees, claims and drafts stay),
its timers' due times and its data; its stage follows the new version, and the audit trail says
from which version to which.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.engine import migration
from app.engine.runtime import Run
from app.extensions import db
from app.models import Case, ProcessDefinition, ProcessInstance, User, WaitingEvent, WorkItem
from app.services import audit, case_progress, definitions, instances
from app.services.errors import Conflict, Forbidden, InvalidInput, NotFound

_log = logging.getLogger(__name__)
MAX_BATCH = 1000
MOVED, REFUSED, CONFLICT = "moved", "refused", "conflict"
ACTION = "process.migrate"

# Why a case cannot move: the engine's blockers, then the service's own.
NOT_FOUND, OTHER_PROCESS, SAME_VERSION = "not_found", "other_process", "same_version"
FINISHED, FAILED = "finished", "failed"
REASONS = {
    migration.REMOVED: _l("待っている要素が新しい版にありません"),
    migration.TYPE_CHANGED: _l("待っている要素の種類が変わっています"),
    migration.FORM_CHANGED: _l("入力中のタスクのフォームが変わっています"),
    migration.LANE_CHANGED: _l("入力中のタスクのレーン（担当の窓口）が変わっています"),
    migration.EVENT_CHANGED: _l("待っているイベントの種類（タイマー・メッセージ）が変わっています"),
    migration.BOUNDARY_CHANGED: _l("待っているタスクに付いた境界イベントが変わっています"),
    migration.SUBPROCESS_CHANGED: _l(
        "実行中の呼び出し（サブプロセス）の呼び出し先が変わっています"
    ),
    migration.SUBPROCESS_REMOVED: _l("実行中の呼び出し先のプロセスが新しい版にありません"),
    migration.HISTORY_REMOVED: _l("処理がまだ参照している完了済みの要素が新しい版にありません"),
    migration.ENGINE: _l("ワークフローエンジンが新しい版に移せませんでした"),
    NOT_FOUND: _l("指定された処理は見つかりません"),
    OTHER_PROCESS: _l("別のプロセスの処理です"),
    SAME_VERSION: _l("すでにこの版で動いています"),
    FINISHED: _l("終了した処理は移行できません"),
    FAILED: _l("移行中にエラーが起きました（ケースは元のままです）"),
}
# What changed on an element, in words (a property keeps its own name, e.g. dueInDays).
CHANGE_LABELS = {
    "id": _l("要素ID"),
    "name": _l("名前"),
    "lane": _l("レーン"),
    "event": _l("イベントの定義"),
    "flow": _l("前後のつながり"),
    "type": _l("要素の種類"),
}


@dataclass(frozen=True)
class VersionRef:
    """One version of a process, as the pages name it."""

    id: int
    key: str
    name: str
    version: int


@dataclass(frozen=True)
class ReasonCount:
    """How many cases (or waiting tasks) one reason holds back."""

    code: str
    count: int

    @property
    def label(self) -> str:
        return str(REASONS.get(self.code, self.code))


@dataclass(frozen=True)
class ElementCount:
    """One element of the old version where cases wait, and what moving them does there."""

    process_key: str
    element_id: str
    name: str
    kind: str  # "user_task", "timer", "message", "call", "other"
    target_id: str | None  # where its tasks land in the new version (None: removed)
    waiting: int  # cases waiting here
    movable: int  # of those, cases that can move
    blocked: tuple[ReasonCount, ...]  # tasks here that block their case, by reason
    changes: tuple[str, ...]  # what changed on the element (CHANGE_LABELS or a property name)

    @property
    def held(self) -> int:
        """Cases whose task here could move but that wait elsewhere at something that blocks."""
        return max(0, self.waiting - self.movable - sum(r.count for r in self.blocked))


@dataclass(frozen=True)
class Preview:
    """What moving the running cases of ``old`` onto ``new`` would do, in counts only."""

    old: VersionRef
    new: VersionRef
    total: int
    movable_ids: tuple[int, ...]
    blocked: tuple[ReasonCount, ...]  # cases held back, by reason (a case may have several)
    elements: tuple[ElementCount, ...]

    @property
    def movable(self) -> int:
        return len(self.movable_ids)


@dataclass(frozen=True)
class InstanceResult:
    """What happened to one instance: moved, refused (with the reasons), or a conflict."""

    instance_id: int
    outcome: str  # MOVED, REFUSED, CONFLICT
    reasons: tuple[str, ...] = ()
    message: str = ""
    from_version: int | None = None


@dataclass(frozen=True)
class MigrationReport:
    """The per-instance results of one bulk migration onto ``new``."""

    new: VersionRef
    results: tuple[InstanceResult, ...]

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)


def may_migrate(actor: User) -> bool:
    """Whether the actor may preview and migrate (pages use it to offer the action): those who
    may deploy (designers; administrators where the municipality allows it)."""
    from app.services.design import drafts

    return drafts.may_design(actor)


def preview(old_definition_id: int, new_definition_id: int, actor: User) -> Preview:
    """Try every running instance of ``old`` on ``new`` without saving anything; counts per element
    and per reason, and the ids of the instances that can move."""
    _require(actor, "process.migration_preview", new_definition_id)
    old = _definition(old_definition_id)
    new = _definition(new_definition_id)
    if old.key != new.key:
        raise InvalidInput(_("同じプロセスの版を選んでください。"))
    if old.id == new.id:
        raise InvalidInput(_("移行元と移行先に同じ版が選ばれています。"))
    old_bundle, new_bundle, forms = (
        definitions.bundle(old),
        definitions.bundle(new),
        _forms(old, new),
    )
    movable: list[int] = []
    reasons: Counter[str] = Counter()
    tallies: dict[tuple[str, str], _Tally] = {}
    rows = db.session.execute(
        select(ProcessInstance.id, ProcessInstance.state)
        .where(ProcessInstance.definition_id == old.id, ProcessInstance.status != "completed")
        .order_by(ProcessInstance.id)
        .execution_options(yield_per=100)  # states are large: never all of them at once
    )
    total = 0
    for instance_id, state in rows:
        total += 1
        outcome = migration.migrate(old_bundle, state, new_bundle, forms)
        _log_detail(instance_id, outcome)
        reasons.update(outcome.reasons)
        movable.extend([instance_id] if outcome.can_move else [])
        for move in outcome.moves:
            key = (move.process_key, move.element_id)
            tallies.setdefault(key, _Tally(move)).add(move, outcome)
    elements = sorted(
        (t.count() for t in tallies.values()),
        key=lambda e: (e.process_key != old.key, e.process_key, -e.waiting, e.name),
    )
    result = Preview(
        _ref(old), _ref(new), total, tuple(movable), _reason_counts(reasons), tuple(elements)
    )
    counts = {"total": result.total, "movable": result.movable}
    detail = {"key": new.key, "from": old.version, "to": new.version, **counts}
    audit.record("process.migration_preview", "process_definition", new.id, actor, detail=detail)
    audit.commit_read()
    return result


@dataclass
class _Tally:
    """One element's counts while the instances are tried."""

    move: migration.Move
    waiting: int = 0
    movable: int = 0
    blocked: Counter[str] = field(default_factory=Counter)
    changes: dict[str, None] = field(default_factory=dict)
    last: migration.Outcome | None = None  # a case waiting twice at one element counts once

    def add(self, move: migration.Move, outcome: migration.Outcome) -> None:
        if self.last is not outcome:
            self.last = outcome
            self.waiting += 1
            self.movable += int(outcome.can_move)
        self.blocked.update([move.blocker] if move.blocker else [])
        self.changes.update(dict.fromkeys(move.changes))

    def count(self) -> ElementCount:
        m, blocked = self.move, _reason_counts(self.blocked)
        where = (m.process_key, m.element_id, m.name, m.kind, m.target_id)
        return ElementCount(*where, self.waiting, self.movable, blocked, tuple(self.changes))


def _reason_counts(counter: Counter[str]) -> tuple[ReasonCount, ...]:
    order = [*migration.BLOCKERS, *(c for c in REASONS if c not in migration.BLOCKERS)]
    return tuple(ReasonCount(code, counter[code]) for code in order if counter.get(code))


def migrate(instance_ids: Iterable[int], new_definition_id: int, actor: User) -> MigrationReport:
    """Move each instance onto version ``new_definition_id``, each in its own transaction."""
    _require(actor, ACTION, new_definition_id)
    new = _definition(new_definition_id)
    ids = list(dict.fromkeys(int(i) for i in instance_ids))
    if not ids:
        raise InvalidInput(_("移行するケースを選んでください。"))
    if len(ids) > MAX_BATCH:
        raise InvalidInput(_("一度に移行できるのは%(limit)d件までです。", limit=MAX_BATCH))
    forms: dict[int, migration.Forms] = {}
    results = [_migrate_one(instance_id, new, actor, forms) for instance_id in ids]
    return MigrationReport(new=_ref(new), results=tuple(results))


def _migrate_one(
    instance_id: int, new: ProcessDefinition, actor: User, forms: dict[int, migration.Forms]
) -> InstanceResult:
    db.session.rollback()  # each instance starts from what is committed
    instance = db.session.get(ProcessInstance, instance_id)
    refusal = _refusal(instance, new)
    if refusal is not None:
        return _refuse(instance_id, instance, new, actor, [refusal])
    old, case_id, version = instance.definition, instance.case_id, instance.definition.version
    detail = {"key": new.key, "from": version, "to": new.version}
    if old.id not in forms:
        forms[old.id] = _forms(old, new)
    try:
        bundle = definitions.bundle(new)
        outcome = migration.migrate(definitions.bundle(old), instance.state, bundle, forms[old.id])
        if not outcome.can_move:
            _log_detail(instance_id, outcome)
            return _refuse(instance_id, instance, new, actor, outcome.reasons)
        with instances.saving():
            _move(instance, old, new, Run.resume(bundle, outcome.state), outcome)
            audit.record(
                ACTION, "process_instance", instance_id, actor, case_id=case_id, detail=detail
            )
    except Conflict as exc:
        audit.record_alone(
            ACTION,
            "process_instance",
            instance_id,
            actor,
            outcome=CONFLICT,
            case_id=case_id,
            detail=detail,
        )
        return InstanceResult(instance_id, CONFLICT, (), exc.message, version)
    except Exception:  # noqa: BLE001 - one case failing must leave it as it was and not stop the rest
        _log.exception("migrating instance %s to definition %s failed", instance_id, new.id)
        db.session.rollback()
        return _refuse(
            instance_id, db.session.get(ProcessInstance, instance_id), new, actor, [FAILED]
        )
    return InstanceResult(instance_id, MOVED, (), _("移行しました。"), version)


def _refusal(instance: ProcessInstance | None, new: ProcessDefinition) -> str | None:
    if instance is None:
        return NOT_FOUND
    if instance.definition.key != new.key:
        return OTHER_PROCESS
    if instance.definition_id == new.id:
        return SAME_VERSION
    if instance.status == "completed":
        return FINISHED
    return None


def _refuse(
    instance_id: int, instance: Any, new: ProcessDefinition, actor: User, reasons: list[str]
) -> InstanceResult:
    """Record the refusal (nothing of the case changed) and say why, in Japanese."""
    known = instance is not None and instance.definition.key == new.key
    version, case_id = (instance.definition.version, instance.case_id) if known else (None, None)
    detail = {"key": new.key, "from": version, "to": new.version, "reasons": reasons}
    audit.record_alone(
        ACTION,
        "process_instance",
        instance_id,
        actor,
        outcome=REFUSED,
        case_id=case_id,
        detail=detail,
    )
    message = "、".join(str(REASONS[code]) for code in reasons)
    return InstanceResult(instance_id, REFUSED, tuple(reasons), message, version)


def _move(
    instance: ProcessInstance,
    old: ProcessDefinition,
    new: ProcessDefinition,
    run: Run,
    outcome: migration.Outcome,
) -> None:
    """Store the moved state and bring what is indexed from it along, in the current transaction."""
    renamed = {
        (m.process_key, m.element_id): m.target_id
        for m in outcome.moves
        if m.target_id and m.target_id != m.element_id
    }
    for row in db.session.scalars(
        select(WaitingEvent).where(WaitingEvent.instance_id == instance.id)
    ):
        # Renamed here, a row is kept by the rebuild below: how long the case has waited stays.
        row.element_id = renamed.get((row.process_key, row.element_id), row.element_id)
    last_progress = instance.last_progress_at
    instance.definition = new
    case = db.session.get(Case, instance.case_id) if instance.case_id is not None else None
    instances.persist(instance, run, case=case)
    instance.last_progress_at = last_progress  # moving versions is not progress on the case
    old_bundle = definitions.bundle(old)
    moved_from = {m.task_id: m for m in outcome.moves}
    items = {
        item.task_id: item
        for item in db.session.scalars(
            select(WorkItem).where(WorkItem.instance_id == instance.id, WorkItem.status == "open")
        )
    }
    new_stages = []
    for task in run.ready_tasks():
        item, was = items.get(task.task_id), moved_from.get(task.task_id)
        if item is None or was is None:
            continue
        item.element_id = task.element_id
        item.title = task.name
        item.council_material = task.properties.get("councilMaterial") == "true"
        item.priority = int(task.properties.get("priority") or instances.DEFAULT_PRIORITY)
        before = old_bundle.properties(was.element_id, was.process_key).get("stage")
        stage = task.properties.get("stage")
        if case is not None and stage and stage != before and case.stage == before:
            new_stages.append(task)
    if case is not None and new_stages:
        case_progress.on_step(case, instance, False, new_stages)


def _forms(old: ProcessDefinition, new: ProcessDefinition) -> migration.Forms:
    return migration.Forms(old=_forms_by_key(old), new=_forms_by_key(new))


def _forms_by_key(definition: ProcessDefinition) -> dict[str, dict[str, Any]]:
    """The forms of a version and of every version it calls, by process key."""
    found: dict[str, dict[str, Any]] = {}
    pending = [definition]
    while pending:
        row = pending.pop()
        if row is None or row.key in found:
            continue
        found[row.key] = dict(row.forms or {})
        pending.extend(db.session.get(ProcessDefinition, i) for i in row.called_definition_ids)
    return found


def _log_detail(instance_id: int, outcome: migration.Outcome) -> None:
    if outcome.detail:
        _log.info("instance %s cannot move: %s", instance_id, outcome.detail)


def _require(actor: User, action: str, object_id: object) -> None:
    if not may_migrate(actor):
        audit.record_alone(action, "process_definition", object_id, actor, outcome="denied")
        raise Forbidden(_("ケースの移行はプロセス設計者とシステム管理者だけが行えます。"))


def _definition(definition_id: int) -> ProcessDefinition:
    row = db.session.get(ProcessDefinition, definition_id)
    if row is None:
        raise NotFound(_("指定されたプロセスの版は見つかりません。"))
    return row


def _ref(row: ProcessDefinition) -> VersionRef:
    return VersionRef(id=row.id, key=row.key, name=row.name, version=row.version)
