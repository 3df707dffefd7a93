"""The administrator's outbound events (管理 › 外部連携): subscriptions, their delivery log, a resend
of a dead delivery and a test send. Thin: the service checks the role and audits every change."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from app.models import User, WebhookSubscription
from app.models.webhooks import EVENT_KINDS
from app.services.errors import InvalidInput
from app.services.webhooks import delivery, subscriptions
from app.web.admin import only_admins

bp = Blueprint("admin_webhooks", __name__)
bp.before_request(only_admins)
bp.add_app_template_filter(delivery.in_words, "webhook_error")

ACTIONS = ("deactivate", "activate", "secret", "test")


@bp.route("", methods=["GET", "POST"])
def index() -> Response | str | tuple[str, int]:
    actor = current_user._get_current_object()
    if request.method == "GET":
        return _index_page(actor, subscriptions.NewSubscription(event_kinds=list(EVENT_KINDS)), {})
    new = subscriptions.NewSubscription(
        name=request.form.get("name", ""),
        url=request.form.get("url", ""),
        event_kinds=request.form.getlist("event_kinds"),
    )
    try:
        row = subscriptions.create(actor, new)
    except InvalidInput as exc:
        return _index_page(actor, new, exc.fields, exc.message), 422
    flash(
        gettext(
            "送信先「%(name)s」を追加しました。「署名の秘密鍵を表示する」で鍵を確かめ、受信側に設定してください。",
            name=row.name,
        ),
        "ok",
    )
    return redirect(url_for("admin_webhooks.subscription", subscription_id=row.id))


def _index_page(
    actor: User,
    new: subscriptions.NewSubscription,
    errors: dict[str, str],
    message: str | None = None,
) -> str:
    return render_template(
        "admin/webhooks.html",
        rows=subscriptions.subscriptions(actor),
        new=new,
        errors=errors,
        message=message,
        kinds=[(kind, subscriptions.KIND_LABELS[kind]) for kind in EVENT_KINDS],
    )


@bp.route("/<int:subscription_id>", methods=["GET", "POST"])
def subscription(subscription_id: int) -> Response | str:
    actor = current_user._get_current_object()
    if request.method == "GET":
        return _subscription_page(actor, subscriptions.get(actor, subscription_id))
    action = request.form.get("action", "")
    if action not in ACTIONS:
        raise InvalidInput(gettext("操作の指定が正しくありません。"))
    if action == "secret":
        secret = subscriptions.reveal_secret(actor, subscription_id)
        page = _subscription_page(actor, subscriptions.get(actor, subscription_id), secret)
        response = make_response(page)
        response.headers["Cache-Control"] = "no-store"  # the secret stays out of every cache
        return response
    if action == "test":
        sent = subscriptions.send_test(actor, subscription_id)
        if sent.status == "delivered":
            flash(
                gettext("テスト送信が届きました（応答 %(code)s）。", code=sent.last_status_code),
                "ok",
            )
        else:
            flash(
                gettext(
                    "テスト送信は届きませんでした（%(error)s）。",
                    error=delivery.in_words(sent.last_error),
                ),
                "error",
            )
    elif subscriptions.set_active(actor, subscription_id, action == "activate"):
        if action == "activate":
            flash(gettext("送信を再開しました。"), "ok")
        else:
            flash(gettext("送信を停止しました。"), "ok")
    return redirect(url_for("admin_webhooks.subscription", subscription_id=subscription_id))


def _subscription_page(actor: User, row: WebhookSubscription, secret: str | None = None) -> str:
    return render_template(
        "admin/webhooks_subscription.html",
        row=row,
        secret=secret,
        deliveries=subscriptions.log(actor, row.id),
        kind_labels=subscriptions.KIND_LABELS,
        status_labels=subscriptions.STATUS_LABELS,
        log_size=subscriptions.LOG_SIZE,
    )


@bp.post("/<int:subscription_id>/deliveries/<int:delivery_id>/resend")
def resend(subscription_id: int, delivery_id: int) -> Response:
    actor = current_user._get_current_object()
    subscriptions.resend(actor, subscription_id, delivery_id)
    flash(gettext("再送を予約しました。次の処理で送信します。"), "ok")
    return redirect(url_for("admin_webhooks.subscription", subscription_id=subscription_id))
