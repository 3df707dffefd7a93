"""Forms in the reader's language: the JSON Schemas are written in Japanese, and a catalogue per
language (``forms/i18n/<lang>.json``, keyed by form and field path) gives their other wording.

A missing catalogue, form or field keeps the Japanese text, so a new field shows in Japanese until
it is translated rather than not at all.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

CATALOGUE_DIR = Path(__file__).resolve().parent.parent.parent / "forms" / "i18n"
TEXT_KEYS = ("title", "description", "x-errorMessage", "x-enumTitles")


@lru_cache(maxsize=8)
def _catalogue(language: str) -> dict[str, Any]:
    path = CATALOGUE_DIR / f"{language}.json"
    if not language.isalpha() or not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def localized(schema: dict[str, Any], form_key: str | None, language: str) -> dict[str, Any]:
    """The schema with its titles, help, messages and choice names in ``language``."""
    entries = _catalogue(language).get(form_key or "") if language != "ja" else None
    if not entries:
        return schema
    out = copy.deepcopy(schema)
    _apply(out, "", entries)
    return out


def _apply(node: Any, path: str, entries: dict[str, Any]) -> None:
    if not isinstance(node, dict):
        return
    entry = entries.get(path) or {}
    for key in TEXT_KEYS:
        if key in entry and key in node:
            node[key] = entry[key]
    options = entry.get("options") or {}
    for option in node.get("oneOf") or node.get("anyOf") or []:
        if isinstance(option, dict) and str(option.get("const")) in options:
            option["title"] = options[str(option["const"])]
    for name, prop in (node.get("properties") or {}).items():
        _apply(prop, f"{path}.{name}" if path else name, entries)
    if isinstance(node.get("items"), dict):
        _apply(node["items"], f"{path}.*" if path else "*", entries)
