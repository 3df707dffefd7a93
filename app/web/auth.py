"""Logging in and out: the session login form, Bearer tokens for the API, and who the user is.

A login is a row on the server (UserSession) whose token the session cookie carries. Every request
with a session cookie must find that row live, so logging out, an administrator, a password reset
or deactivation ends the session even in copies of the cookie, and so does a period without
activity (KASANE_IDLE_MINUTES).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext, lazy_gettext
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

from app.extensions import db, login_manager
from app.models import User
from app.services import audit, users

bp = Blueprint("auth", __name__)

LOGIN_FAILED = lazy_gettext("ユーザー名またはパスワードが正しくありません。")
LOGIN_INCOMPLETE = lazy_gettext("ユーザー名とパスワードを入力してください。")
LOGIN_REQUIRED = lazy_gettext("ログインしてください。")
API_UNAUTHORIZED = lazy_gettext("ログインするか、APIトークンを指定してください。")
LOGIN_THROTTLED = lazy_gettext(
    "ログインの失敗が続いたため、しばらくログインできません。15分ほどしてからお試しください。"
)
SESSION_IDLE = lazy_gettext("一定時間操作がなかったため、ログアウトしました。")
SESSION_IDLE_PAGE = lazy_gettext(
    "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。"
)
SESSION_ENDED = lazy_gettext("このログインは無効になりました。もう一度ログインしてください。")
USERNAME_MAX = 80
BEARER = "bearer "
LOGIN_TOKEN = "_kasane_login"  # the session cookie's key for the UserSession token


def init_app(app: Flask) -> None:
    """Teach flask-login how to find the user of a request, and refuse logins that have ended."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = LOGIN_REQUIRED
    login_manager.login_message_category = "info"
    login_manager.user_loader(_load_user)
    login_manager.request_loader(_load_user_from_token)
    login_manager.unauthorized_handler(_unauthorized)
    app.before_request(_refuse_ended_session)


def idle_limit() -> timedelta:
    """How long a login may go without a request before it ends."""
    return timedelta(minutes=int(current_app.config.get("KASANE_IDLE_MINUTES", 30)))


def _load_user(user_id: str) -> User | None:
    """The user of a session cookie, if the login it carries is still live on the server."""
    try:
        uid = int(user_id)
    except ValueError:
        return None
    check = users.check_session(session.get(LOGIN_TOKEN, ""), uid, idle_limit())
    if check.live:
        if db.session.dirty:  # last_seen_at moved; most requests write nothing
            db.session.commit()
        return check.user
    # Audited like every refusal; an idle login ends in the same commit.
    audit.record(
        "auth.session",
        "user_session",
        check.session_id,
        check.user,
        outcome="expired" if check.problem == "idle" else "denied",
        detail={
            "reason": check.problem,
            "user_id": uid,
            "method": request.method,
            "path": request.path[:200],
        },
        actor_name=None if check.user is not None else "anonymous",
    )
    db.session.commit()
    session.clear()
    g.session_ended = check.problem
    return None


def _refuse_ended_session() -> Response | BaseResponse | None:
    """Send a request whose login has ended back to the login page (401 JSON for the API)."""
    if request.endpoint == "static":
        return None
    # Loading the user checks the login; an API token may still authenticate the request.
    if current_user.is_authenticated or "session_ended" not in g:
        return None
    idle = g.session_ended == "idle"
    if request.path.startswith("/api/"):
        code, message = (
            ("session_expired", SESSION_IDLE) if idle else ("session_ended", SESSION_ENDED)
        )
        response = jsonify({"error": {"code": code, "message": str(message)}})
        response.status_code = 401
        return response
    flash(str(SESSION_IDLE_PAGE if idle else SESSION_ENDED), "error")
    if request.endpoint == "auth.login":
        return None
    return redirect(url_for("auth.login", next=_here() if request.method == "GET" else None))


def _load_user_from_token(req: Request) -> User | None:
    # Tokens are for integrations, so they open the API only, not the pages staff use.
    if not req.path.startswith("/api/"):
        return None
    header = req.headers.get("Authorization", "")
    if not header.lower().startswith(BEARER):
        return None
    user = users.user_for_token(header[len(BEARER) :].strip())
    if user is not None:
        g.auth_via_token = True
    return user


def _unauthorized() -> Response | BaseResponse:
    if request.path.startswith("/api/"):
        response = jsonify({"error": {"code": "unauthorized", "message": str(API_UNAUTHORIZED)}})
        response.status_code = 401
        return response
    flash(str(login_manager.login_message), login_manager.login_message_category)
    return redirect(url_for("auth.login", next=_here()))


def _here() -> str:
    """The current page as a site-relative path, to come back to after logging in."""
    query = request.query_string.decode("utf-8", "replace")
    return f"{request.path}?{query}" if query else request.path


def safe_next(target: str | None) -> str | None:
    """The target if it is a path on this site; None for anything a browser could take elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    # Browsers read "\" as "/" and drop tabs and newlines, so "/\evil" or "/\t/evil" leave the site.
    if "\\" in target or any(ch.isspace() or ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | BaseResponse | tuple[str, int]:
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(next_url or url_for("home.index"))
        return render_template("auth/login.html", username="", next=next_url)

    username = request.form.get("username", "").strip()[:USERNAME_MAX]
    password = request.form.get("password", "")
    if not username or not password:
        return _form_again(username, next_url, str(LOGIN_INCOMPLETE), 422)
    if users.login_throttled(username):
        audit.record_alone(
            "auth.login",
            "user",
            None,
            None,
            outcome="throttled",
            detail={"username": username},
            actor_name="anonymous",
        )
        return _form_again(username, next_url, str(LOGIN_THROTTLED), 429)
    user = users.authenticate(username, password)
    if user is None:
        audit.record_alone(
            "auth.login",
            "user",
            None,
            None,
            outcome="failure",
            detail={"username": username},
            actor_name="anonymous",
        )
        return _form_again(username, next_url, str(LOGIN_FAILED), 401)

    audit.record("auth.login", "user", user.id, user)
    token = users.start_session(user, request.user_agent.string)
    db.session.commit()
    # A fresh session at login, so nothing set before it (such as the CSRF secret) carries over.
    session.clear()
    login_user(user)
    session[LOGIN_TOKEN] = token
    return redirect(next_url or url_for("home.index"))


def _form_again(username: str, next_url: str | None, error: str, status: int) -> tuple[str, int]:
    """The login form again with the error and the username typed (never the password)."""
    return render_template("auth/login.html", username=username, next=next_url, error=error), status


@bp.post("/logout")
@login_required
def logout() -> BaseResponse:
    users.end_session(session.get(LOGIN_TOKEN, ""))
    audit.record("auth.logout", "user", current_user.id, current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash(gettext("ログアウトしました。"), "info")
    return redirect(url_for("auth.login"))
