"""Opening support cases and reading their summaries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Agency, Case, ProcessInstance, User, WorkItem
from app.models.base import utcnow
from app.services import access, audit, definitions, forms, instances, records, settings
from app.services.errors import Conflict, InvalidInput, NotFound

DEFAULT_CASE_PROCESS = "support_case"
# Two windows opening cases at the same moment may draw the same next number; the one whose
# insert loses draws again (the winner's row is committed by then).
NUMBER_ATTEMPTS = 10


def next_number(now: datetime | None = None) -> str:
    """Case numbers read K-<year>-<serial>, e.g. K-2026-000012."""
    year = (now or utcnow()).year
    prefix = f"K-{year}-"
    last = db.session.scalar(select(func.max(Case.number)).where(Case.number.like(f"{prefix}%")))
    serial = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{serial:06d}"


def open_case(
    actor: User, title: str, intake: dict[str, Any], agency_code: str | None = None
) -> Case:
    """Record a new case and start the support flow for it, in one transaction."""
    problems: dict[str, str] = {}
    title = (title or "").strip() if isinstance(title, str) else ""
    if not title:
        problems["title"] = _("件名は必須です。入力してください。")
    elif len(title) > 200:
        problems["title"] = _("件名は200文字以内で入力してください。")
    problems.update(forms.unusable_text({"title": title, "agency": agency_code or ""}))
    agency = actor.agency
    if "agency" in problems:
        agency = None
    elif agency_code:
        agency = db.session.scalar(select(Agency).where(Agency.code == agency_code))
        if agency is None:
            problems["agency"] = _("登録されている窓口を指定してください。")
    elif agency is None:
        problems["agency"] = _("受付窓口を指定してください。")
    start_form = intake_form()
    if not isinstance(intake, dict):
        problems["intake"] = _("申込票の内容はJSONオブジェクトで送ってください。")
    elif start_form is not None:
        problems.update(forms.errors_for(start_form, intake))
    if problems:
        raise InvalidInput(
            _("入力内容に誤りがあります。各項目のメッセージを確認してください。"), fields=problems
        )
    for attempt in range(NUMBER_ATTEMPTS):
        try:
            with instances.saving():
                return _record_case(actor, title, intake, agency)
        except IntegrityError as exc:
            db.session.rollback()
            if not _number_taken(exc):
                raise
            if attempt == NUMBER_ATTEMPTS - 1:
                raise Conflict(
                    _("同時に多くのケースが登録されています。もう一度お試しください。")
                ) from exc
    raise AssertionError("unreachable")


def _number_taken(exc: IntegrityError) -> bool:
    text = str(exc.orig)
    return "support_case" in text and "number" in text


def _record_case(actor: User, title: str, intake: dict[str, Any], agency: Agency) -> Case:
    case = Case(
        number=next_number(),
        title=title,
        intake_agency_id=agency.id,
        primary_agency_id=agency.id,
        intake=intake,
        created_by_id=actor.id,
        stage="intake",
    )
    db.session.add(case)
    db.session.flush()
    records.record_intake(case, intake, actor)
    _start_cycle(case, agency, actor)
    audit.record("case.create", "case", case.id, actor, case_id=case.id)
    return case


def case_process_key() -> str:
    return current_app.config.get("KASANE_CASE_PROCESS", DEFAULT_CASE_PROCESS)


def intake_form_key() -> str | None:
    """The form key of the 相談受付・申込票 (the start form of the newest case process)."""
    return definitions.latest(case_process_key()).start_form


def intake_form() -> dict[str, Any] | None:
    """The 相談受付・申込票 schema: the start form of the newest case process, if it has one."""
    definition = definitions.latest(case_process_key())
    schema = definition.forms.get(definition.start_form) if definition.start_form else None
    return forms.with_pickers(schema) if schema is not None else None


def _start_cycle(case: Case, agency: Agency, actor: User) -> None:
    key = case_process_key()
    data = {
        "case_number": case.number,
        "cycle": case.cycle,
        "intake_agency": agency.code,
        "primary_agency": agency.code,
        **settings.process_variables(),
    }
    instances.start(key, case=case, data=data, actor=actor, commit=False)


def reopen(case_id: int, actor: User, reason: str) -> Case:
    """Start a new support cycle for a closed case: same person and household, history intact."""
    case = get(case_id, actor)
    if case.status != "closed":
        raise Conflict(_("終結していないケースは再開できません。"))
    if not reason.strip() or forms.unusable_text(reason):
        raise InvalidInput(
            _("再開の理由を入力してください。"),
            fields={"reason": _("必須項目です。入力してください。")},
        )
    agency = actor.agency or case.primary_agency or case.intake_agency
    with instances.saving():
        case.cycle = (case.cycle or 1) + 1
        case.status, case.stage, case.closed_at = "open", "intake", None
        case.intake_agency_id = agency.id
        case.primary_agency_id = agency.id
        _start_cycle(case, agency, actor)
        audit.record(
            "case.reopen",
            "case",
            case.id,
            actor,
            case_id=case.id,
            detail={"cycle": case.cycle, "reason": reason},
        )
    return case


def get(case_id: int, actor: User) -> Case:
    """A case the actor may see; otherwise NotFound."""
    case = db.session.get(Case, case_id)
    if case is None or not access.may_see_case(actor, case):
        known = case.id if case is not None else None
        audit.record_alone("case.view", "case", case_id, actor, outcome="denied", case_id=known)
        raise NotFound(_("指定されたケースは見つかりません。"))
    audit.record("case.view", "case", case.id, actor, case_id=case.id)
    audit.commit_read()
    return case


def summary(case: Case) -> dict[str, Any]:
    """What a case page or the API shows about a case's process position."""
    instances_ = list(
        db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == case.id))
    )
    open_items = list(
        db.session.scalars(
            select(WorkItem).where(WorkItem.case_id == case.id, WorkItem.status == "open")
        )
    )
    return {"instances": instances_, "open_items": open_items}


def diagram_xml(case: Case, process_key: str | None = None) -> str | None:
    """The BPMN of the case's current process version (for the position viewer), or of the
    version of ``process_key`` it calls."""
    instance = db.session.scalar(
        select(ProcessInstance)
        .where(ProcessInstance.case_id == case.id)
        .order_by(ProcessInstance.id.desc())
        .limit(1)
    )
    if instance is None:
        return None
    if process_key is None or process_key == instance.definition.key:
        return instance.definition.bpmn_xml
    called = definitions.called_definition(instance.definition, process_key)
    return called.bpmn_xml if called is not None else None
