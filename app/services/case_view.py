"""What a case page shows: position in the flow, plan versions, decisions, and a timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Agency,
    Case,
    Consent,
    Evaluation,
    FormSubmission,
    HouseholdMember,
    Meeting,
    MeetingCase,
    PathStep,
    Person,
    ProcessInstance,
    Referral,
    SupportPlan,
    User,
    WaitingEvent,
    WorkItem,
)
from app.services import (
    access,
    case_timeline,
    definitions,
    form_words,
    forms,
    instances,
    settings,
)
from app.services.case_timeline import TimelineEntry

DECISION_LABELS = {
    "approve": _l("承認"),
    "revise": _l("修正"),
    "return_to_primary": _l("主担当機関へ戻す"),
    "outreach": _l("アウトリーチ"),
    "watch": _l("見守り"),
    "emergency": _l("緊急対応"),
}
REFERRAL_LABELS = {
    "sent": _l("依頼中"),
    "accepted": _l("受け入れ"),
    "declined": _l("辞退"),
    "done": _l("完了"),
    "withdrawn": _l("取り下げ"),
}


@dataclass
class MemberView:
    """A household member as any case viewer may see them: relation and which window to contact."""

    relation: str
    age_group: str | None
    roles: list[str]
    living_together: bool
    windows: list[
        tuple[str, str | None]
    ]  # (window, contact) — never the content of that window's work


@dataclass
class CaseView:
    case: Case
    instance: ProcessInstance | None
    open_items: list[WorkItem]
    timeline: list[TimelineEntry]
    person: dict[str, str] = field(default_factory=dict)
    household: list[MemberView] = field(default_factory=list)
    other_windows: list[str] = field(default_factory=list)
    consents: list[Consent] = field(default_factory=list)
    referrals: list[Referral] = field(default_factory=list)
    plans: list[SupportPlan] = field(default_factory=list)
    decisions: list[tuple[Meeting, MeetingCase]] = field(default_factory=list)
    council_dates: list[date] = field(default_factory=list)
    evaluations: list[Evaluation] = field(default_factory=list)
    active_elements: list[str] = field(default_factory=list)
    completed_elements: list[str] = field(default_factory=list)
    # Where the flow waits for a date or news, on the main diagram (when no task is open there).
    waiting_elements: list[str] = field(default_factory=list)
    # The flows the case went along on the main diagram ("source>target"), drawn as its path.
    taken_flows: list[str] = field(default_factory=list)
    # The called processes the case stands in now (参加支援, アウトリーチ), each with its diagram.
    inside: list[CalledView] = field(default_factory=list)
    # Dated steps and awaited news a person may bring forward now (``startNow`` catch events).
    waiting: list[WaitingEvent] = field(default_factory=list)
    # Field name → {stored code: words}, from the forms of the case's process (性別, 評価 …).
    words: dict[str, dict[str, str]] = field(default_factory=dict)
    # Open items the viewer may open (the page links only these; the others are named, not linked).
    workable: set[int] = field(default_factory=set)
    # Kinds of information left out because the person's consent does not let them cross to the
    # viewer's window (labels, in the order of ``forms.INFO_KINDS``).
    withheld: list[str] = field(default_factory=list)
    # Who holds the case's process (一時停止), when it is held.
    held_by: str = ""


@dataclass
class CalledView:
    """Where the case stands inside a called process, for that process's own diagram."""

    key: str
    name: str
    active: list[str]
    waiting: list[str]
    taken: list[str]


RESTRICTED_TEXT = _l("（取扱注意のため表示しません）")
PERSON_FIELDS = ("name", "kana", "birth_date", "sex", "phone")
# The person's facts on the case page, by field (the page shows them in this order).
PERSON_LABELS = {
    "name": _l("氏名"),
    "kana": _l("ふりがな"),
    "birth_date": _l("生年月日"),
    "birth_date_wareki": _l("生年月日（和暦）"),
    "sex": _l("性別"),
    "phone": _l("電話"),
    "address": _l("住所"),
}


