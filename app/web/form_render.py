"""Turns a task form's JSON Schema into fields to render, and a submitted HTML form back into JSON.

Pure functions of the schema (no request, no database); the renderer's own few words (はい, 要配慮)
follow the language of the request when there is one. HTML names are the dotted paths of
``app.services.forms`` messages (``goals.0.goal``). Re-render with what ``parse`` returned: it drops
empty rows, so its row indexes are the ones the messages use.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from flask_babel import lazy_gettext
from werkzeug.datastructures import MultiDict

# fmt: off
Kind = Literal["text", "textarea", "number", "date", "radio", "select", "checkboxes", "checkbox",
               "yesno", "group", "repeat", "lines"]
# fmt: on

INDEX_TOKEN = "__index__"  # stands for the row number in a repeat's <template> row
MAX_ROWS = 100
MAX_INDEX = 1000
RADIO_MAX_OPTIONS = 5
TEXTAREA_OVER = 200
LINES_HINT = lazy_gettext("1行に1件ずつ入力してください。")
YES_NO = (("true", lazy_gettext("はい")), ("false", lazy_gettext("いいえ")))
_BADGES = {"R": lazy_gettext("要配慮"), "X": lazy_gettext("取扱注意")}
_MAX_DOTS = 16  # how deep names may nest; also ends a recursive $ref
_INTEGER = re.compile(r"[+-]?[0-9]{1,300}")
_NUMBER = re.compile(r"[+-]?(?:[0-9]{1,300}(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_MISSING: Any = object()
Json = dict[str, Any]


@dataclass(frozen=True)
class Field:
    """One thing to render: an input, a choice group, a nested group or a list of repeated rows.

    A repeat's ``children`` are its rows (groups with an ``index``); its ``template`` is a blank row
    numbered ``INDEX_TOKEN`` for the browser to clone.
    """

    name: str
    id: str
    label: str
    kind: Kind
    help: str = ""
    required: bool = False
    value: str = ""
    values: tuple[str, ...] = ()
    options: tuple[tuple[str, str], ...] = ()
    error: str = ""
    children: tuple[Field, ...] = ()
    template: Field | None = None
    index: str = ""
    sensitivity: str = ""
    maxlength: int | None = None
    min: int | float | None = None
    max: int | float | None = None
    step: str | None = None
    max_rows: int | None = None

    @property
    def badge(self) -> str:
        """The sensitivity badge after the label: 要配慮 (R), 取扱注意 (X), nothing for P."""
        return str(_BADGES.get(self.sensitivity, ""))

    @property
    def number(self) -> str:
        """A row's number as users count (1, 2, ...); empty in the template row."""
        return str(int(self.index) + 1) if self.index.isdigit() else ""

    @property
    def describedby(self) -> str:
        """Ids of the help text and the error message, for ``aria-describedby``."""
        ids = [f"{self.id}-help"] * bool(self.help) + [f"{self.id}-error"] * bool(self.error)
        return " ".join(ids)

    @property
    def input_type(self) -> str:
        """The ``<input type>``; a kept non-numeric answer goes in a text box, which shows it."""
        if self.kind == "number":
            return "number" if not self.value or _NUMBER.fullmatch(self.value) else "text"
        return "date" if self.kind == "date" else "text"


@dataclass(frozen=True)
class _Node:
    """One property of an object schema, with the control it gets."""

    key: str
    name: str
    kind: Kind
    schema: dict[str, Any]
    required: bool
    choices: tuple[tuple[Any, str], ...] = ()
    item: dict[str, Any] | None = None


