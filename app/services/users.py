"""Users, password checks, login sessions and personal API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import ApiToken, AuditEvent, Group, User, UserSession
from app.models.base import utcnow
from app.services import audit
from app.services.errors import InvalidInput, NotFound

_HASHER = PasswordHasher()
# A real hash to verify against when the user does not exist, so a wrong username costs as much time.
_DUMMY_HASH = _HASHER.hash("kasane-timing-equaliser")
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "ksn_"
# A live session's last_seen_at moves at most this often, to spare a write on every request.
SESSION_TOUCH = timedelta(minutes=1)
USER_AGENT_MAX = 200


def password_problems(password: str, username: str = "") -> list[str]:
    """Japanese reasons a password is not acceptable (empty when it is)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(_("パスワードは%(n)s文字以上にしてください。", n=MIN_PASSWORD_LENGTH))
    kinds = sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    if kinds < 3:
        problems.append(_("英小文字・英大文字・数字・記号のうち3種類以上を含めてください。"))
    if username and username.lower() in password.lower():
        problems.append(_("パスワードにユーザー名を含めないでください。"))
    return problems


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def create_user(
    username: str,
    display_name: str,
    password: str,
    role: str,
    *,
    agency_id: int | None = None,
    groups: list[str] | None = None,
    is_demo: bool = False,
    password_hash: str | None = None,
) -> User:
    """Add a user (not committed); the password must meet the rules.

    ``password_hash`` lets a caller that creates many users with one known password hash it once.
    """
    problems = password_problems(password, username)
    if problems:
        raise InvalidInput(
            _("パスワードが条件を満たしていません。"), fields={"password": " ".join(problems)}
        )
    user = User(
        username=username,
        display_name=display_name,
        password_hash=password_hash or hash_password(password),
        role=role,
        agency_id=agency_id,
        is_demo=is_demo,
    )
    if groups:
        user.groups = list(db.session.scalars(select(Group).where(Group.key.in_(groups))))
    db.session.add(user)
    return user


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None; a stale hash is upgraded on success."""
    user = db.session.scalar(select(User).where(User.username == username))
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def set_password(user: User, password: str) -> int:
    """Give a user a new password and end every login made with the old one (not committed).

    Returns how many sessions ended. The caller checks the password rules and audits the change.
    """
    user.password_hash = hash_password(password)
    return revoke_sessions(user)


def find(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(_("ユーザー「%(name)s」は見つかりません。", name=username))
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(user: User, name: str = "cli") -> str:
    """Create a personal API token; the plain value is shown once and only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=_token_hash(token))
    db.session.add(row)
    db.session.flush()
    audit.record("token.create", "api_token", row.id, user, detail={"name": name})
    db.session.commit()
    return token


def revoke_tokens(user: User) -> int:
    """Revoke every live token of a user; returns how many."""
    rows = list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        )
    )
    for row in rows:
        row.revoked_at = utcnow()
        audit.record("token.revoke", "api_token", row.id, user)
    db.session.commit()
    return len(rows)


# The user comes with their groups and agency (which queues are theirs), in the same statement:
# an integration's every request starts here (built once: SQLAlchemy keys its cache on it).
_LIVE_TOKEN = (
    select(ApiToken)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
    .options(
        joinedload(ApiToken.user).joinedload(User.groups),
        joinedload(ApiToken.user).joinedload(User.agency),
    )
)


def user_for_token(token: str) -> User | None:
    """The active owner of a live token, or None (a refused token is audited, never its text)."""
    row = None
    if token.startswith(TOKEN_PREFIX) and len(token) <= 200:
        row = (
            db.session.execute(_LIVE_TOKEN, {"token_hash": _token_hash(token)})
            .unique()
            .scalar_one_or_none()
        )
    if row is None or not row.user.active:
        audit.record_alone(
            "auth.token",
            "api_token",
            row.id if row is not None else None,
            None,
            outcome="failure",
            detail={"reason": "inactive_user" if row is not None else "unknown_token"},
            actor_name="anonymous",
        )
        return None
    return row.user


@dataclass(frozen=True)
class SessionCheck:
    """What a browser's login session turned out to be when a request presented it."""

    user: User | None  # the session's user; None when no session matches
    session_id: int | None
    problem: str | None  # "unknown", "revoked", "inactive" or "idle"; None for a live session

    @property
    def live(self) -> bool:
        return self.problem is None


def start_session(user: User, user_agent: str = "") -> str:
    """Record a new login (not committed); returns the token the session cookie carries."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            user_id=user.id,
            token_hash=_token_hash(token),
            user_agent=user_agent[:USER_AGENT_MAX] or None,
        )
    )
    return token


def check_session(
    token: str, user_id: int, idle: timedelta, now: datetime | None = None
) -> SessionCheck:
    """Whether a login is live: known, of this user, not ended, the user active and not idle.

    An idle session is ended and a live one marked as seen (neither committed). Because last_seen_at
    moves only once a minute, a session may end up to a minute before ``idle`` has passed.
    """
    now = now or utcnow()
    row = None
    if token:
        # The user comes with their groups and agency: every page asks which queues are theirs.
        row = db.session.scalar(
            select(UserSession)
            .where(UserSession.token_hash == _token_hash(token))
            .options(
                joinedload(UserSession.user).selectinload(User.groups),
                joinedload(UserSession.user).joinedload(User.agency),
            )
        )
    if row is None or row.user_id != user_id:
        return SessionCheck(None, None, "unknown")
    if row.revoked_at is not None:
        return SessionCheck(row.user, row.id, "revoked")
    if not row.user.active:
        return SessionCheck(row.user, row.id, "inactive")
    if now - row.last_seen_at > idle:
        row.revoked_at = now
        return SessionCheck(row.user, row.id, "idle")
    if now - row.last_seen_at >= SESSION_TOUCH:
        row.last_seen_at = now
    return SessionCheck(row.user, row.id, None)


def end_session(token: str) -> bool:
    """End one login, as logging out does (not committed); False if it was not live."""
    if not token:
        return False
    row = db.session.scalar(
        select(UserSession).where(
            UserSession.token_hash == _token_hash(token), UserSession.revoked_at.is_(None)
        )
    )
    if row is None:
        return False
    row.revoked_at = utcnow()
    return True


def revoke_sessions(user: User) -> int:
    """End every live login of a user at once, on every device (not committed); returns how many.

    The caller audits the reason together with the change.
    """
    now = utcnow()
    rows = list(
        db.session.scalars(
            select(UserSession).where(
                UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
            )
        )
    )
    for row in rows:
        row.revoked_at = now
    return len(rows)


def live_sessions(user: User, idle: timedelta, now: datetime | None = None) -> int:
    """How many logins of this user are neither ended nor idle past ``idle``."""
    since = (now or utcnow()) - idle
    count = db.session.scalar(
        select(func.count(UserSession.id)).where(
            UserSession.user_id == user.id,
            UserSession.revoked_at.is_(None),
            UserSession.last_seen_at >= since,
        )
    )
    return count or 0


LOGIN_WINDOW_MINUTES = 15
LOGIN_MAX_FAILURES = 5


def login_throttled(username: str, now: datetime | None = None) -> bool:
    """Too many failed logins for this username recently (counted from the audit trail)."""
    now = now or utcnow()
    since = now - timedelta(minutes=LOGIN_WINDOW_MINUTES)
    failures = db.session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "auth.login",
            AuditEvent.outcome.in_(["failure", "throttled"]),
            AuditEvent.at >= since,
            AuditEvent.detail["username"].as_string() == username,
        )
    )
    return (failures or 0) >= LOGIN_MAX_FAILURES
