"""A supervisor's hold on a case's process (一時停止), its release (再開), and its end (終了) when
it must not go on.

While an instance is held nobody can complete its tasks, no message moves it and the timer worker
passes it by; what falls due meanwhile fires once the hold is released. Holding and releasing are
audited on the case and shown on its timeline; ending cancels the waiting work and closes the case.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.extensions import db
from app.models import Case, ProcessInstance, User, WaitingEvent
from app.models.base import utcnow
from app.services import audit
from app.services.supervision.actions import (
    ItemResult,
    _reason,
    _require_supervisor,
    case_label,
    instance_in_view,
    per_case,
)


def _unfinished(
    instance_id: int, actor: User, action: str, reason: str, what: str
) -> tuple[str, ProcessInstance, Case] | ItemResult:
    """The reason given and a case's process the supervisor may see that has not finished, or
    why not (a missing reason is refused for the whole action)."""
    _require_supervisor(actor, action)
    reason = _reason(reason, what=what)
    found = instance_in_view(instance_id, actor, action)
    if found is None:
        return ItemResult(instance_id, False, _("見つからないか、監督の範囲外のケースです。"))
    if found[0].status == "completed":
        return ItemResult(instance_id, False, _("このケースの処理はもう終わっています。"))
    return reason, *found


def hold(instance_id: int, reason: str, actor: User) -> ItemResult:
    """Stop a case's process where it stands, with the reason, until it is resumed."""
    found = _unfinished(instance_id, actor, "process.hold", reason, _("一時停止する理由"))
    if isinstance(found, ItemResult):
        return found
    reason, instance, case = found
    if instance.held_at is not None:
        return ItemResult(instance_id, False, _("このケースはすでに一時停止しています。"))
    instance.held_at = utcnow()
    instance.held_by_id = actor.id
    instance.hold_reason = reason
    audit.record(
        "process.hold",
        "process_instance",
        instance.id,
        actor,
        case_id=case.id,
        detail={"reason": reason},
    )
    db.session.commit()
    return ItemResult(instance_id, True, _("ケースの処理を一時停止しました。"))


def release(instance_id: int, actor: User) -> ItemResult:
    """Let a held process go on; timers that fell due meanwhile fire now."""
    from app.services import events

    _require_supervisor(actor, "process.resume")
    found = instance_in_view(instance_id, actor, "process.resume")
    if found is None:
        return ItemResult(instance_id, False, _("見つからないか、監督の範囲外のケースです。"))
    instance, case = found
    if instance.held_at is None:
        return ItemResult(instance_id, False, _("このケースは一時停止していません。"))
    held_days = round((utcnow() - instance.held_at).total_seconds() / 86400, 1)
    label = case_label(case)
    instance.held_at = None
    instance.held_by_id = None
    instance.hold_reason = None
    audit.record(
        "process.resume",
        "process_instance",
        instance.id,
        actor,
        case_id=case.id,
        detail={"held_days": held_days},
    )
    db.session.commit()
    now = utcnow()
    due = db.session.scalar(
        select(func.min(WaitingEvent.due_at)).where(
            WaitingEvent.instance_id == instance_id, WaitingEvent.kind == "timer"
        )
    )
    if due is not None and due <= now and instance.next_timer_at is not None:
        events.fire_instance(instance_id, now)
    return ItemResult(instance_id, True, _("ケースの処理を再開しました。"), label)


def hold_many(
    item_ids: list[int], reason: str, actor: User, case_ids: Sequence[int] = ()
) -> list[ItemResult]:
    """Hold the processes of the chosen work items' cases and chosen cases (each once), with one
    reason."""
    return per_case(
        item_ids, reason, actor, "process.hold", hold, what=_("一時停止する理由"), case_ids=case_ids
    )


def end(instance_id: int, reason: str, actor: User) -> ItemResult:
    """End a case's process that must not go on (with the reason): its waiting work is cancelled,
    the case is closed, and the timeline says who ended it and why."""
    from app.services import instances

    found = _unfinished(instance_id, actor, "process.end", reason, _("終了する理由"))
    if isinstance(found, ItemResult):
        return found
    reason, instance, case = found
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


def end_many(
    item_ids: list[int], reason: str, actor: User, case_ids: Sequence[int] = ()
) -> list[ItemResult]:
    """End the processes of the chosen work items' cases and chosen cases (each once), with one
    reason; a finished item may be chosen (its case's process may still wait elsewhere)."""
    what = _("終了する理由")
    return per_case(item_ids, reason, actor, "process.end", end, False, what, case_ids)
