"""The system administrator's pages: users, groups and municipality settings (no case content)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from app.extensions import login_manager
from app.models import User
from app.models.users import ROLES
from app.services import admin, setting_form
from app.services.errors import InvalidInput
from app.services.supervision import limits
from app.services.supervision import scope as supervision_scope
from app.services.users import live_sessions
from app.web.auth import idle_limit

bp = Blueprint("admin", __name__)

USER_ACTIONS = ("access", "deactivate", "activate", "password", "end_sessions", "scope")


@bp.before_request
def only_admins() -> Response | None:
    """Log in first; then nobody but an administrator gets past, and a refusal is audited."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    admin.require_admin(
        current_user._get_current_object(),
        "admin.access",
        detail={"method": request.method, "path": request.path[:200]},
    )
    return None


@bp.get("")
def index() -> str:
    return render_template("admin/index.html")


@bp.route("/users", methods=["GET", "POST"])
def users() -> Response | str | tuple[str, int]:
    actor = current_user._get_current_object()
    if request.method == "GET":
        return _users_page(actor, admin.NewUser(), {})
    new = admin.NewUser(
        username=request.form.get("username", ""),
        display_name=request.form.get("display_name", ""),
        role=request.form.get("role", ""),
        agency=request.form.get("agency", ""),
        groups=request.form.getlist("groups"),
        password=request.form.get("password", ""),
    )
    try:
        user = admin.create_user(actor, new)
    except InvalidInput as exc:
        new.password = ""  # a password is never sent back to the browser
        return _users_page(actor, new, exc.fields, exc.message), 422
    flash(gettext("ユーザー「%(username)s」を作成しました。", username=user.username), "ok")
    return redirect(url_for("admin.user", user_id=user.id))


def _users_page(
    actor: User, new: admin.NewUser, errors: dict[str, str], message: str | None = None
) -> str:
    return render_template(
        "admin/users.html",
        users=admin.list_users(actor),
        new=new,
        errors=errors,
        message=message,
        roles=ROLES,
        agencies=[(a.code, a.name) for a in admin.agencies()],
        groups=[group for group, _count in admin.list_groups(actor)],
    )


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int) -> Response | str | tuple[str, int]:
    actor = current_user._get_current_object()
    target = admin.get_user(actor, user_id)
    if request.method == "GET":
        return _user_page(actor, target, _access_of(target), {})
    action = request.form.get("action", "")
    if action not in USER_ACTIONS:
        raise InvalidInput(gettext("操作の指定が正しくありません。"))
    wanted = _access_of(target)
    try:
        if action == "access":
            wanted = admin.UserAccess(
                role=request.form.get("role", ""),
                agency=request.form.get("agency", ""),
                groups=request.form.getlist("groups"),
            )
            changed = admin.change_access(actor, user_id, wanted)
            flash(
                gettext("権限を変更しました。") if changed else gettext("変更はありません。"), "ok"
            )
        elif action == "scope":
            supervision_scope.replace(
                target,
                request.form.getlist("scope_agencies"),
                request.form.getlist("scope_queues"),
                actor,
            )
            flash(gettext("監督の範囲を保存しました。"), "ok")
        elif action == "password":
            admin.reset_password(actor, user_id, request.form.get("password", ""))
            flash(gettext("パスワードを再設定しました。本人に安全な方法で伝えてください。"), "ok")
        elif action == "end_sessions":
            ended = admin.end_sessions(actor, user_id)
            flash(gettext("ログインを %(count)s 件終了しました。", count=ended), "ok")
        else:
            revoked = admin.set_active(actor, user_id, action == "activate")
            if action == "activate":
                flash(gettext("ユーザーを有効にしました。"), "ok")
            else:
                flash(
                    gettext(
                        "ユーザーを無効にしました（APIトークン %(count)s 件を失効）。",
                        count=revoked,
                    ),
                    "ok",
                )
    except InvalidInput as exc:
        return _user_page(actor, target, wanted, exc.fields, exc.message), 422
    return redirect(url_for("admin.user", user_id=user_id))