class _Walker:
    """Lists the renderable properties of (nested) object schemas, following local ``$ref``s."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root

    def resolve(self, node: Any) -> dict[str, Any]:
        for _ in range(_MAX_DOTS):
            ref = node.get("$ref") if isinstance(node, dict) else None
            target = self._pointer(ref) if isinstance(ref, str) else None
            if target is None:
                break
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node if isinstance(node, dict) else {}

    def _pointer(self, ref: str) -> dict[str, Any] | None:
        if not ref.startswith("#/"):
            return dict(self.root) if ref == "#" else None
        node: Any = self.root
        for part in ref[2:].split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            node = node.get(key) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else None

    def nodes(self, schema: Any, prefix: str) -> Iterator[_Node]:
        schema = self.resolve(schema)
        properties = schema.get("properties")
        if prefix.count(".") > _MAX_DOTS or not isinstance(properties, dict):
            return
        required = schema.get("required") if isinstance(schema.get("required"), list) else ()
        for key, raw in properties.items():
            name = f"{prefix}.{key}" if prefix else key
            node = self._node(key, name, self.resolve(raw), key in required)
            if node is not None:
                yield node

    def _node(self, key: str, name: str, schema: dict[str, Any], required: bool) -> _Node | None:
        kind_of = _type(schema)
        if kind_of == "object":
            return _Node(key, name, "group", schema, required) if "properties" in schema else None
        if kind_of == "array":
            item = self.resolve(schema.get("items"))
            choices = _choices(item, schema.get("x-enumTitles"))
            if choices:
                return _Node(key, name, "checkboxes", schema, required, choices, item)
            if _type(item) == "object":
                return _Node(key, name, "repeat", schema, required, item=item)
            if _type(item) in ("string", "integer", "number"):
                return _Node(key, name, "lines", schema, required, item=item)
            return None
        if kind_of == "boolean":
            return _Node(key, name, "yesno" if required else "checkbox", schema, required, YES_NO)
        if kind_of not in ("string", "integer", "number"):
            return None
        choices = _choices(schema, schema.get("x-enumTitles"))
        if choices:
            few = len(choices) <= RADIO_MAX_OPTIONS and "x-picker" not in schema
            kind: Kind = "radio" if few else "select"
        elif kind_of != "string":
            kind = "number"
        elif schema.get("format") == "date":
            kind = "date"
        else:
            kind = "textarea" if (_num(schema.get("maxLength")) or 0) > TEXTAREA_OVER else "text"
        return _Node(key, name, kind, schema, required, choices)


def _type(schema: dict[str, Any]) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), "null")
    if isinstance(declared, str):
        return declared
    return "object" if "properties" in schema else "array" if "items" in schema else "string"


def _choices(schema: dict[str, Any], titles: Any) -> tuple[tuple[Any, str], ...]:
    """(value, label) pairs: ``oneOf``/``anyOf`` consts, or ``enum`` named by ``x-enumTitles``."""
    consts = schema.get("oneOf") or schema.get("anyOf") or ()
    if consts and all(isinstance(c, dict) and "const" in c for c in consts):
        return tuple((c["const"], str(c.get("title") or _as_text(c["const"]))) for c in consts)
    enum = schema.get("enum") if isinstance(schema.get("enum"), list) else []
    titles = titles if isinstance(titles, list) else schema.get("x-enumTitles")
    named = isinstance(titles, list) and len(titles) == len(enum)
    return tuple((v, str(titles[i]) if named else _as_text(v)) for i, v in enumerate(enum))


def _num(value: Any) -> int | float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _as_text(value: Any) -> str:
    """A JSON value as an HTML form carries it."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _html_id(name: str) -> str:
    return "f-" + _ID_UNSAFE.sub("_", name.replace(".", "-"))


def _texts(node: _Node, value: Any) -> list[str]:
    """The submitted strings that stand for a leaf's JSON value."""
    if value is _MISSING or value is None:
        return []
    if node.kind == "checkbox":
        return ["true"] if value is True else []
    if node.kind == "checkboxes":
        return [_as_text(v) for v in value] if isinstance(value, list) else [_as_text(value)]
    if node.kind == "lines" and isinstance(value, list):
        return ["\n".join(_as_text(v) for v in value)] if value else []
    return [_as_text(value)]


