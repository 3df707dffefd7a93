"""The staff's case list: the cases of their own window (and those they hold or held tasks on),
searchable by number, title, name and kana, through the one access query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, exists, func, or_, select

from app.extensions import db
from app.models import Case, Person, User, WorkItem
from app.services import access, audit, forms
from app.services.errors import InvalidInput

STATUSES = {"open", "interrupted", "closed"}


@dataclass
class CaseRow:
    case: Case
    person_name: str | None


@dataclass
class CasePage:
    rows: list[CaseRow]
    total: int
    page: int
    per_page: int


def matches(query: str) -> ColumnElement[bool] | None:
    """SQL over ``Case`` joined to ``Person``: a case number (prefix), words of the title, or the
    person's name or kana (spaces ignored, hiragana and katakana alike). ``None`` for no words."""
    words = forms.normalise_search(query)
    if not words:
        return None
    compact = words.replace(" ", "")

    def squeezed(column: Any) -> Any:
        return func.replace(func.replace(column, " ", ""), "　", "")

    return or_(
        Case.number.startswith(words, autoescape=True),
        Case.title.contains(words, autoescape=True),
        squeezed(Person.name).contains(compact, autoescape=True),
        *(
            squeezed(Person.kana).contains(variant, autoescape=True)
            for variant in forms.kana_variants(compact)
        ),
    )


@dataclass(frozen=True)
class Narrowing:
    """The list's other filters: stage, the agency holding the case, the worker holding its work."""

    stage: str | None = None
    agency_id: int | None = None
    worker_id: int | None = None


def listing(
    actor: User,
    q: str | None = None,
    status: str | None = None,
    page: int = 1,
    per_page: int = 25,
    narrowing: Narrowing | None = None,
) -> CasePage:
    """A page of the cases the actor may open, newest first; the listing is audited."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(
            _("状態の指定が正しくありません。"), fields={"status": _("一覧から選んでください。")}
        )
    if page < 1 or not 1 <= per_page <= 100:
        raise InvalidInput(
            _("ページの指定が正しくありません。"), fields={"page": _("1以上で指定してください。")}
        )
    stmt: Select[Any] = (
        select(Case, Person.name)
        .outerjoin(Person, Person.id == Case.person_id)
        .where(access.case_filter(actor))
    )
    if status:
        stmt = stmt.where(Case.status == status)
    narrowing = narrowing or Narrowing()
    if narrowing.stage:
        stmt = stmt.where(Case.stage == narrowing.stage)
    if narrowing.agency_id is not None:
        stmt = stmt.where(
            or_(
                Case.intake_agency_id == narrowing.agency_id,
                Case.primary_agency_id == narrowing.agency_id,
            )
        )
    if narrowing.worker_id is not None:
        stmt = stmt.where(
            exists().where(
                WorkItem.case_id == Case.id,
                WorkItem.status == "open",
                WorkItem.assignee_id == narrowing.worker_id,
            )
        )
    condition = matches(q or "")
    if condition is not None:
        stmt = stmt.where(condition)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    offset = (page - 1) * per_page
    rows = [
        CaseRow(case, None if person_name is None else str(person_name))
        for case, person_name in db.session.execute(
            stmt.order_by(Case.created_at.desc(), Case.id.desc()).offset(offset).limit(per_page)
        )
    ]
    detail: dict[str, Any] = {"count": len(rows), "page": page}
    if narrowing != Narrowing():
        detail["narrowing"] = {k: v for k, v in vars(narrowing).items() if v is not None}
    if condition is not None:
        detail["query"] = forms.normalise_search(q or "")
    action = "case.search" if condition is not None else "case.list"
    audit.record(action, "case", None, actor, detail=detail)
    audit.commit_read()
    return CasePage(rows=rows, total=total, page=page, per_page=per_page)
