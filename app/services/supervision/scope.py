"""Which agencies and work queues a supervisor oversees: data the administrator edits. Without rows
a supervisor oversees their own agency and the queues they belong to."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from flask_babel import gettext as _
from sqlalchemy import delete, select

from app.extensions import db
from app.models import Agency, Group, Membership, SupervisorScope, User
from app.services import audit, memo, queues
from app.services.errors import InvalidInput

SUPERVISOR = "supervisor"


@dataclass(frozen=True)
class Scope:
    """What one supervisor oversees."""

    agency_ids: frozenset[int]
    group_queues: frozenset[str]

    @cached_property
    def queues(self) -> frozenset[str]:
        """Every work queue in scope: the group queues and the agencies' own queues."""
        codes = (
            db.session.scalars(select(Agency.code).where(Agency.id.in_(self.agency_ids)))
            if self.agency_ids
            else []
        )
        return self.group_queues | {queues.agency_queue(code) for code in codes}


def of(user: User) -> Scope:
    """The supervisor's scope (empty for anyone who is not a supervisor); read once per request
    until it writes users, agencies, groups or scopes (a page asks several times)."""
    if user.role != SUPERVISOR or not user.active:
        return Scope(frozenset(), frozenset())
    return memo.remembered(
        ("scope", user.id),
        lambda: _read(user),
        SupervisorScope,
        User,
        Agency,
        Group,
        Membership,
    )


def _read(user: User) -> Scope:
    rows = list(
        db.session.execute(
            select(SupervisorScope.agency_id, SupervisorScope.queue).where(
                SupervisorScope.user_id == user.id
            )
        )
    )
    if not rows:
        agencies = {user.agency_id} if user.agency_id else set()
        groups = {key for key in queues.queues_of(user) if not key.startswith("agency:")}
        return Scope(frozenset(agencies), frozenset(groups))
    return Scope(
        frozenset(a for a, _ in rows if a is not None),
        frozenset(q for _, q in rows if q is not None),
    )


def explicit(user: User) -> tuple[list[int], list[str]]:
    """What the admin form shows ticked (agency ids, group keys): the rows the administrator set,
    or, while there are none, what the supervisor oversees by default (so saving one more tick
    keeps the default instead of silently replacing it)."""
    if user.role == SUPERVISOR and not db.session.scalar(
        select(SupervisorScope.id).where(SupervisorScope.user_id == user.id).limit(1)
    ):
        default = of(user)
        return sorted(default.agency_ids), sorted(default.group_queues)
    rows = list(
        db.session.execute(
            select(SupervisorScope.agency_id, SupervisorScope.queue).where(
                SupervisorScope.user_id == user.id
            )
        )
    )
    return (
        sorted(a for a, _ in rows if a is not None),
        sorted(q for _, q in rows if q is not None),
    )


def replace(user: User, agency_codes: list[str], group_keys: list[str], actor: User) -> None:
    """Set what a supervisor oversees (the administrator's form); audited."""
    from app.services.admin import require_admin

    require_admin(actor, "user.supervision_scope", "user", user.id)
    if user.role != SUPERVISOR:
        raise InvalidInput(_("監督の範囲を決められるのは係長・課長のユーザーだけです。"))
    agencies = dict(db.session.execute(select(Agency.code, Agency.id)).all())
    groups = set(db.session.scalars(select(Group.key)))
    unknown = [c for c in agency_codes if c not in agencies] + [
        k for k in group_keys if k not in groups
    ]
    if unknown:
        message = _("一覧にない機関・キューが選ばれています。選び直してください。")
        raise InvalidInput(message, fields={"scope": message})
    from app.services.supervision import flows  # flows reads scopes

    memo.forget()
    flows.forget(user.id)  # tallied under the old scope: counted again under the new one
    db.session.execute(delete(SupervisorScope).where(SupervisorScope.user_id == user.id))
    for code in sorted(set(agency_codes)):
        db.session.add(SupervisorScope(user_id=user.id, agency_id=agencies[code]))
    for key in sorted(set(group_keys)):
        db.session.add(SupervisorScope(user_id=user.id, queue=key))
    audit.record(
        "user.supervision_scope",
        "user",
        user.id,
        actor,
        detail={"agencies": sorted(set(agency_codes)), "queues": sorted(set(group_keys))},
    )
    db.session.commit()