def _row_index(key: str, name: str) -> int | None:
    """N when ``key`` names row N of the repeat ``name`` or something in it; None if N is absurd."""
    part = key[len(name) + 1 :].split(".", 1)[0] if key.startswith(name + ".") else ""
    if not (part.isascii() and part.isdigit() and len(part) <= 4) or part[0] == "0" != part:
        return None
    return int(part) if int(part) <= MAX_INDEX else None


class _Renderer:
    """Builds fields and hands out error messages, remembering which ones found a field."""

    def __init__(self, schema: Mapping[str, Any], errors: Mapping[str, str] | None) -> None:
        self.walker = _Walker(schema)
        self.errors = dict(errors or {})
        self.used: set[str] = set()

    def error(self, name: str, *, nested: bool) -> str:
        """The first message for ``name`` (for a leaf, or for anything under it: ``concerns.2``)."""
        found = ""
        for key, message in self.errors.items():
            if key == name or (nested and key.startswith(name + ".")):
                self.used.add(key)
                found = found or message
        return found

    def fields_of(self, schema: Any, prefix: str, values: Any) -> tuple[Field, ...]:
        values = values if isinstance(values, dict) else {}
        nodes = self.walker.nodes(schema, prefix)
        return tuple(self.field(node, values.get(node.key, _MISSING)) for node in nodes)

    def field(self, node: _Node, value: Any) -> Field:
        schema = node.schema
        common: dict[str, Any] = {
            "name": node.name,
            "id": _html_id(node.name),
            "label": str(schema.get("title") or node.key),
            "kind": node.kind,
            "help": str(schema.get("description") or ""),
            "required": node.required,
            "sensitivity": str(schema.get("x-sensitivity") or ""),
            "options": tuple((_as_text(v), str(label)) for v, label in node.choices),
        }
        if node.kind == "group":
            children = self.fields_of(schema, node.name, value)
            return Field(**common, error=self.error(node.name, nested=False), children=children)
        if node.kind == "repeat":
            return self.repeat(node, value, common)
        if node.kind == "lines":
            common["help"] = f"{common['help']} {LINES_HINT}".strip()
        if node.kind in ("text", "textarea"):
            common["maxlength"] = _num(schema.get("maxLength"))
        if node.kind == "number":
            common.update(min=_num(schema.get("minimum")), max=_num(schema.get("maximum")))
            common["step"] = "1" if _type(schema) == "integer" else "any"
        texts = _texts(node, value)
        error = self.error(node.name, nested=True)
        return Field(**common, error=error, value=texts[0] if texts else "", values=tuple(texts))

    def repeat(self, node: _Node, value: Any, common: dict[str, Any]) -> Field:
        rows = value[:MAX_ROWS] if isinstance(value, list) else []
        with_errors = (_row_index(key, node.name) for key in self.errors)
        count = max([len(rows)] + [i + 1 for i in with_errors if i is not None and i < MAX_ROWS])
        limit = min(_num(node.schema.get("maxItems")) or MAX_ROWS, MAX_ROWS)
        label = str((node.item or {}).get("title") or common["label"])
        shown = [  # and one blank row, for pages without JavaScript
            self.row(node, str(i), rows[i] if i < len(rows) else {}, label)
            for i in range(count + (count < limit))
        ]
        template = self.row(node, INDEX_TOKEN, {}, label)
        error = self.error(node.name, nested=False)
        return Field(
            **common, error=error, children=tuple(shown), template=template, max_rows=limit
        )

    def row(self, node: _Node, index: str, value: Any, label: str) -> Field:
        name = f"{node.name}.{index}"
        children = self.fields_of(node.item, name, value)
        error = self.error(name, nested=False)
        return Field(
            name, _html_id(name), label, "group", error=error, children=children, index=index
        )


def fields(schema: Json, values: Json | None, errors: dict[str, str] | None) -> list[Field]:
    """What to render for ``schema``, filled with ``values`` and with ``errors`` by their fields."""
    return list(_Renderer(schema, errors).fields_of(schema, "", values))


