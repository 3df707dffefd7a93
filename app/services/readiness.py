"""Whether this process can serve: the database answers, its schema is at the newest migration,
and the support flow is deployed. Read by ``/readyz`` (load balancers, orchestrators)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.services import cases, definitions

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "migrations")


@dataclass
class Check:
    name: str
    ok: bool
    message: str


def checks() -> list[Check]:
    """Each condition with a message for the operator (Japanese, like every message of Kasane)."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return [Check("database", False, "データベースに接続できません。")]
    found = [Check("database", True, "データベースに接続できます。")]
    head = _migration_head()
    try:
        current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        db.session.rollback()
        current = None
    if current == head:
        found.append(Check("migrations", True, f"スキーマは最新です（{head}）。"))
    else:
        found.append(
            Check(
                "migrations",
                False,
                f"スキーマが最新ではありません（現在 {current or 'なし'}、最新 {head}）。"
                "flask db upgrade を実行してください。",
            )
        )
    deployed = definitions.latest(cases.DEFAULT_CASE_PROCESS, required=False) is not None
    found.append(
        Check(
            "processes",
            deployed,
            "支援のプロセスは登録済みです。"
            if deployed
            else "支援のプロセスが登録されていません。flask kasane deploy を実行してください。",
        )
    )
    return found


def _migration_head() -> str | None:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return ScriptDirectory.from_config(config).get_current_head()
