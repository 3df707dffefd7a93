"""The system administrator's work: users and groups (the settings form is ``setting_form``), never
case content.

Every function here checks that the actor is an administrator (a refusal is audited as denied) and
commits its change together with the audit event that describes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Agency, ApiToken, Group, Membership, User
from app.models.base import utcnow
from app.models.users import ROLES
from app.services import audit, forms, queues, users
from app.services.errors import Forbidden, InvalidInput, NotFound

ADMIN = "admin"
USERNAME = re.compile(r"[a-z0-9._-]{3,80}")
GROUP_KEY = re.compile(r"[a-z0-9_]{2,80}")
NAME_MAX = 200
CHECK_FIELDS = _l("入力内容に誤りがあります。各項目のメッセージを確認してください。")
USERNAME_TAKEN = _l("このユーザー名はすでに使われています。")
UNUSABLE = _l("使用できない文字（制御文字など）が含まれています。")


@dataclass
class NewUser:
    """What the administrator typed to create a user."""

    username: str = ""
    display_name: str = ""
    role: str = ""
    agency: str = ""  # an agency code; empty for none
    groups: list[str] = field(default_factory=list)
    password: str = ""


@dataclass
class UserAccess:
    """What decides what a user may do: role, agency (code) and groups (keys)."""

    role: str = ""
    agency: str = ""
    groups: list[str] = field(default_factory=list)


def require_admin(
    actor: User | None,
    action: str,
    object_type: str = "admin",
    object_id: object | None = None,
    detail: dict[str, Any] | None = None,
) -> User:
    """The actor when they are an active administrator; otherwise audit the refusal and raise."""
    if actor is None or actor.role != ADMIN or not actor.active:
        audit.record_alone(action, object_type, object_id, actor, outcome="denied", detail=detail)
        raise Forbidden(_("管理画面を使えるのはシステム管理者だけです。"))
    return actor


def list_users(actor: User) -> list[User]:
    """Every user with role, agency and groups, by username."""
    require_admin(actor, "user.list", "user")
    return list(
        db.session.scalars(
            select(User)
            .options(selectinload(User.agency), selectinload(User.groups))
            .order_by(User.username)
        )
    )


def get_user(actor: User, user_id: int) -> User:
    require_admin(actor, "user.view", "user", user_id)
    return _user(user_id)


def agencies() -> list[Agency]:
    return list(db.session.scalars(select(Agency).order_by(Agency.id)))


def create_user(actor: User, new: NewUser) -> User:
    """Add a user with an initial password that meets the rules; the password is never logged."""
    require_admin(actor, "user.create", "user")
    username = new.username.strip()
    display_name = new.display_name.strip()
    errors: dict[str, str] = {}
    if not USERNAME.fullmatch(username):
        errors["username"] = _(
            "ユーザー名は英小文字・数字と「.」「_」「-」で、3〜80文字にしてください。"
        )
    elif db.session.scalar(select(User.id).where(User.username == username)) is not None:
        errors["username"] = USERNAME_TAKEN
    errors.update(_name_problems("display_name", display_name, _("表示名")))
    agency, groups, access_errors = _resolve_access(UserAccess(new.role, new.agency, new.groups))
    errors.update(access_errors)
    errors.update(_password_problems(new.password, username))
    if errors:
        raise InvalidInput(CHECK_FIELDS, fields=errors)
    user = users.create_user(
        username,
        display_name,
        new.password,
        new.role,
        agency_id=agency.id if agency else None,
        groups=[g.key for g in groups],
    )
    try:
        db.session.flush()
    except IntegrityError as exc:  # someone took the name between the check and the insert
        db.session.rollback()
        raise InvalidInput(CHECK_FIELDS, fields={"username": USERNAME_TAKEN}) from exc
    detail = {"username": username, **_access_of(user)}
    audit.record("user.create", "user", user.id, actor, detail=detail)
    db.session.commit()
    return user


def change_access(actor: User, user_id: int, wanted: UserAccess) -> bool:
    """Change a user's role, agency and groups; audited with before and after. False if unchanged."""
    require_admin(actor, "permission.change", "user", user_id)
    user = _user(user_id)
    agency, groups, errors = _resolve_access(wanted)
    if user.id == actor.id and wanted.role != ADMIN and "role" not in errors:
        errors["role"] = _("自分自身のシステム管理者の役割は外せません。")
    if errors:
        raise InvalidInput(CHECK_FIELDS, fields=errors)
    before = _access_of(user)
    user.role = wanted.role
    user.agency = agency
    user.groups = groups
    after = _access_of(user)
    if after == before:
        db.session.rollback()
        return False
    audit.record(
        "permission.change",
        "user",
        user.id,
        actor,
        detail={"username": user.username, "before": before, "after": after},
    )
    db.session.commit()
    return True


def set_active(actor: User, user_id: int, active: bool) -> int:
    """Reactivate or deactivate a user; deactivating revokes their API tokens. Returns tokens revoked.

    Deactivating also ends every login session of the user, so each is refused on its next request.
    """
    action = "user.activate" if active else "user.deactivate"
    require_admin(actor, action, "user", user_id)
    user = _user(user_id)
    if not active and user.id == actor.id:
        raise InvalidInput(
            _("自分自身を無効にすることはできません。"),
            fields={"active": _("ほかのシステム管理者に依頼してください。")},
        )
    if user.active == active:
        return 0
    user.active = active
    revoked = 0 if active else _revoke_tokens(actor, user)
    detail: dict[str, Any] = {"username": user.username}
    if not active:
        detail["tokens_revoked"] = revoked
        detail["sessions_ended"] = users.revoke_sessions(user)
    audit.record(action, "user", user.id, actor, detail=detail)
    db.session.commit()
    return revoked