def _access_of(target: User) -> admin.UserAccess:
    return admin.UserAccess(
        role=target.role,
        agency=target.agency.code if target.agency else "",
        groups=target.queue_keys(),
    )


def _user_page(
    actor: User,
    target: User,
    access: admin.UserAccess,
    errors: dict[str, str],
    message: str | None = None,
) -> str:
    agency_ids, scope_queues = supervision_scope.explicit(target)
    codes = {a.id: a.code for a in admin.agencies()}
    return render_template(
        "admin/user.html",
        target=target,
        scope_agencies={codes[i] for i in agency_ids if i in codes},
        scope_queues=set(scope_queues),
        live_sessions=live_sessions(target, idle_limit()),
        access=access,
        errors=errors,
        message=message,
        roles=ROLES,
        agencies=[(a.code, a.name) for a in admin.agencies()],
        groups=[group for group, _count in admin.list_groups(actor)],
    )


@bp.route("/groups", methods=["GET", "POST"])
def groups() -> Response | str | tuple[str, int]:
    actor = current_user._get_current_object()
    if request.method == "GET":
        return _groups_page(actor, {"key": "", "name": ""}, {})
    typed = {"key": request.form.get("key", ""), "name": request.form.get("name", "")}
    try:
        group = admin.create_group(actor, typed["key"], typed["name"])
    except InvalidInput as exc:
        return _groups_page(actor, typed, exc.fields, exc.message), 422
    flash(gettext("グループ「%(name)s」を作成しました。", name=group.name), "ok")
    return redirect(url_for("admin.groups"))


def _groups_page(
    actor: User, typed: dict[str, str], errors: dict[str, str], message: str | None = None
) -> str:
    return render_template(
        "admin/groups.html",
        groups=admin.list_groups(actor),
        typed=typed,
        errors=errors,
        message=message,
    )


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> Response | str | tuple[str, int]:
    actor = current_user._get_current_object()
    if request.method == "GET":
        return _settings_page(actor, None, {})
    typed = {key: request.form.get(key, "") for key in request.form if key != "csrf_token"}
    try:
        changed = setting_form.update_settings(actor, typed)
    except InvalidInput as exc:
        return _settings_page(actor, typed, exc.fields, exc.message), 422
    if changed:
        flash(gettext("設定を保存しました（%(count)s 項目を変更）。", count=len(changed)), "ok")
    else:
        flash(gettext("変更はありません。"), "ok")
    return redirect(url_for("admin.settings"))


def _settings_page(
    actor: User, typed: dict[str, str] | None, errors: dict[str, str], message: str | None = None
) -> str:
    return render_template(
        "admin/settings.html",
        fields=setting_form.setting_fields(actor, typed),
        errors=errors,
        message=message,
        interval_options=_interval_options,
    )


def _interval_options(choices: list[str]) -> list[tuple[str, str]]:
    """ISO durations of whole days (P14D) as the words staff read."""
    return [
        (c, gettext("%(days)s日ごと", days=c.removeprefix("P").removesuffix("D"))) for c in choices
    ]


@bp.route("/step-limits", methods=["GET", "POST"])
def step_limits() -> Response | str | tuple[str, int]:
    """The municipality's own limit (days) per step, which stalled cases are judged by."""
    actor = current_user._get_current_object()
    if request.method == "POST":
        try:
            changed = limits.save(actor, request.form.to_dict())
        except InvalidInput as exc:
            page = render_template(
                "admin/step_limits.html",
                rows=limits.rows(actor),
                typed=request.form,
                errors=exc.fields,
                message=exc.message,
            )
            return page, 422
        flash(gettext("期限を保存しました（%(count)s 件を変更）。", count=changed), "ok")
        return redirect(url_for("admin.step_limits"))
    return render_template(
        "admin/step_limits.html", rows=limits.rows(actor), typed=None, errors={}, message=None
    )
