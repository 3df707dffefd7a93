"""Deployed process definitions and their diagrams (no personal data: every signed-in user may look)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from flask_login import login_required

from app.extensions import db
from app.models import ProcessDefinition
from app.services import definitions

bp = Blueprint("processes", __name__)


@bp.get("/processes")
@login_required
def index() -> str:
    return render_template("processes/index.html", rows=definitions.versions())


@bp.get("/processes/<int:definition_id>")
@login_required
def show(definition_id: int) -> str:
    row = db.session.get(ProcessDefinition, definition_id) or abort(404)
    return render_template("processes/show.html", row=row)


@bp.get("/processes/<int:definition_id>/diagram.bpmn")
@login_required
def diagram(definition_id: int) -> Response:
    row = db.session.get(ProcessDefinition, definition_id) or abort(404)
    return Response(row.bpmn_xml, mimetype="application/xml")
