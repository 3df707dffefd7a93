"""The page staff land on: who they are and how much work waits in their queues."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.services import council, overview

bp = Blueprint("home", __name__)


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for this address by themselves: the icon the pages name."""
    return redirect(url_for("static", filename="favicon.svg"), 301)  # type: ignore[return-value]


@bp.get("/")
@login_required
def index() -> str:
    user = current_user._get_current_object()
    return render_template(
        "home.html",
        user=user,
        queue_counts=overview.queue_counts(user),
        assigned_count=overview.assigned_count(user),
        pledges_due=council.awaiting_pledge(user),
    )
