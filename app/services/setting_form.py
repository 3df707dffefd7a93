"""The administrator's form for the municipality settings: each setting as a field (its kind,
choices and range), and saving the form with every field checked first. ``settings.DEFINITIONS``
stays the authority on what is valid; this only shapes the inputs."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from app.extensions import db
from app.models import User
from app.services import settings
from app.services.admin import require_admin
from app.services.errors import InvalidInput

INTEGER = re.compile(r"-?[0-9]{1,9}")

# What the form offers (tests/web/test_admin.py checks that it agrees with settings.DEFINITIONS).
INTEGER_RANGES = {
    "stall_after_days": (1, 90),
    "council_material_days": (1, 365),
    "unclaimed_after_days": (1, 90),
    "message_wait_days": (1, 180),
    "idle_after_days": (1, 365),
}
INTERVAL_CHOICES = {
    "monitoring_interval": settings.CHECK_INTERVALS,
    "revisit_after": settings.VISIT_INTERVALS,
    "retention_check_after": settings.CHECK_INTERVALS,
    "next_visit_after": settings.VISIT_INTERVALS,
}


@dataclass
class SettingField:
    """One municipality setting as the settings form shows it."""

    key: str
    label: str
    kind: str  # "integer", "boolean" or "interval"
    value: Any
    choices: list[str] = field(default_factory=list)
    minimum: int | None = None
    maximum: int | None = None


def setting_fields(actor: User, values: dict[str, Any] | None = None) -> list[SettingField]:
    """Every setting as a form field, holding ``values`` (what was typed) or the current value."""
    require_admin(actor, "setting.view", "setting")
    shown = settings.current() if values is None else values
    rows = []
    for key, (default, label, _check) in settings.DEFINITIONS.items():
        row = SettingField(key=key, label=str(label), kind=_kind(default), value=shown.get(key))
        if key in INTERVAL_CHOICES:
            row.choices = sorted(INTERVAL_CHOICES[key], key=_days)
        if key in INTEGER_RANGES:
            row.minimum, row.maximum = INTEGER_RANGES[key]
        rows.append(row)
    return rows


def update_settings(actor: User, raw: dict[str, str]) -> list[str]:
    """Save the settings form (every field checked first); returns the keys that changed."""
    require_admin(actor, "setting.change", "setting")
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, (default, _label, check) in settings.DEFINITIONS.items():
        value, problem = _parse_setting(key, _kind(default), raw.get(key, ""))
        if problem is None and not check(value):
            problem = _range_problem(key)
        if problem is None:
            parsed[key] = value
        else:
            errors[key] = problem
    if errors:
        raise InvalidInput(
            _("設定値に誤りがあります。各項目のメッセージを確認してください。"), fields=errors
        )
    now = settings.current()
    changed = [key for key, value in parsed.items() if now.get(key) != value]
    for key in changed:
        settings.update(key, parsed[key], actor)
    db.session.commit()
    return changed


def _kind(default: Any) -> str:
    if isinstance(default, bool):
        return "boolean"
    if isinstance(default, int):
        return "integer"
    return "interval" if default.startswith("P") and default.endswith("D") else "text"


def _days(interval: str) -> int:
    return int(interval.removeprefix("P").removesuffix("D"))


def _parse_setting(key: str, kind: str, raw: str) -> tuple[Any, str | None]:
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        return None, _("入力してください。")
    if kind == "boolean":
        if text not in ("true", "false"):
            return None, _("「はい」か「いいえ」を選んでください。")
        return text == "true", None
    if kind == "integer":
        if not INTEGER.fullmatch(text):
            return None, _("整数で入力してください。")
        return int(text), None
    if kind == "text":
        return text, (None if len(text) <= 40 else _("40文字以内で入力してください。"))
    if text not in INTERVAL_CHOICES.get(key, ()):
        return None, _("選択肢から選んでください。")
    return text, None


def _range_problem(key: str) -> str:
    if key in INTEGER_RANGES:
        low, high = INTEGER_RANGES[key]
        return _("%(low)s〜%(high)sの範囲で入力してください。", low=low, high=high)
    return _("値が正しくありません。")
