"""The contract between a diagram and its forms, checked at deploy: every name a gateway's condition
reads is a field of one of the process's forms, a setting the flow is given, or something a script
writes; and a condition that compares a choice field with a value uses one of that field's choices.
(SpiffWorkflow would otherwise evaluate the condition to an error or to False at run time.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.engine import contract
from app.engine.specs import DeployError, Document, ProcessInfo
from app.services import settings

# Names a condition may use that no form gives: Python's constants and the helpers the
# restricted expression engine offers.
BUILTINS = {"True", "False", "None", "len", "any", "all", "min", "max", "int", "str", "bool"}


def check(
    documents: list[Document], infos: list[ProcessInfo], load_form: Callable[[str], Any]
) -> None:
    """Raise a DeployError for the first condition that breaks the contract."""
    fields: dict[str, set[Any] | None] = {}
    for info in infos:
        for key in sorted(info.form_keys):
            try:
                schema = load_form(key)
            except (KeyError, ValueError):
                continue  # deploy has already refused a missing or broken form
            for name, field in (schema.get("properties") or {}).items():
                merge(fields, name, choices_of(field))
    for name in settings.process_variables():
        merge(fields, name, None)
    roots = {doc.file_name: contract.document_root(doc.xml) for doc in documents}
    for root in roots.values():
        for name, values in contract.assignments(root).items():
            merge(fields, name, None if contract.any_value(values) else set(values))
    for file_name, root in roots.items():
        for condition in contract.conditions(root):
            problem = _problem(condition, fields)
            if problem:
                raise DeployError(file_name, condition.element_id, problem, condition.element_name)


def _problem(condition: contract.Condition, fields: dict[str, set[Any] | None]) -> str | None:
    for name in sorted(condition.reads - BUILTINS):
        if name not in fields:
            return (
                f"条件「{condition.source}」が読む「{name}」は、このプロセスのどのフォームの項目にも、"
                "設定にも、スクリプトで書く値にもありません。項目名を直すか、その項目をフォームに加えてください"
            )
    for name, value in condition.compares:
        allowed = fields.get(name)
        if allowed is not None and value not in allowed:
            listed = "、".join(sorted(str(v) for v in allowed))
            return (
                f"条件「{condition.source}」の '{value}' は「{name}」の選択肢にありません"
                f"（選べる値：{listed}）。フォームの選択肢か条件を直してください"
            )
    return None


def merge(fields: dict[str, set[Any] | None], name: str, choices: set[Any] | None) -> None:
    """A name's possible values across forms and scripts; None when any value may come."""
    if name in fields and fields[name] is None:
        return
    if choices is None:
        fields[name] = None
    else:
        fields[name] = (fields.get(name) or set()) | choices


def choices_of(field: Any) -> set[Any] | None:
    """The values a choice field can hold (oneOf consts or enum), None for free values."""
    if not isinstance(field, dict):
        return None
    options = field.get("oneOf") or field.get("anyOf")
    if (
        isinstance(options, list)
        and options
        and all(isinstance(o, dict) and "const" in o for o in options)
    ):
        return {o["const"] for o in options}
    if isinstance(field.get("enum"), list):
        return set(field["enum"])
    return None
