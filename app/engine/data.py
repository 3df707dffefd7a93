"""Keeps application data safe inside the engine's serialized document.

SpiffWorkflow's serializer treats any dict with a ``typename`` key as one of its own objects,
so such a key (a form field named ``typename``) would make a saved case unloadable. Keys
matching ``typename`` followed by any number of underscores get one more underscore on the
way in and lose it on the way out: lossless, and invisible to the application.
"""

from __future__ import annotations

import re
from typing import Any

_ESCAPED = re.compile(r"^typename_*$")


def to_engine(value: Any) -> Any:
    """Escape reserved keys in data handed to the engine."""
    if isinstance(value, dict):
        return {(_escape(k)): to_engine(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_engine(v) for v in value]
    return value


def from_engine(value: Any) -> Any:
    """Undo ``to_engine`` for data read back from the engine."""
    if isinstance(value, dict):
        return {(_unescape(k)): from_engine(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_engine(v) for v in value]
    return value


def _escape(key: Any) -> Any:
    return f"{key}_" if isinstance(key, str) and _ESCAPED.match(key) else key


def _unescape(key: Any) -> Any:
    return key[:-1] if isinstance(key, str) and _ESCAPED.match(key) and key != "typename" else key