def reset_password(actor: User, user_id: int, password: str) -> None:
    """Set a new password chosen by the administrator and end the user's login sessions.

    The audit event never holds the password.
    """
    require_admin(actor, "user.password_reset", "user", user_id)
    user = _user(user_id)
    problems = _password_problems(password, user.username)
    if problems:
        raise InvalidInput(_("パスワードが条件を満たしていません。"), fields=problems)
    ended = users.set_password(user, password)
    audit.record(
        "user.password_reset",
        "user",
        user.id,
        actor,
        detail={"username": user.username, "sessions_ended": ended},
    )
    db.session.commit()


def end_sessions(actor: User, user_id: int) -> int:
    """Log a user out everywhere by ending all their login sessions; returns how many ended.

    API tokens are left alone: they are revoked on their own, or by deactivating the user.
    """
    require_admin(actor, "user.end_sessions", "user", user_id)
    user = _user(user_id)
    ended = users.revoke_sessions(user)
    audit.record(
        "user.end_sessions",
        "user",
        user.id,
        actor,
        detail={"username": user.username, "sessions_ended": ended},
    )
    db.session.commit()
    return ended


def list_groups(actor: User) -> list[tuple[Group, int]]:
    """Every group with how many users belong to it, by key."""
    require_admin(actor, "group.list", "group")
    counts = dict(
        db.session.execute(
            select(Membership.group_id, func.count()).group_by(Membership.group_id)
        ).all()
    )
    groups = db.session.scalars(select(Group).order_by(Group.key))
    return [(group, counts.get(group.id, 0)) for group in groups]


def create_group(actor: User, key: str, name: str) -> Group:
    """Add a group (a work queue); BPMN lanes find it by its name, so the name must be unique too."""
    require_admin(actor, "group.create", "group")
    key, name = key.strip(), name.strip()
    errors: dict[str, str] = {}
    if not GROUP_KEY.fullmatch(key):
        errors["key"] = _("キーは英小文字・数字と「_」で、2〜80文字にしてください。")
    errors.update(_name_problems("name", name, _("名前")))
    taken = _group_words()
    if "key" not in errors and key in taken:
        errors["key"] = _("このキーは既存のグループのキーまたは名前と重なっています。")
    if "name" not in errors and (name in taken or name == key):
        errors["name"] = _("この名前は既存のグループのキーまたは名前と重なっています。")
    if "name" not in errors and name in queues.CASE_LANES:
        errors["name"] = _("この名前はケースごとに決まるレーン名として予約されています。")
    if errors:
        raise InvalidInput(CHECK_FIELDS, fields=errors)
    group = Group(key=key, name=name)
    db.session.add(group)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise InvalidInput(
            CHECK_FIELDS, fields={"key": _("このキーはすでに使われています。")}
        ) from exc
    audit.record("group.create", "group", group.key, actor, detail={"key": key, "name": name})
    db.session.commit()
    return group


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("指定されたユーザーは見つかりません。"))
    return user


def _resolve_access(wanted: UserAccess) -> tuple[Agency | None, list[Group], dict[str, str]]:
    errors: dict[str, str] = {}
    if wanted.role not in ROLES:
        errors["role"] = _("役割を一覧から選んでください。")
    agency = None
    if wanted.agency:
        agency = db.session.scalar(select(Agency).where(Agency.code == wanted.agency))
        if agency is None:
            errors["agency"] = _("所属を一覧から選んでください。")
    keys = set(wanted.groups)
    groups = list(db.session.scalars(select(Group).where(Group.key.in_(keys)).order_by(Group.key)))
    if len(groups) != len(keys):
        errors["groups"] = _("グループを一覧から選んでください。")
    return agency, groups, errors


def _access_of(user: User) -> dict[str, Any]:
    return {
        "role": user.role,
        "agency": user.agency.code if user.agency else None,
        "groups": sorted(g.key for g in user.groups),
    }


def _name_problems(name: str, value: str, label: str) -> dict[str, str]:
    if not value:
        return {name: _("%(label)sを入力してください。", label=label)}
    if len(value) > NAME_MAX:
        return {name: _("%(label)sは%(max)s文字以内にしてください。", label=label, max=NAME_MAX)}
    if forms.unusable_text(value):
        return {name: UNUSABLE}
    return {}


def _password_problems(password: str, username: str) -> dict[str, str]:
    if forms.unusable_text(password):
        return {"password": UNUSABLE}
    problems = users.password_problems(password, username)
    return {"password": " ".join(problems)} if problems else {}


def _revoke_tokens(actor: User, user: User) -> int:
    # Not users.revoke_tokens: that commits on its own and names the token's owner as the actor.
    rows = list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        )
    )
    for row in rows:
        row.revoked_at = utcnow()
        audit.record("token.revoke", "api_token", row.id, actor, detail={"user": user.username})
    return len(rows)


def _group_words() -> set[str]:
    taken: set[str] = set()
    for key, name in db.session.execute(select(Group.key, Group.name)):
        taken.update((key, name))
    return taken