def build(case: Case, viewer: User) -> CaseView:
    """Assemble the case page from the case's own tables (never from engine state), within what the
    viewer may see: X fields only for the owning window, 支援会議 material never."""
    current = db.session.scalar(
        select(ProcessInstance)
        .where(ProcessInstance.case_id == case.id)
        .order_by(ProcessInstance.id.desc())
        .limit(1)
    )
    items = _of_case(WorkItem, case, WorkItem.id)
    submissions = _of_case(FormSubmission, case, FormSubmission.id)
    names = case_timeline.user_names(
        {s.submitted_by_id for s in submissions} | {i.completed_by_id for i in items}
    )
    active, completed = _positions(current, items)
    agendas = [
        (meeting, agenda)
        for meeting, agenda in db.session.execute(
            select(Meeting, MeetingCase)
            .join(MeetingCase, MeetingCase.meeting_id == Meeting.id)
            .where(MeetingCase.case_id == case.id)
            .order_by(Meeting.held_on, Meeting.id)
        )
    ]
    kinds = access.info_kinds_for(viewer, case)

    def allowed(kind: str) -> bool:
        return kinds is None or kind in kinds

    view = CaseView(
        case=case,
        instance=current,
        open_items=[i for i in items if i.status == "open"],
        timeline=case_timeline.build(case, items, submissions, names),
        person=_person(case, viewer),
        household=_household(case),
        other_windows=_other_windows(case),
        consents=_of_case(Consent, case, Consent.id),
        referrals=_of_case(Referral, case, Referral.id),
        plans=_of_case(SupportPlan, case, SupportPlan.version),
        decisions=[
            (m, a) for m, a in agendas if m.kind != "support_council" or a.rescoped_on is not None
        ],
        council_dates=[
            m.held_on for m, a in agendas if m.kind == "support_council" and a.rescoped_on is None
        ],
        evaluations=_of_case(Evaluation, case, Evaluation.id),
        active_elements=active,
        completed_elements=completed,
    )
    waiting = instances.waiting_events(case)
    view.waiting = [w for w in waiting if w.start_now]
    view.waiting_elements = _waiting_positions(current, waiting)
    if current is not None:
        view.taken_flows, view.inside = _paths(current, view.open_items, waiting)
        if current.held_at is not None and current.held_by_id is not None:
            holder = db.session.get(User, current.held_by_id)
            view.held_by = holder.display_name if holder else ""
    view.words = form_words.choice_titles(definitions.all_forms(current)) if current else {}
    _in_words(view)
    if view.open_items:
        view.workable = set(
            db.session.scalars(
                select(WorkItem.id).where(
                    WorkItem.id.in_([i.id for i in view.open_items]),
                    access.work_item_filter(viewer),
                )
            )
        )
    return _within_consent(view, allowed)


# What each part of the case page is, as a kind of information a consent names.
SECTION_KINDS = {
    "basic": ("person",),
    "household": ("household", "other_windows"),
    "support_history": ("plans", "decisions", "evaluations"),
}


def _within_consent(view: CaseView, allowed: Any) -> CaseView:
    """Empty the parts of the page whose kind of information the consent keeps from the viewer."""
    for kind, parts in SECTION_KINDS.items():
        if allowed(kind):
            continue
        for part in parts:
            setattr(view, part, type(getattr(view, part))())
        view.withheld.append(forms.INFO_KINDS[kind])
    if not allowed("support_history"):
        view.timeline = [e for e in view.timeline if e.kind != "support_history"]
    return view


def _of_case(model: Any, case: Case, order: Any) -> list[Any]:
    """Every row of one of the case's tables, in order."""
    return list(db.session.scalars(select(model).where(model.case_id == case.id).order_by(order)))


def _in_words(view: CaseView) -> None:
    """Codes stored in the person's record shown as the words a person chose (性別: 女性)."""
    sex = view.person.get("sex")
    if isinstance(sex, str):
        view.person["sex"] = view.words.get("sex", {}).get(sex, sex)


