"""Users, groups (work queues), memberships, login sessions and personal API tokens."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, one_of, utcnow

ROLES = {
    "window_worker": _l("窓口相談員"),
    "coordinator": _l("相談支援包括化推進員（多機関協働）"),
    "outreach_worker": _l("アウトリーチ支援員"),
    "participation_worker": _l("参加支援員"),
    "community_coordinator": _l("地域づくりコーディネーター"),
    "council_member": _l("支援会議構成員"),
    "supervisor": _l("係長・課長（スーパーバイザー）"),
    "decision_officer": _l("支援決定担当"),
    "statistician": _l("統計担当"),
    "admin": _l("システム管理者"),
    "process_designer": _l("プロセス設計者"),
    "auditor": _l("監査担当"),
}


class Agency(db.Model):
    """A window (相談機関) or other organisation whose staff use Kasane."""

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))


class User(UserMixin, db.Model):
    """A person who logs in; roles decide what the services allow."""

    __tablename__ = "user_account"
    __table_args__ = (one_of("role", tuple(ROLES)),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(40))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agency: Mapped[Agency | None] = relationship()
    groups: Mapped[list[Group]] = relationship(secondary="membership", back_populates="members")

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active

    @property
    def role_label(self) -> str:
        return str(ROLES.get(self.role, self.role))

    def queue_keys(self) -> list[str]:
        return sorted(g.key for g in self.groups)


class Group(db.Model):
    """A group of users that is also a work queue; BPMN lanes resolve to groups."""

    __tablename__ = "user_group"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    members: Mapped[list[User]] = relationship(secondary="membership", back_populates="groups")


class Membership(db.Model):
    """A user's membership in a group."""

    __tablename__ = "membership"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("user_group.id"), primary_key=True, index=True)


class ApiToken(db.Model):
    """A personal API token; only its SHA-256 hash is stored."""

    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class UserSession(db.Model):
    """A browser login, so the server can end it; only the SHA-256 hash of its token is stored.

    Flask's session cookie lives in the browser and stays valid wherever it is copied, so the cookie
    carries the token and every request must find a live row for it.
    """

    __tablename__ = "user_session"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
