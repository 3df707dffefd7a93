"""The 支援会議 channel (社会福祉法106条の6): material shared without consent, visible only to the
meeting's selected members who signed the confidentiality pledge, read-only, for a limited time,
never exported and never in the normal case view."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select

from app.extensions import db
from app.models import Meeting, MeetingAttendee, MeetingCase, User
from app.models.base import utcnow
from app.services import audit, clock, settings
from app.services.errors import Forbidden, InvalidInput, NotFound
from app.services.records.people import WORDS

MATERIAL_FIELDS = ("shared_summary", "urgency", "approach_by", "council_course", "action_items")
CHAIR_ROLES = {"supervisor"}
# Who may be chosen as a member: people bound to the meeting's work, never content-less system roles.
MEMBER_ROLES = {
    "council_member",
    "supervisor",
    "coordinator",
    "window_worker",
    "outreach_worker",
    "participation_worker",
    "decision_officer",
}


class PledgeRequired(Forbidden):
    """A selected member has not yet signed the pledge: the page offers it instead of the material."""

    def __init__(self, message: str, meeting: Meeting) -> None:
        super().__init__(message)
        self.meeting = meeting


def keep_material(meeting: Meeting, chair: User, data: dict[str, Any]) -> None:
    """Store what was shared at the meeting and how long members may read it; the chair is a member."""
    meeting.material = {k: data[k] for k in MATERIAL_FIELDS if k in data}
    words = data.get(WORDS) or {}
    meeting.material["words"] = {k: words[k] for k in MATERIAL_FIELDS if k in words}
    meeting.material_until = meeting.held_on + timedelta(
        days=int(settings.current()["council_material_days"])
    )
    db.session.add(
        MeetingAttendee(
            meeting_id=meeting.id,
            user_id=chair.id,
            name=chair.display_name,
            pledge_signed=True,
            pledged_at=utcnow(),
        )
    )


def _meeting(meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or meeting.kind != "support_council":
        raise NotFound(_("指定された支援会議は見つかりません。"))
    return meeting


def select_members(meeting_id: int, chair: User, usernames: list[str]) -> list[MeetingAttendee]:
    """The chair names the users who are members of this meeting (each must still sign the pledge)."""
    meeting = db.session.get(Meeting, meeting_id)
    if (
        meeting is None
        or meeting.kind != "support_council"
        or chair.role not in CHAIR_ROLES
        or not _attendee(meeting, chair)
    ):
        # Only the chair learns that the meeting exists: anyone else gets the same answer as for
        # an id that names nothing, or a 重層的支援会議.
        audit.record_alone("council.members", "meeting", meeting_id, chair, outcome="denied")
        raise NotFound(_("指定された支援会議は見つかりません。"))
    chosen = list(
        db.session.scalars(
            select(User).where(
                User.username.in_(usernames), User.active.is_(True), User.role.in_(MEMBER_ROLES)
            )
        )
    )
    if len(chosen) != len(set(usernames)):
        audit.record_alone(
            "council.members",
            "meeting",
            meeting_id,
            chair,
            outcome="denied",
            detail={"reason": "unknown_member"},
        )
        raise InvalidInput(
            _("構成員に選べない利用者が含まれています。"),
            fields={"members": _("登録されている利用者を選んでください。")},
        )
    added = []
    for user in chosen:
        if _attendee(meeting, user) is None:
            row = MeetingAttendee(
                meeting_id=meeting.id, user_id=user.id, name=user.display_name, pledge_signed=False
            )
            db.session.add(row)
            added.append(row)
    audit.record(
        "council.members",
        "meeting",
        meeting.id,
        chair,
        detail={"members": sorted(u.username for u in chosen)},
    )
    db.session.commit()
    return added


def sign_pledge(meeting_id: int, member: User) -> None:
    """A selected member signs the statutory confidentiality pledge for this meeting."""
    meeting = _meeting(meeting_id)
    attendee = _attendee(meeting, member)
    if attendee is None:
        audit.record_alone("council.pledge", "meeting", meeting_id, member, outcome="denied")
        raise NotFound(_("指定された支援会議は見つかりません。"))
    attendee.pledge_signed, attendee.pledged_at = True, utcnow()
    audit.record("council.pledge", "meeting", meeting.id, member)
    db.session.commit()


def _attendee(meeting: Meeting, user: User) -> MeetingAttendee | None:
    return db.session.scalar(
        select(MeetingAttendee).where(
            MeetingAttendee.meeting_id == meeting.id, MeetingAttendee.user_id == user.id
        )
    )


def material(meeting_id: int, member: User, today: date | None = None) -> dict[str, Any]:
    """Read a meeting's material: only a pledged member, only until the access period ends. Audited."""
    today = today or clock.today()
    meeting = db.session.get(Meeting, meeting_id)
    attendee = (
        _attendee(meeting, member)
        if meeting is not None and meeting.kind == "support_council"
        else None
    )
    reason = None
    if attendee is None:
        reason = "not_member"
    elif not attendee.pledge_signed:
        reason = "no_pledge"
    elif meeting.material_until is not None and today > meeting.material_until:
        reason = "expired"
    if reason is not None:
        audit.record_alone(
            "council.material",
            "meeting",
            meeting_id,
            member,
            outcome="denied",
            detail={"reason": reason},
        )
        if reason == "no_pledge":
            raise PledgeRequired(_("守秘義務の誓約をしてから閲覧してください。"), meeting)
        if reason == "expired":
            raise Forbidden(_("この支援会議の資料の閲覧期間は終了しました。"))
        raise NotFound(_("指定された支援会議は見つかりません。"))
    cases = list(
        db.session.scalars(select(MeetingCase).where(MeetingCase.meeting_id == meeting.id))
    )
    audit.record(
        "council.material",
        "meeting",
        meeting.id,
        member,
        detail={"cases": [c.case_id for c in cases]},
    )
    db.session.commit()
    return {
        "meeting": meeting,
        "material": dict(meeting.material or {}),
        "agenda": cases,
        "until": meeting.material_until,
    }


def my_meetings(member: User) -> list[Meeting]:
    """Support council meetings the user was selected for (titles only; material needs the checks above)."""
    return list(
        db.session.scalars(
            select(Meeting)
            .join(MeetingAttendee, MeetingAttendee.meeting_id == Meeting.id)
            .where(MeetingAttendee.user_id == member.id, Meeting.kind == "support_council")
            .order_by(Meeting.held_on.desc())
        )
    )


def awaiting_pledge(member: User, today: date | None = None) -> list[Meeting]:
    """支援会議 the user was chosen for and has not yet pledged for, while the material is open."""
    today = today or clock.today()
    return list(
        db.session.scalars(
            select(Meeting)
            .join(MeetingAttendee, MeetingAttendee.meeting_id == Meeting.id)
            .where(
                MeetingAttendee.user_id == member.id,
                MeetingAttendee.pledge_signed.is_(False),
                Meeting.kind == "support_council",
                or_(Meeting.material_until.is_(None), Meeting.material_until >= today),
            )
            .order_by(Meeting.held_on.desc())
        )
    )
