"""What a supervisor does to stuck work, one item or many: each item is checked and done (or
refused) on its own, with a result per item, and every action is audited on the case."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import Agency, Case, Group, Membership, ProcessInstance, User, WorkItem
from app.models.base import utcnow
from app.services import access, audit, clock, queues
from app.services.errors import Forbidden, InvalidInput
from app.services.supervision import scope as scopes

MAX_ITEMS = 200


@dataclass
class ItemResult:
    item_id: int
    ok: bool
    message: str
    title: str = ""


def _require_supervisor(actor: User, action: str) -> scopes.Scope:
    if actor.role != scopes.SUPERVISOR or not actor.active:
        audit.record_alone(action, "work_item", None, actor, outcome="denied")
        raise Forbidden(_("この操作は係長・課長だけが行えます。"))
    return scopes.of(actor)


def _in_scope(item: WorkItem | None, scope: scopes.Scope, actor: User) -> bool:
    """The item is open work in a queue the supervisor oversees, on a case they may see."""
    if item is None or item.queue not in scope.queues:
        return False
    if item.case_id is None:
        return True
    case = db.session.get(Case, item.case_id)
    return case is not None and access.may_see_case(actor, case)


def reassign_many(
    item_ids: list[int], username: str, actor: User, case_ids: Sequence[int] = ()
) -> list[ItemResult]:
    """Hand each chosen item to one person of its queue; an item outside the supervisor's scope,
    already done, or whose queue the person does not work from is refused (and audited)."""
    scope = _require_supervisor(actor, "work_item.reassign")
    ids = _chosen(item_ids, case_ids)
    target = db.session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if target is None:
        message = _("割り振り先の職員を一覧から選んでください。")
        raise InvalidInput(message, fields={"assignee": message})
    results: list[ItemResult] = []
    _only_items(case_ids, results)
    for item in _workable(ids, scope, actor, "work_item.reassign", results):
        item_id = item.id
        if target not in queues.members(item.queue) or not access.may_work_on(target, item):
            audit.record(
                "work_item.reassign",
                "work_item",
                item.id,
                actor,
                case_id=item.case_id,
                outcome="denied",
                detail={"to": target.id},
            )
            results.append(
                ItemResult(
                    item_id,
                    False,
                    _("%(name)s さんはこのキューの担当ではありません。", name=target.display_name),
                    item_label(item),
                )
            )
            continue
        before = item.assignee_id
        item.assignee_id = target.id
        item.claimed_at = utcnow()
        audit.record(
            "work_item.reassign",
            "work_item",
            item.id,
            actor,
            case_id=item.case_id,
            detail={"from": before, "to": target.id, "bulk": len(ids) > 1},
        )
        results.append(
            ItemResult(
                item_id,
                True,
                _("%(name)s さんに割り振りました。", name=target.display_name),
                item_label(item),
            )
        )
    db.session.commit()
    return results


def candidates(actor: User) -> list[Any]:
    """Everyone who works from a queue the supervisor oversees (the reassign picker): rows of
    ``id``, ``username``, ``display_name``, by name, read in one statement."""
    scope = scopes.of(actor)
    prefix = queues.agency_queue("")
    codes = sorted(key[len(prefix) :] for key in scope.queues if key.startswith(prefix))
    groups = sorted(key for key in scope.queues if not key.startswith(prefix))
    if not codes and not groups:
        return []
    works_there = []
    if codes:
        works_there.append(User.agency_id.in_(select(Agency.id).where(Agency.code.in_(codes))))
    if groups:
        works_there.append(
            User.id.in_(
                select(Membership.user_id)
                .join(Group, Group.id == Membership.group_id)
                .where(Group.key.in_(groups))
            )
        )
    return list(
        db.session.execute(
            select(User.id, User.username, User.display_name)
            .where(User.active.is_(True), or_(*works_there))
            .order_by(User.display_name, User.id)
        )
    )


def change_due_many(
    item_ids: list[int], due_on: str, reason: str, actor: User, case_ids: Sequence[int] = ()
) -> list[ItemResult]:
    """Move the due date of each chosen item (end of that day, Japan time), with a reason."""
    scope = _require_supervisor(actor, "work_item.due_change")
    ids = _chosen(item_ids, case_ids)
    due_at = _due_at(due_on)
    reason = _reason(reason, what=_("期限を変える理由"))
    results: list[ItemResult] = []
    _only_items(case_ids, results)
    for item in _workable(ids, scope, actor, "work_item.due_change", results):
        item_id = item.id
        before = item.due_at
        item.due_at = due_at
        audit.record(
            "work_item.due_change",
            "work_item",
            item.id,
            actor,
            case_id=item.case_id,
            detail={
                "from": before.isoformat() if before else None,
                "to": due_at.isoformat(),
                "reason": reason,
                "title": item.title,
            },
        )
        results.append(ItemResult(item_id, True, _("期限を変えました。"), item_label(item)))
    db.session.commit()
    return results


def note_many(
    item_ids: list[int], text: str, actor: User, case_ids: Sequence[int] = ()
) -> list[ItemResult]:
    """Add a note to the case of each chosen item or case (shown on the case's timeline)."""
    scope = _require_supervisor(actor, "case.note")
    ids = _chosen(item_ids, case_ids)
    text = _reason(text, what=_("メモ"))
    noted: set[int] = set()

    def note_once(case_id: int) -> None:
        if case_id not in noted:
            noted.add(case_id)
            audit.record(
                "case.note", "case", case_id, actor, case_id=case_id, detail={"text": text}
            )

    results: list[ItemResult] = []
    for item in _workable(ids, scope, actor, "case.note", results, require_open=False):
        note_once(item.case_id)
        results.append(ItemResult(item.id, True, _("ケースにメモを残しました。"), item_label(item)))
    for case in _cases(case_ids, actor, "case.note", results):
        note_once(case.id)
        results.append(ItemResult(case.id, True, _("ケースにメモを残しました。"), case_label(case)))
    db.session.commit()
    return results


def retry(instance_id: int, actor: User) -> ItemResult:
    """Run again a process the engine stopped (after the cause was fixed): its error is cleared
    and its due timers fire now; a new failure marks it in error again."""
    from app.models import WaitingEvent
    from app.services import events

    _require_supervisor(actor, "process.retry")
    found = instance_in_view(instance_id, actor, "process.retry")
    if found is None:
        return ItemResult(instance_id, False, _("見つからないか、監督の範囲外のケースです。"))
    instance, label = found[0], case_label(found[1])
    if instance.error is None:
        return ItemResult(instance_id, False, _("このケースの処理は止まっていません。"))
    due = db.session.scalar(
        select(func.min(WaitingEvent.due_at)).where(
            WaitingEvent.instance_id == instance.id, WaitingEvent.kind == "timer"
        )
    )
    instance.error = None
    instance.next_timer_at = due
    audit.record("process.retry", "process_instance", instance.id, actor, case_id=instance.case_id)
    db.session.commit()
    now = utcnow()
    if due is not None and due <= now:
        events.fire_instance(instance.id, now)
    db.session.expire_all()
    instance = db.session.get(ProcessInstance, instance_id)
    if instance.error:
        return ItemResult(
            instance_id, False, _("もう一度止まりました：%(error)s", error=instance.error)
        )
    return ItemResult(instance_id, True, _("処理を再開しました。"), label)


def instance_in_view(
    instance_id: int, actor: User, action: str
) -> tuple[ProcessInstance, Case] | None:
    """A case's process and the case, when the supervisor may see the case; else the refusal is
    audited and None comes back."""
    instance = db.session.get(ProcessInstance, instance_id)
    case = db.session.get(Case, instance.case_id) if instance and instance.case_id else None
    if instance is None or case is None or not access.may_see_case(actor, case):
        audit.record_alone(action, "process_instance", instance_id, actor, outcome="denied")
        return None
    return instance, case


def _chosen(item_ids: list[int], case_ids: Sequence[int] = ()) -> list[int]:
    """The chosen work items (each once); rows of a case as a whole (``case_ids``) count too."""
    ids = list(dict.fromkeys(item_ids))
    if not ids and not case_ids:
        raise InvalidInput(_("作業を選んでください。"))
    if len(ids) + len(set(case_ids)) > MAX_ITEMS:
        raise InvalidInput(_("一度に選べるのは%(limit)d件までです。", limit=MAX_ITEMS))
    return ids


def _only_items(case_ids: Sequence[int], results: list[ItemResult]) -> None:
    """Reassigning and due dates are about a task: a row of a case as a whole is refused."""
    for case_id in dict.fromkeys(case_ids):
        case = db.session.get(Case, case_id)
        results.append(
            ItemResult(
                case_id,
                False,
                _("タスクの行ではありません（割り振りと期限はタスクの行だけです）。"),
                case.number if case is not None else "",
            )
        )


def _cases(
    case_ids: Sequence[int], actor: User, action: str, results: list[ItemResult]
) -> Iterator[Case]:
    """The chosen cases (rows about a case as a whole) the supervisor may open; each refusal goes
    into ``results`` and is audited."""
    for case_id in dict.fromkeys(case_ids):
        case = db.session.get(Case, case_id)
        if case is None or not access.may_see_case(actor, case):
            audit.record(action, "case", case_id, actor, outcome="denied")
            results.append(
                ItemResult(case_id, False, _("見つからないか、監督の範囲外のケースです。"))
            )
            continue
        yield case


def case_label(case: Case) -> str:
    return f"{case.number} {case.title}"


def item_label(item: WorkItem) -> str:
    """The item as a result line names it: its case's number, then the task."""
    case = db.session.get(Case, item.case_id) if item.case_id is not None else None
    return f"{case.number} {item.title}" if case is not None else item.title


def open_instance(case: Case) -> ProcessInstance | None:
    """The case's process that has not finished (the latest one)."""
    return db.session.scalar(
        select(ProcessInstance)
        .where(ProcessInstance.case_id == case.id, ProcessInstance.status != "completed")
        .order_by(ProcessInstance.id.desc())
        .limit(1)
    )


def _workable(
    ids: list[int],
    scope: scopes.Scope,
    actor: User,
    action: str,
    results: list[ItemResult],
    require_open: bool = True,
) -> Iterator[WorkItem]:
    """The chosen items the supervisor may act on; each refusal goes into ``results``."""
    for item_id in ids:
        item = db.session.get(WorkItem, item_id)
        refused = _refusal(item, item_id, scope, actor, action, require_open)
        if refused:
            results.append(refused)
        else:
            yield item


def _refusal(
    item: WorkItem | None,
    item_id: int,
    scope: scopes.Scope,
    actor: User,
    action: str,
    require_open: bool = True,
) -> ItemResult | None:
    if not _in_scope(item, scope, actor):
        audit.record(action, "work_item", item_id, actor, outcome="denied")
        return ItemResult(item_id, False, _("見つからないか、監督の範囲外の作業です。"))
    if require_open and item.status != "open":
        return ItemResult(item_id, False, _("すでに完了しています。"), item_label(item))
    return None


def _due_at(text: str) -> datetime:
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError:
        message = _("新しい期限を日付で入力してください。")
        raise InvalidInput(message, fields={"due_on": message}) from None
    if day < clock.today():
        message = _("過去の日付は期限にできません。")
        raise InvalidInput(message, fields={"due_on": message})
    end = datetime.combine(day, time(23, 59, 59), tzinfo=clock.LOCAL)
    return end.astimezone(UTC)


def _reason(text: str, what: str | None = None) -> str:
    text = (text or "").strip()
    if not text or len(text) > 1000 or "\x00" in text:
        message = _("%(what)sを入力してください（1000文字以内）。", what=what or _("理由"))
        raise InvalidInput(message, fields={"reason": message})
    return text


def per_case(
    item_ids: list[int],
    reason: str,
    actor: User,
    action: str,
    act: Callable[[int, str, User], ItemResult],
    require_open: bool = True,
    what: str | None = None,
    case_ids: Sequence[int] = (),
) -> list[ItemResult]:
    """Do ``act`` (with one reason) once to the process of each chosen work item's case and of
    each chosen case; rows of a case already done share its result."""
    scope = _require_supervisor(actor, action)
    ids = _chosen(item_ids, case_ids)
    reason = _reason(reason, what=what)
    results: list[ItemResult] = []
    done: dict[int, ItemResult] = {}
    for item in _workable(ids, scope, actor, action, results, require_open=require_open):
        item_id, title, instance_id = item.id, item_label(item), item.instance_id
        if instance_id not in done:
            done[instance_id] = act(instance_id, reason, actor)
        result = done[instance_id]
        results.append(ItemResult(item_id, result.ok, result.message, title))
    for case in _cases(case_ids, actor, action, results):
        case_id, title = case.id, case_label(case)
        instance = open_instance(case)
        if instance is None:
            results.append(
                ItemResult(case_id, False, _("このケースの処理はもう終わっています。"), title)
            )
            continue
        if instance.id not in done:
            done[instance.id] = act(instance.id, reason, actor)
        result = done[instance.id]
        results.append(ItemResult(case_id, result.ok, result.message, title))
    return results
