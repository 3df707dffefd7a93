"""The database itself refuses statuses, roles and kinds the application does not know."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.users import ROLES

BAD_WRITES = [
    "UPDATE support_case SET status = 'lost'",
    "UPDATE user_account SET role = 'root'",
    "UPDATE work_item SET status = 'half-done'",
    "UPDATE process_instance SET status = 'zombie'",
]


@pytest.mark.parametrize("statement", BAD_WRITES)
def test_an_unknown_value_is_refused_by_the_database(statement: str, flow, ctx: Flask) -> None:
    flow.open_case()
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(text(statement))
        db.session.flush()
    db.session.rollback()


def test_the_migration_knows_every_role_the_application_knows() -> None:
    from importlib import util
    from pathlib import Path

    path = Path(__file__).parent.parent / "migrations" / "versions" / "0008_check_constraints.py"
    spec = util.spec_from_file_location("check_constraints", path)
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert set(module.ROLES) == set(ROLES)
