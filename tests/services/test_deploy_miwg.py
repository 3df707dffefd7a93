"""Every BPMN Model Interchange Working Group reference diagram either deploys (and starts
without a non-Kasane exception) or is refused with a Japanese message naming the element."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pytest
from flask import Flask
from lxml import etree

from app.engine.specs import DeployError
from app.services import definitions, instances
from app.services.errors import ServiceError

REFERENCE = Path(
    os.environ.get(
        "KASANE_MIWG_REFERENCE",
        Path(__file__).resolve().parents[3] / "shared" / "bpmn-miwg" / "Reference",
    )
)
DIAGRAMS = sorted(REFERENCE.glob("*.bpmn")) if REFERENCE.is_dir() else []
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]{3,}\s+[A-Za-z]{3,}\s+[A-Za-z]{3,}")


@pytest.mark.skipif(not DIAGRAMS, reason=f"MIWG reference diagrams not found in {REFERENCE}")
@pytest.mark.parametrize("path", DIAGRAMS, ids=[p.name for p in DIAGRAMS])
def test_reference_diagram_deploys_or_is_refused_clearly(ctx: Flask, path: Path) -> None:
    try:
        results = definitions.deploy([str(path)], ctx.config["KASANE_FORMS_DIR"])
    except DeployError as exc:
        assert exc.file_name == path.name
        assert exc.element_id != "-" and exc.element_id in str(exc)
        assert JAPANESE.search(exc.problem), exc.problem
        assert not ENGLISH_SENTENCE.search(re.sub(r"「[^」]*」", "", exc.problem)), exc.problem
        assert len(exc.problem) < 200, exc.problem
        named = etree.parse(str(path)).xpath("//*[@id=$id]/@name", id=exc.element_id)
        if named and named[0].strip():
            assert exc.element_name == " ".join(named[0].split()), str(exc)
        return
    assert results, "a deploy that registers nothing must be refused"
    for result in results:
        # A clear refusal at run time (a ProcessFailure) is an answer too.
        with contextlib.suppress(ServiceError):
            instances.start(result.key)
