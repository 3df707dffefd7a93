"""Municipality settings with their defaults; the support flow reads them when a case starts."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import Setting, User
from app.services import audit, memo
from app.services.errors import InvalidInput

VISIT_INTERVALS = {"P7D", "P14D", "P30D"}
CHECK_INTERVALS = {"P14D", "P30D", "P60D"}


def _label_ok(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value.strip()) <= 40 and "\x00" not in value


# (default, label (Japanese msgid), check). Meeting labels may change; each meeting's legal basis may not.
DEFINITIONS: dict[str, tuple[Any, str, Any]] = {
    "stall_after_days": (
        7,
        _l("期限を過ぎてから停滞とみなすまでの日数"),
        lambda v: isinstance(v, int) and 1 <= v <= 90,
    ),
    "monitoring_interval": ("P30D", _l("窓口での確認の間隔"), lambda v: v in CHECK_INTERVALS),
    "support_decision_required": (
        True,
        _l("市町村による支援決定を行う"),
        lambda v: isinstance(v, bool),
    ),
    "revisit_after": ("P14D", _l("アウトリーチ再訪問の標準間隔"), lambda v: v in VISIT_INTERVALS),
    "retention_check_after": (
        "P30D",
        _l("参加支援の定着確認の標準間隔"),
        lambda v: v in CHECK_INTERVALS,
    ),
    "next_visit_after": (
        "P14D",
        _l("同意後アウトリーチの標準間隔"),
        lambda v: v in VISIT_INTERVALS,
    ),
    "plan_conference_label": (
        "重層的支援会議",
        _l("重層的支援会議の呼び名（例：まるごと会議）"),
        lambda v: _label_ok(v),
    ),
    "support_council_label": (
        "支援会議",
        _l("支援会議（106条の6）の呼び名"),
        lambda v: _label_ok(v),
    ),
    "birth_date_wareki": (
        True,
        _l("生年月日に和暦を添えて表示する（例：1942年6月15日（昭和17年））"),
        lambda v: isinstance(v, bool),
    ),
    "council_material_days": (
        90,
        _l("支援会議の資料を構成員が閲覧できる日数"),
        lambda v: isinstance(v, int) and 1 <= v <= 365,
    ),
    "unclaimed_after_days": (
        3,
        _l("担当者が決まらないまま停滞とみなすまでの日数"),
        lambda v: isinstance(v, int) and 1 <= v <= 90,
    ),
    "message_wait_days": (
        14,
        _l("知らせ（同意・決定など）を待って停滞とみなすまでの日数"),
        lambda v: isinstance(v, int) and 1 <= v <= 180,
    ),
    "idle_after_days": (
        30,
        _l("ケースに動きがなく停滞とみなすまでの日数"),
        lambda v: isinstance(v, int) and 1 <= v <= 365,
    ),
    "deploy_requires_approval": (
        False,
        _l("プロセスの新しい版は係長・課長の承認を得てから本番に反映する"),
        lambda v: isinstance(v, bool),
    ),
    "admins_may_design": (
        False,
        _l("システム管理者もプロセスを編集・反映できる"),
        lambda v: isinstance(v, bool),
    ),
}


# Read on every page that names a stage; plain rows, and a statement built once.
_STORED = select(Setting.key, Setting.value).where(Setting.key.in_(list(DEFINITIONS)))


def current(bind: Any = None) -> dict[str, Any]:
    """Every setting, stored value or default (read through ``bind``, a session or connection;
    once per request until it writes a setting)."""
    if bind is not None:
        return _read(bind)
    return dict(memo.remembered("settings", lambda: _read(db.session), Setting))


def _read(bind: Any) -> dict[str, Any]:
    values = {key: default for key, (default, _, _) in DEFINITIONS.items()}
    values.update({key: value for key, value in bind.execute(_STORED)})
    return values


def update(key: str, value: Any, actor: User | None) -> None:
    """Change one setting (validated, audited, not committed)."""
    if key not in DEFINITIONS:
        raise InvalidInput(_("その設定項目はありません。"), fields={key: _("不明な設定です。")})
    if not DEFINITIONS[key][2](value):
        raise InvalidInput(
            _("設定値が正しくありません。"),
            fields={key: _("%(label)sの値が範囲外です。", label=DEFINITIONS[key][1])},
        )
    row = db.session.get(Setting, key)
    before = row.value if row else None
    if row is None:
        row = Setting(key=key)
        db.session.add(row)
    row.value = value
    row.updated_by = actor.username if actor else "system"
    if before != value:
        from app.services.supervision import readmodel  # the stalled list's limits move with it

        readmodel.retime(db.session, key, value)
    audit.record("setting.change", "setting", key, actor, detail={"before": before, "after": value})


def process_variables() -> dict[str, Any]:
    """The settings as the support flow's BPMN reads them (timer expressions are ISO durations)."""
    values = current()
    return {
        "stall_after_days": values["stall_after_days"],
        "monitoring_interval": values["monitoring_interval"],
        "support_decision_required": values["support_decision_required"],
        "revisit_after": values["revisit_after"],
        "retention_check_after": values["retention_check_after"],
        "next_visit_after": values["next_visit_after"],
    }
