"""Submitted forms in words: the titles of the choices a person made, a whole record read back
as labelled answers, and the era (和暦) of a date. Pure functions of a schema and its data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


def choice_labels(schema: dict[str, Any], data: dict[str, Any]) -> dict[str, str]:
    """The words a person chose, for top-level choice fields: ``{"urgency": "中程度（早めの対応）"}``.

    Stored values are codes (``medium``, an agency's code); screens show these words instead."""
    labels: dict[str, str] = {}
    for key, prop in (schema.get("properties") or {}).items():
        if key not in data or not isinstance(prop, dict):
            continue
        value = data[key]
        if isinstance(value, list):
            names = _titles(prop.get("items") or {}, prop.get("x-enumTitles"))
            if names and all(v in names for v in value if isinstance(v, str)):
                labels[key] = "、".join(names[v] for v in value if isinstance(v, str))
            continue
        names = _titles(prop, prop.get("x-enumTitles"))
        if isinstance(value, str) and value in names:
            labels[key] = names[value]
    return labels


def _titles(schema: dict[str, Any], enum_titles: Any) -> dict[str, str]:
    named = {
        option["const"]: str(option.get("title") or option["const"])
        for option in schema.get("oneOf") or schema.get("anyOf") or []
        if isinstance(option, dict) and isinstance(option.get("const"), str)
    }
    enum = schema.get("enum") if isinstance(schema.get("enum"), list) else []
    titles = enum_titles if isinstance(enum_titles, list) else schema.get("x-enumTitles")
    if isinstance(titles, list) and len(titles) == len(enum):
        named.update({str(v): str(t) for v, t in zip(enum, titles, strict=True)})
    return named


@dataclass(frozen=True)
class SummaryRow:
    """One answer of a submitted form, ready to show: a label and the words, or nested rows."""

    label: str
    text: str = ""
    date: str = ""  # an ISO date the page formats in its language
    children: tuple[tuple[SummaryRow, ...], ...] = ()


def summary(schema: dict[str, Any], data: dict[str, Any]) -> list[SummaryRow]:
    """A submitted form as labelled answers in words (choices by their titles), empty ones left out."""
    rows = []
    for key, prop in (schema.get("properties") or {}).items():
        value = data.get(key)
        if value in (None, "", [], {}) or not isinstance(prop, dict):
            continue
        label = str(prop.get("title") or key)
        words = choice_labels({"properties": {key: prop}}, {key: value})
        if key in words:
            rows.append(SummaryRow(label, words[key]))
        elif isinstance(value, bool):
            rows.append(SummaryRow(label, "はい" if value else "いいえ"))
        elif isinstance(value, dict):
            rows.append(SummaryRow(label, children=(tuple(summary(prop, value)),)))
        elif isinstance(value, list):
            item = prop.get("items") if isinstance(prop.get("items"), dict) else {}
            if all(isinstance(v, dict) for v in value):
                parts = tuple(tuple(summary(item, v)) for v in value)
                rows.append(SummaryRow(label, children=parts))
            else:
                rows.append(SummaryRow(label, "、".join(str(v) for v in value)))
        elif prop.get("format") == "date" and isinstance(value, str):
            rows.append(SummaryRow(label, date=value))
        else:
            rows.append(SummaryRow(label, str(value)))
    return rows


def choice_titles(schemas: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Field name → {stored code: words}, over every choice field of these forms (nested too), so
    a page showing a record (性別, 評価の結論, 緊急度) can put its codes into words."""
    found: dict[str, dict[str, str]] = {}

    def walk(schema: Any) -> None:
        if not isinstance(schema, dict):
            return
        for key, prop in (schema.get("properties") or {}).items():
            if not isinstance(prop, dict):
                continue
            names = _titles(prop, prop.get("x-enumTitles"))
            if isinstance(prop.get("items"), dict):
                names.update(_titles(prop["items"], prop.get("x-enumTitles")))
                walk(prop["items"])
            if names:
                found.setdefault(key, {}).update(names)
            walk(prop)

    for schema in schemas:
        walk(schema)
    return found


ERAS = (  # (first day, name): the Japanese era a date falls in
    (date(2019, 5, 1), "令和"),
    (date(1989, 1, 8), "平成"),
    (date(1926, 12, 25), "昭和"),
    (date(1912, 7, 30), "大正"),
    (date(1868, 10, 23), "明治"),
)


def wareki_year(day: date) -> str | None:
    """``昭和17年`` for a day in 1942 (元年 for an era's first year); None before 明治."""
    for start, name in ERAS:
        if day >= start:
            year = day.year - start.year + 1
            return f"{name}{'元' if year == 1 else year}年"
    return None