def _person(case: Case, viewer: User) -> dict[str, Any]:
    person = db.session.get(Person, case.person_id) if case.person_id else None
    if person is None:
        return {}
    if person.anonymous:
        return {"name": _("匿名の相談")}
    shown: dict[str, Any] = {
        key: value if isinstance(value, date) else str(value)
        for key in PERSON_FIELDS
        if (value := getattr(person, key))
    }
    shown.setdefault("name", _("（未記入）"))
    born = shown.get("birth_date")
    if isinstance(born, date) and settings.current().get("birth_date_wareki"):
        era = form_words.wareki_year(born)
        if era:
            shown["birth_date_wareki"] = era
    if person.address:
        shown["address"] = (
            person.address if access.may_see_restricted(viewer, case) else RESTRICTED_TEXT
        )
    return shown


def _household(case: Case) -> list[MemberView]:
    if case.household_id is None:
        return []
    members = db.session.scalars(
        select(HouseholdMember)
        .where(HouseholdMember.household_id == case.household_id)
        .order_by(HouseholdMember.id)
    )
    return [
        MemberView(
            relation=m.relation,
            age_group=m.age_group,
            roles=list(m.roles or []),
            living_together=m.living_together,
            # Minimal disclosure: the window's name and whom to contact, never what it does.
            windows=[(i.agency.name, i.contact) for i in m.involvements if i.agency is not None],
        )
        for m in members
    ]


def _other_windows(case: Case) -> list[str]:
    """Other open cases of the same household: which window holds them (not what they are about)."""
    if case.household_id is None:
        return []
    rows = db.session.scalars(
        select(Agency.name)
        .join(Case, Case.primary_agency_id == Agency.id)
        .where(Case.household_id == case.household_id, Case.id != case.id, Case.status != "closed")
    )
    return sorted(set(rows))


def _positions(
    instance: ProcessInstance | None, items: list[WorkItem]
) -> tuple[list[str], list[str]]:
    """Element ids to highlight on the main diagram: open tasks, and what has been done."""
    if instance is None:
        return [], []
    main_key = instance.definition.key
    definition = instance.definition
    calls = definition.call_activities or {}

    def on_main(item: WorkItem) -> str | None:
        if item.process_key in (None, main_key):
            return item.element_id
        return calls.get(item.process_key)

    mine = [i for i in items if i.instance_id == instance.id]
    active = sorted({e for i in mine if i.status == "open" and (e := on_main(i))})
    done = sorted({e for i in mine if i.status == "completed" and (e := on_main(i))} - set(active))
    return active, done


def _waiting_positions(instance: ProcessInstance | None, waiting: list[WaitingEvent]) -> list[str]:
    """Catch events the instance waits at, as main-diagram ids (a called process's wait shows on
    its call activity); a case that waits for a date is shown where it waits."""
    if instance is None:
        return []
    definition = instance.definition
    calls = definition.call_activities or {}
    found = {
        w.element_id if w.process_key in (None, definition.key) else calls.get(w.process_key)
        for w in waiting
        if w.instance_id == instance.id
    }
    return sorted(e for e in found if e)


def _paths(
    instance: ProcessInstance, open_items: list[WorkItem], waiting: list[WaitingEvent]
) -> tuple[list[str], list[CalledView]]:
    """The path taken on the main diagram, and a view of each called process the case is in."""
    taken: dict[str, set[str]] = {}
    for key, source, target in db.session.execute(
        select(PathStep.process_key, PathStep.source_id, PathStep.target_id)
        .where(PathStep.instance_id == instance.id)
        .distinct()
    ):
        taken.setdefault(key, set()).add(f"{source}>{target}")
    main = instance.definition.key
    keys = {i.process_key for i in open_items if i.instance_id == instance.id}
    keys |= {w.process_key for w in waiting if w.instance_id == instance.id}
    inside = []
    for key in sorted(k for k in keys if k not in (None, main)):
        called = definitions.called_definition(instance.definition, key)
        if called is None:
            continue
        inside.append(
            CalledView(
                key=key,
                name=called.name,
                active=sorted({i.element_id for i in open_items if i.process_key == key}),
                waiting=sorted({w.element_id for w in waiting if w.process_key == key}),
                taken=sorted(taken.get(key, ())),
            )
        )
    return sorted(taken.get(main, ())), inside
