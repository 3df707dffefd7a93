"""Builds engine runs straight from fixture files, without a database."""

from __future__ import annotations

import json
from pathlib import Path

from app.engine.runtime import Run
from app.engine.specs import Document, SpecBundle, load_bundle

FIXTURES = Path(__file__).parent.parent / "fixtures"


def document(name: str) -> Document:
    return Document(name, (FIXTURES / "bpmn" / name).read_text(encoding="utf-8"))


def bundle(file_name: str, key: str) -> SpecBundle:
    doc = document(file_name)
    return load_bundle(f"test:{file_name}:{hash(doc.xml)}", key, lambda: [doc])


def load_form(name: str) -> dict:
    path = FIXTURES / "forms" / name
    if not path.is_file():
        raise KeyError(name)
    return json.loads(path.read_text(encoding="utf-8"))


def only_ready(run: Run) -> str:
    ready = run.ready_tasks()
    assert len(ready) == 1, ready
    return ready[0].task_id
