"""The municipality's own time limit per step (days), which the stalled-case view judges lateness
by instead of the diagram's ``dueInDays``: edited by the administrator, one row per user task."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, select

from app.engine import bpmn_xml
from app.extensions import db
from app.models import StepLimit, User
from app.services import audit, definitions
from app.services.admin import require_admin
from app.services.errors import InvalidInput
from app.services.supervision import readmodel


@dataclass
class LimitRow:
    process_key: str
    process_name: str
    element_id: str
    name: str
    diagram_days: str | None
    days: int | None

    @property
    def field(self) -> str:
        return f"limit-{self.process_key}-{self.element_id}"


def rows(actor: User) -> list[LimitRow]:
    """Every user task of the newest version of each process, with its limits."""
    require_admin(actor, "step_limit.view", "step_limit")
    stored = {
        (row.process_key, row.element_id): row.days for row in db.session.scalars(select(StepLimit))
    }
    found = []
    seen: set[str] = set()
    for version in definitions.versions():
        if version.key in seen:
            continue
        seen.add(version.key)
        for element_id, name, due in bpmn_xml.user_tasks(version.bpmn_xml, version.key):
            found.append(
                LimitRow(
                    version.key,
                    version.name,
                    element_id,
                    name,
                    due,
                    stored.get((version.key, element_id)),
                )
            )
    return found


def save(actor: User, form: dict[str, str]) -> int:
    """Store the limits typed in the form (blank: the diagram's); returns how many changed."""
    require_admin(actor, "step_limit.change", "step_limit")
    current = rows(actor)
    errors: dict[str, str] = {}
    wanted: dict[tuple[str, str], int | None] = {}
    for row in current:
        raw = (form.get(row.field) or "").strip()
        if not raw:
            wanted[(row.process_key, row.element_id)] = None
        elif raw.isdigit() and 1 <= int(raw) <= 365:
            wanted[(row.process_key, row.element_id)] = int(raw)
        else:
            errors[row.field] = _("1〜365の日数で入力してください（空欄なら図の期限）。")
    if errors:
        raise InvalidInput(_("入力に誤りがあります。各項目を確かめてください。"), fields=errors)
    changed = 0
    for row in current:
        days = wanted[(row.process_key, row.element_id)]
        if days == row.days:
            continue
        changed += 1
        db.session.execute(
            delete(StepLimit).where(
                StepLimit.process_key == row.process_key, StepLimit.element_id == row.element_id
            )
        )
        if days is not None:
            db.session.add(
                StepLimit(process_key=row.process_key, element_id=row.element_id, days=days)
            )
        readmodel.touch_step(db.session, row.process_key, row.element_id)
        audit.record(
            "step_limit.change",
            "step_limit",
            f"{row.process_key}/{row.element_id}",
            actor,
            detail={"before": row.days, "after": days},
        )
    db.session.commit()
    return changed
