"""What a supervisor does to stuck work, one item or many: each item is checked and done (or
refused) on its own, with a result per item, and every action is audited on the case."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.extensions import db
from app.models import Case, ProcessInstance, User, WorkItem
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


def reassign_many(item_ids: list[int], username: str, actor: User) -> list[ItemResult]:
    """Hand each chosen item to one person of its queue; an item outside the supervisor's scope,
    already done, or whose queue the person does not work from is refused (and audited)."""
    scope = _require_supervisor(actor, "work_item.reassign")
    ids = _chosen(item_ids)
    target = db.session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if target is None:
        message = _("割り振り先の職員を一覧から選んでください。")
        raise InvalidInput(message, fields={"assignee": message})
    results = []
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
                    item.title,
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
                item.title,
            )
        )
    db.session.commit()
    return results


def candidates(actor: User) -> list[User]:
    """Everyone who works from a queue the supervisor oversees (the reassign picker)."""
    scope = scopes.of(actor)
    people: dict[int, User] = {}
    for queue in sorted(scope.queues):
        for user in queues.members(queue):
            people.setdefault(user.id, user)
    return sorted(people.values(), key=lambda user: user.display_name)


def change_due_many(item_ids: list[int], due_on: str, reason: str, actor: User) -> list[ItemResult]:
    """Move the due date of each chosen item (end of that day, Japan time), with a reason."""
    scope = _require_supervisor(actor, "work_item.due_change")
    ids = _chosen(item_ids)
    due_at = _due_at(due_on)
    reason = _reason(reason, what=_("期限を変える理由"))
    results = []
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
        results.append(ItemResult(item_id, True, _("期限を変えました。"), item.title))
    db.session.commit()
    return results


def note_many(item_ids: list[int], text: str, actor: User) -> list[ItemResult]:
    """Add a note to the case of each chosen item (shown on the case's timeline)."""
    scope = _require_supervisor(actor, "case.note")
    ids = _chosen(item_ids)
    text = _reason(text, what=_("メモ"))
    noted: set[int] = set()
    results = []
    for item in _workable(ids, scope, actor, "case.note", results, require_open=False):
        item_id = item.id
        if item.case_id not in noted:
            noted.add(item.case_id)
            audit.record(
                "case.note",
                "case",
                item.case_id,
                actor,
                case_id=item.case_id,
                detail={"text": text},
            )
        results.append(ItemResult(item_id, True, _("ケースにメモを残しました。"), item.title))
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
    instance = found[0]
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
    return ItemResult(instance_id, True, _("処理を再開しました。"))


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


def _chosen(item_ids: list[int]) -> list[int]:
    ids = list(dict.fromkeys(item_ids))
    if not ids:
        raise InvalidInput(_("作業を選んでください。"))
    if len(ids) > MAX_ITEMS:
        raise InvalidInput(_("一度に選べるのは%(limit)d件までです。", limit=MAX_ITEMS))
    return ids


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
        return ItemResult(item_id, False, _("すでに完了しています。"), item.title)
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


def end(instance_id: int, reason: str, actor: User) -> ItemResult:
    """End a case's process that must not go on (with the reason): its waiting work is cancelled,
    the case is closed, and the timeline says who ended it and why."""
    from app.services import instances

    _require_supervisor(actor, "process.end")
    reason = _reason(reason, what=_("終了する理由"))
    found = instance_in_view(instance_id, actor, "process.end")
    if found is None:
        return ItemResult(instance_id, False, _("見つからないか、監督の範囲外のケースです。"))
    instance, case = found
    if instance.status == "completed":
        return ItemResult(instance_id, False, _("このケースの処理はもう終わっています。"))
    run = instances.resume(instance)
    with instances.engine_errors():
        run.cancel()
    with instances.saving():
        instances.persist(instance, run, case=case)
        case.stage = "closed"
        audit.record(
            "process.end",
            "process_instance",
            instance.id,
            actor,
            case_id=case.id,
            detail={"reason": reason},
        )
    return ItemResult(instance_id, True, _("ケースの処理を終了しました。"))


def end_many(item_ids: list[int], reason: str, actor: User) -> list[ItemResult]:
    """End the processes of the chosen work items' cases (each once), with one reason."""
    return per_case(
        item_ids, reason, actor, "process.end", end, require_open=False, what=_("終了する理由")
    )


def per_case(
    item_ids: list[int],
    reason: str,
    actor: User,
    action: str,
    act: Callable[[int, str, User], ItemResult],
    require_open: bool = True,
    what: str | None = None,
) -> list[ItemResult]:
    """Do ``act`` (with one reason) once to the process of each chosen work item's case; items of
    a case already done share its result."""
    scope = _require_supervisor(actor, action)
    ids = _chosen(item_ids)
    reason = _reason(reason, what=what)
    results: list[ItemResult] = []
    done: dict[int, ItemResult] = {}
    for item in _workable(ids, scope, actor, action, results, require_open=require_open):
        item_id, title, instance_id = item.id, item.title, item.instance_id
        if instance_id not in done:
            done[instance_id] = act(instance_id, reason, actor)
        result = done[instance_id]
        results.append(ItemResult(item_id, result.ok, result.message, title))
    return results
