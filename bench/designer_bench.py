"""Designer benchmark: deploy validation of processes/, and moving 1,000 running cases from
version 1 to version 2 of the support flow (the preview in counts, then the migration).

Opens KASANE_BENCH_CASES (1000) cases through the real intake, deploys a version 2 whose first
task has another due-day count and another name (every waiting case can move), then times
``design.migration.preview`` over all of them and ``design.migration.migrate`` in batches of 50.
Runs on SQLite, and on PostgreSQL when KASANE_TEST_DATABASE_URL is set. Prints a table and
``RESULT {json}`` last: validate_ms, preview_1000_ms, migrate_per_case_ms (PostgreSQL's when it ran).
Targets (issue): preview of 1,000 cases within 2 s; migration within 20 ms a case on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))
sys.path.insert(0, str(Path(__file__).parent))

from scratch_db import scratch_database  # noqa: E402

ROOT = Path(__file__).parent.parent
CASES = int(os.environ.get("KASANE_BENCH_CASES", "1000"))
BATCH = 50


def run(url: str) -> dict[str, float]:
    from flask_migrate import upgrade

    from app import create_app
    from app.web.observability import REQUEST_LOG

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "KASANE_FORMS_DIR": str(ROOT / "forms")})
    REQUEST_LOG.disabled = True
    with app.app_context():
        upgrade()
        return _measure()


def _measure() -> dict[str, float]:
    from sqlalchemy import select

    from app.engine.specs import Document, read_document
    from app.extensions import db
    from app.models import ProcessInstance, User
    from app.services import cases, definitions, demo, settings
    from app.services.design import migration

    forms = str(ROOT / "forms")
    demo.load_demo_users()
    documents = [
        read_document(path.name, path.read_bytes())
        for path in sorted((ROOT / "processes").glob("*.bpmn"))
    ]
    validate = []
    for _ in range(5):
        started = time.perf_counter()
        definitions.check_documents(documents, forms)
        validate.append((time.perf_counter() - started) * 1000)
    definitions.deploy_documents(documents, forms)
    v1 = definitions.latest("support_case")

    window = db.session.scalar(select(User).where(User.username == "demo-elderly"))
    today = time.strftime("%Y-%m-%d")
    started = time.perf_counter()
    for number in range(CASES):
        cases.open_case(
            window, f"【ベンチ】ケース{number}", {"received_on": today, "concerns": ["care"]}
        )
    print(f"  opened {CASES} cases in {time.perf_counter() - started:.1f} s", flush=True)

    changed = v1.bpmn_xml.replace(
        'name="dueInDays" value="3"', 'name="dueInDays" value="5"', 1
    ).replace('name="初期アセスメント（世帯全体）と対応の判断"', 'name="初期アセスメント"', 1)
    others = [d for d in documents if d.file_name != v1.file_name]
    definitions.deploy_documents([Document(v1.file_name, changed), *others], forms)
    v2 = definitions.latest("support_case")
    settings.update("admins_may_design", True, None)
    db.session.commit()
    designer = db.session.scalar(select(User).where(User.username == "demo-designer"))

    started = time.perf_counter()
    preview = migration.preview(v1.id, v2.id, designer)
    preview_ms = (time.perf_counter() - started) * 1000
    assert preview.movable == CASES, (preview.movable, preview.blocked)

    ids = list(preview.movable_ids)
    started = time.perf_counter()
    moved = 0
    for start in range(0, len(ids), BATCH):
        report = migration.migrate(ids[start : start + BATCH], v2.id, designer)
        moved += report.count(migration.MOVED)
    migrate_ms = (time.perf_counter() - started) * 1000
    assert moved == CASES, moved
    on_v2 = db.session.scalars(
        select(ProcessInstance.id).where(ProcessInstance.definition_id == v2.id)
    ).all()
    assert len(on_v2) == CASES
    figures = {
        "validate_ms": round(statistics.median(validate), 1),
        "preview_ms": round(preview_ms, 1),
        "migrate_per_case_ms": round(migrate_ms / CASES, 2),
    }
    print("  " + ", ".join(f"{k} {v}" for k, v in figures.items()), flush=True)
    return figures


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        print("SQLite", flush=True)
        sqlite = run(f"sqlite:///{folder}/designer_bench.db")
    pg = None
    server = os.environ.get("KASANE_TEST_DATABASE_URL")
    if server:
        with scratch_database(server, "kasane_designer") as url:
            print("PostgreSQL", flush=True)
            pg = run(url)
    print(f"{'':12} {'validate ms':>12} {f'preview {CASES} ms':>18} {'migrate ms/case':>16}")
    for label, values in (("SQLite", sqlite), ("PostgreSQL", pg)):
        if values:
            print(
                f"{label:12} {values['validate_ms']:12.1f} {values['preview_ms']:18.1f}"
                f" {values['migrate_per_case_ms']:16.2f}"
            )
    best = pg or sqlite
    result = {
        "cases": CASES,
        "validate_ms": best["validate_ms"],
        f"preview_{CASES}_ms": best["preview_ms"],
        "migrate_per_case_ms": best["migrate_per_case_ms"],
        "sqlite": sqlite,
        "pg": pg,
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
