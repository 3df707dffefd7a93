"""Choices for form fields that name something Kasane keeps (``x-picker``): names to show, codes to store."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Agency

KINDS = {"agency"}


def choices(kind: str) -> list[tuple[str, str]]:
    """(code, name) pairs for a picker kind, in the order people read them."""
    if kind == "agency":
        return [
            (code, name)
            for code, name in db.session.execute(
                select(Agency.code, Agency.name).order_by(Agency.kind, Agency.name)
            )
        ]
    return []