def form_errors(schema: Json, errors: dict[str, str] | None) -> list[str]:
    """Messages no field shows (``_form`` and paths the form has no field for), once each."""
    renderer = _Renderer(schema, errors)
    renderer.fields_of(schema, "", {})
    left = [message for key, message in renderer.errors.items() if key not in renderer.used]
    return list(dict.fromkeys(left))


def parse(schema: Json, form: MultiDict[str, str]) -> dict[str, Any]:
    """The JSON data a submitted form stands for; unknown names are ignored and nothing raises.

    Empty answers are left out, so ``required`` reports them; a non-numeric answer to a number
    stays a string, so the validator reports it and the page shows it again.
    """
    return _Reader(schema, form).object(schema, "")


class _Reader:
    """Reads one submitted form against the schema."""

    def __init__(self, schema: Mapping[str, Any], form: MultiDict[str, str]) -> None:
        self.walker = _Walker(schema)
        self.form = form

    def object(self, schema: Any, prefix: str) -> dict[str, Any]:
        out = {}
        for node in self.walker.nodes(schema, prefix):
            value = self.value(node)
            if value is not _MISSING:
                out[node.key] = value
        return out

    def value(self, node: _Node) -> Any:
        form = self.form
        if node.kind == "group":
            filled = node.required or self.filled(node.name)
            return self.object(node.schema, node.name) if filled else _MISSING
        if node.kind == "repeat":
            names = (f"{node.name}.{i}" for i in self.row_indexes(node.name))
            rows = [self.object(node.item, name) for name in names if self.filled(name)]
            return rows if rows or node.required else _MISSING
        if node.kind == "checkbox":
            return node.name in form
        if node.kind == "checkboxes":
            picked = [_choice(node, v) for v in form.getlist(node.name) if v]
            return picked if picked or node.required else _MISSING
        raw = (form.get(node.name) or "").replace("\r\n", "\n")
        if node.kind == "lines":
            lines = (line.strip() for line in raw.split("\n"))
            items = [_scalar(node.item or {}, line) for line in lines if line]
            return items if items or node.required else _MISSING
        if not raw.strip():
            return _MISSING
        if node.kind == "yesno":
            return {"true": True, "false": False}.get(raw, raw)
        return _choice(node, raw) if node.choices else _scalar(node.schema, raw)

    def filled(self, prefix: str) -> bool:
        """Whether anything under ``prefix.`` was answered (a row left blank is not data)."""
        start = prefix + "."
        form = self.form
        return any(v.strip() for key in form if key.startswith(start) for v in form.getlist(key))

    def row_indexes(self, name: str) -> list[int]:
        """Row numbers submitted for the repeat ``name``, in order, at most ``MAX_ROWS`` of them."""
        found = {_row_index(key, name) for key in self.form}
        return sorted(i for i in found if i is not None)[:MAX_ROWS]


def _choice(node: _Node, raw: str) -> Any:
    """The option's own value (an enum may hold numbers); anything else stays as sent."""
    return next((v for v, _ in node.choices if _as_text(v) == raw), raw)


def _scalar(schema: dict[str, Any], raw: str) -> Any:
    kind = _type(schema)
    if kind not in ("integer", "number"):
        return raw
    text = unicodedata.normalize("NFKC", raw).strip()  # 全角数字 too
    if _INTEGER.fullmatch(text):
        return int(text)
    if kind == "number" and _NUMBER.fullmatch(text) and math.isfinite(float(text)):
        return float(text)
    return raw


def to_multidict(schema: Json, values: Json) -> MultiDict[str, str]:
    """What the page rendered from ``values`` submits untouched; ``parse`` reads ``values`` back."""
    return MultiDict(list(_submitted(fields(schema, values, None))))


def _submitted(shown: tuple[Field, ...] | list[Field]) -> Iterator[tuple[str, str]]:
    for field in shown:
        yield from _submitted(field.children)
        yield from ((field.name, value) for value in field.values)
