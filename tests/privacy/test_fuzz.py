"""Property-based tests: malformed and oversized input never makes a 500, never an unexpected
exception, and a refused request leaves nothing half-written.

(a) every form schema in forms/ through ``app.services.forms.validate`` (and the HTML form reader);
(b) the JSON API bodies of ``POST /api/v1/cases`` and ``POST /api/v1/work-items/<id>/complete``;
(c) the task page form (``POST /tasks/<id>``) and the intake page (``POST /cases/new``).

The examples of one test share one database: a request that succeeds moves the case on, so before each
example the target task is checked and a fresh case opened when it is no longer open.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from app.extensions import db
from app.models import (
    Case,
    Consent,
    FormSubmission,
    Household,
    HouseholdMember,
    Person,
    ProcessInstance,
    WorkItem,
)
from app.services import disclosure, forms, users
from app.services.errors import InvalidInput
from app.web import form_render
from tests.conftest import ServerLikeClient
from tests.harness import ROOT, Flow, first_assessment
from tests.web.support import csrf_from, log_in

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
SCHEMAS = {
    path.name.removesuffix(".schema.json"): path for path in sorted((ROOT / "forms").glob("*.json"))
}
WATCHED = (Case, FormSubmission, WorkItem, ProcessInstance)  # support_case, form_submission, ...


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------------

# Any character UTF-8 can carry, control characters included. Left out, because they are known bugs
# pinned at the end of this file: NUL (a 500 on PostgreSQL) and lone surrogates (a 500 on both).
CHARS = st.characters(codec="utf-8", exclude_characters="\x00")
CONTROL = st.sampled_from(
    ["\x01", "\x07", "\x1b", "\x7f", "\u200b", "\u202e", "\ufeff", "\r\n", "\t"]
)
TEXT = st.one_of(
    st.text(CHARS, max_size=30),
    st.lists(st.one_of(CONTROL, st.text(CHARS, max_size=3)), max_size=10).map("".join),
    st.sampled_from(
        ["", " ", "　", "null", "true", "0", "-1", "1e309", "2026-02-30", "9999-12-31"]
    ),
    st.sampled_from(["x", "あ", "𠮷", "\u3000"]).flatmap(
        lambda c: st.integers(150, 5000).map(lambda n: c * n)
    ),
)
KEYS = st.one_of(
    st.sampled_from(
        [
            "typename",
            "__proto__",
            "",
            "constructor",
            "__class__",
            "$ref",
            "_form",
            "task_id",
            "case",
        ]
    ),
    TEXT,
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([10**400, -(10**400), 2**63, -(2**63) - 1, 1e308, -0.0, 5e-324]),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=25,
)


def nest(depth: int, leaf: Any, as_list: bool) -> Any:
    for _ in range(depth):
        leaf = [leaf] if as_list else {"a": leaf}
    return leaf


DEEP = st.builds(nest, st.integers(1, 20), SCALARS, st.booleans())
VALUES = st.one_of(JSON, DEEP)


def answers(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts keyed like the form: each property gets one of its own allowed values or junk."""

    def value_for(prop: dict[str, Any]) -> st.SearchStrategy[Any]:
        allowed = [c["const"] for c in prop.get("oneOf", []) if "const" in c]
        allowed += (
            (prop.get("items") or {}).get("enum", []) if isinstance(prop.get("items"), dict) else []
        )
        dates = st.dates().map(lambda d: d.isoformat())
        if not allowed:
            return st.one_of(dates, TEXT, VALUES)
        good = st.sampled_from(allowed)
        return st.one_of(good, dates, st.lists(good, max_size=3), VALUES)

    props = schema.get("properties", {})
    optional = {key: value_for(prop) for key, prop in props.items()}
    return st.fixed_dictionaries({}, optional=optional).flatmap(
        lambda d: (
            st.dictionaries(KEYS, VALUES, max_size=2).map(lambda extra: {**d, **extra}) | st.just(d)
        )
    )


# ---------------------------------------------------------------------------------------------------
# (a) forms.validate and the HTML form reader
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_validate_raises_only_invalid_input(name: str) -> None:
    schema = load(SCHEMAS[name])

    @FUZZ
    @given(data=st.one_of(VALUES, answers(schema)))
    def check(data: Any) -> None:
        try:
            forms.validate(schema, data)
        except InvalidInput as exc:
            assert exc.message and isinstance(exc.fields, dict) and exc.fields
            assert all(
                isinstance(k, str) and isinstance(v, str) and v for k, v in exc.fields.items()
            )
        else:
            assert isinstance(data, dict)

    check()


def form_pairs(names: st.SearchStrategy[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """What a browser (or anyone) may post: names repeated, dotted, absurd; values of any text."""
    value = st.one_of(
        TEXT, st.dates().map(lambda d: d.isoformat()), st.sampled_from(["true", "false", "on"])
    )
    return st.lists(st.tuples(names, value), max_size=12)


def field_names(schema: dict[str, Any]) -> list[str]:
    """The names the rendered form uses, plus absurd row numbers for each repeat."""
    names = ["action"]
    for field in form_render.fields(schema, {}, {}):
        names += _names_of(field)
    return names


def _names_of(field: form_render.Field) -> list[str]:
    names = [field.name]
    for child in field.children:
        names += _names_of(child)
    if field.template is not None:
        for child in _names_of(field.template):
            for row in ("99999", "1000", "0001", "-1", "1e3", "٣", form_render.INDEX_TOKEN):
                names.append(child.replace(form_render.INDEX_TOKEN, row))
    return names


ABSURD_NAMES = [
    "goals.99999.goal",
    "goals.0.goal",
    "household_members.99999.relation",
    "household_members..relation",
    "household_members.0.relation.x",
    ".",
    "..",
    "a." * 40,
    "__proto__",
    "typename",
    "",
]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_form_reader_never_raises(name: str) -> None:
    """What the HTML form reader makes of any submission is validated, and the page re-rendered."""
    schema = load(SCHEMAS[name])
    names = st.one_of(st.sampled_from(field_names(schema) + ABSURD_NAMES), KEYS)

    @FUZZ
    @given(pairs=form_pairs(names))
    def check(pairs: list[tuple[str, str]]) -> None:
        data = form_render.parse(schema, MultiDict(pairs))
        assert isinstance(data, dict)
        errors = forms.errors_for(schema, data)
        form_render.fields(schema, data, errors)
        form_render.form_errors(schema, errors)

    check()


# ---------------------------------------------------------------------------------------------------
# Helpers for the HTTP tests
# ---------------------------------------------------------------------------------------------------


def counts(*models: type) -> dict[str, int]:
    db.session.expire_all()
    return {
        m.__tablename__: db.session.scalar(select(func.count()).select_from(m)) or 0
        for m in (models or WATCHED)
    }


def assert_error_shape(response: TestResponse) -> None:
    body = response.get_json(silent=True)
    assert isinstance(body, dict) and set(body) == {"error"}, response.get_data()[:300]
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"]
    assert isinstance(error.get("message"), str) and error["message"]
    assert set(error) <= {"code", "message", "fields", "request_id"}


@dataclass
class Target:
    """The open first task of a case at the elderly window; a new case when the last one moved on."""

    flow: Flow
    item_id: int | None = None

    def item(self) -> WorkItem:
        db.session.expire_all()
        item = db.session.get(WorkItem, self.item_id) if self.item_id else None
        if item is None or item.status != "open":
            self.flow.open_case("demo-elderly", "【テスト】ファジングのケース")
            [item] = self.flow.open_items()
            self.item_id = item.id
        return item

    def snapshot(self) -> tuple[Any, ...]:
        db.session.expire_all()
        item = db.session.get(WorkItem, self.item_id)
        instance = db.session.get(ProcessInstance, item.instance_id)
        return (item.status, item.assignee_id, item.draft, instance.state, instance.status)


def token_for(flow: Flow, username: str = "demo-elderly") -> dict[str, str]:
    return {"Authorization": f"Bearer {users.create_token(flow.user(username), 'fuzz')}"}


@pytest.fixture
def api(flow: Flow, ctx: Flask) -> Iterator[tuple[FlaskClient, dict[str, str]]]:
    client = ServerLikeClient(ctx, ctx.response_class, use_cookies=False)
    yield client, token_for(flow)


@pytest.fixture
def target(flow: Flow) -> Target:
    return Target(flow)


@pytest.fixture
def web(flow: Flow, ctx: Flask) -> Iterator[FlaskClient]:
    client = ServerLikeClient(ctx, ctx.response_class, use_cookies=True)
    assert log_in(client, "demo-elderly").status_code == 302
    yield client


# ---------------------------------------------------------------------------------------------------
# (b) API bodies
# ---------------------------------------------------------------------------------------------------

RAW_BODIES = st.sampled_from(
    [
        "",
        " ",
        "null",
        "[]",
        '"text"',
        "NaN",
        "-Infinity",
        "1e999",
        "1" * 5000,
        '{"title": 1e999}',
        '{"title": "a", "intake": {"received_on": NaN}}',
        '{"decision": "window", "main_complaint": ' + "1" * 5000 + "}",
        '{"a":',
        "{'a': 1}",
        '{"a": 1, "a": 2}',
        "\ufeff{}",
        "[" * 20 + "]" * 20,
        '{"a":' * 20 + "1" + "}" * 20,
    ]
)


def body_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=True)


INTAKE = load(SCHEMAS["intake"])
FIRST_ASSESSMENT = load(SCHEMAS["first_assessment"])
ASSESSMENT_BASES = [
    first_assessment("window"),
    first_assessment("coordination", consent="given"),
    first_assessment("coordination", consent="not_given"),
    first_assessment("referral", referral_to="child-center", referral_purpose="子育ての相談"),
    first_assessment(
        "referral",
        referral_to="child-center",
        referral_purpose="子育ての相談",
        consent_override_basis="life_protection",
        consent_override_reason="衰弱している",
    ),
    first_assessment("referral", referral_to="no-such-agency", referral_purpose="x"),
]


def perturbed(bases: list[dict[str, Any]], schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid body with some answers dropped, replaced or added."""

    def mix(base: dict[str, Any], drop: set[str], extra: dict[str, Any]) -> dict[str, Any]:
        return {**{k: v for k, v in base.items() if k not in drop}, **extra}

    return st.builds(
        mix,
        st.sampled_from(bases),
        st.sets(st.sampled_from(sorted(schema["properties"]))),
        st.one_of(st.just({}), answers(schema).map(lambda d: dict(list(d.items())[:2]))),
    )


COMPLETE_BODIES = st.one_of(
    VALUES.map(body_text),
    perturbed(ASSESSMENT_BASES, FIRST_ASSESSMENT).map(body_text),
    st.sampled_from(ASSESSMENT_BASES).map(body_text),
    RAW_BODIES,
)


@FUZZ
@given(
    body=COMPLETE_BODIES, content_type=st.sampled_from(["application/json"] * 9 + ["text/plain"])
)
def test_api_complete_with_any_body(
    api: tuple[FlaskClient, dict[str, str]], target: Target, body: str, content_type: str
) -> None:
    client, headers = api
    item = target.item()
    before, state = counts(), target.snapshot()
    sent = client.post(
        f"/api/v1/work-items/{item.id}/complete",
        data=body.encode("utf-8"),
        content_type=content_type,
        headers=headers,
    )
    event(f"status {sent.status_code}")
    assert sent.status_code < 500, (sent.status_code, body[:200], sent.get_data()[:300])
    if sent.status_code >= 300:
        assert_error_shape(sent)
        assert counts() == before, body[:200]
        assert target.snapshot() == state
    else:
        assert sent.status_code == 200 and sent.get_json()["status"] == "completed"
        after = counts()
        assert after["form_submission"] == before["form_submission"] + 1


INTAKE_BASE = {"received_on": "2026-04-06", "concerns": ["care", "income"], "most_pressing": "care"}
INTAKE_BASES = [
    INTAKE_BASE,
    {**INTAKE_BASE, "person": {"name": "佐藤 一郎", "kana": "サトウ イチロウ"}},
    {
        **INTAKE_BASE,
        "consent_given": True,
        "consent_date": "2026-04-06",
        "consent_scope": {"purpose": "支援のため", "agencies": ["child-center"]},
    },
]


def case_body(title: Any, intake: Any, agency: Any, extra: dict[str, Any]) -> dict[str, Any]:
    body = {**extra, "title": title}
    for key, value in (("intake", intake), ("agency", agency)):
        if value is not ABSENT:
            body[key] = value
    return body


ABSENT = object()
CASE_BODIES = st.one_of(
    VALUES.map(body_text),
    st.builds(
        case_body,
        st.one_of(st.just("【テスト】API受付"), TEXT, VALUES),
        st.one_of(
            st.sampled_from(INTAKE_BASES), perturbed(INTAKE_BASES, INTAKE), VALUES, st.just(ABSENT)
        ),
        st.one_of(
            st.just(ABSENT),
            st.sampled_from(["elderly-center", "child-center", "no-such-agency", ""]),
            TEXT,
            VALUES,
        ),
        st.one_of(st.just({}), st.dictionaries(KEYS, VALUES, max_size=2)),
    ).map(body_text),
    st.builds(
        case_body,
        st.one_of(st.just("【テスト】API受付"), st.text(CHARS, min_size=1, max_size=200)),
        st.sampled_from(INTAKE_BASES),
        st.sampled_from([ABSENT, "elderly-center", "child-center"]),
        st.just({}),
    ).map(body_text),
    RAW_BODIES,
)
CASE_TABLES = (*WATCHED, Person, Household, HouseholdMember, Consent)


@FUZZ
@given(body=CASE_BODIES)
def test_api_open_case_with_any_body(api: tuple[FlaskClient, dict[str, str]], body: str) -> None:
    client, headers = api
    before = counts(*CASE_TABLES)
    sent = client.post(
        "/api/v1/cases", data=body.encode("utf-8"), content_type="application/json", headers=headers
    )
    event(f"status {sent.status_code}")
    assert sent.status_code < 500, (sent.status_code, body[:200], sent.get_data()[:300])
    after = counts(*CASE_TABLES)
    if sent.status_code >= 300:
        assert_error_shape(sent)
        assert after == before, body[:200]
    else:
        assert sent.status_code == 201
        assert after["support_case"] == before["support_case"] + 1
        assert after["work_item"] == before["work_item"] + 1


# ---------------------------------------------------------------------------------------------------
# (c) The task page form and the intake page
# ---------------------------------------------------------------------------------------------------

TASK_NAMES = st.one_of(
    st.sampled_from(field_names(FIRST_ASSESSMENT) + ABSURD_NAMES + ["csrf_token"]), KEYS
)
TASK_ANSWERS = {
    "decision": ["window", "coordination", "referral", "other"],
    "consent": ["given", "not_given"],
    "urgency": ["low", "medium", "high", "emergency", "x"],
    "referral_to": ["child-center", "elderly-center", "no-such-agency"],
    "consent_override_basis": ["life_protection", "support_council", "nothing"],
}
TASK_GOOD = st.lists(
    st.sampled_from(sorted(TASK_ANSWERS)).flatmap(
        lambda name: st.tuples(st.just(name), st.sampled_from(TASK_ANSWERS[name]))
    ),
    max_size=4,
)


def task_form(good: list[tuple[str, str]], junk: list[tuple[str, str]], draft: bool) -> list:
    pairs = [("main_complaint", "母の介護と息子の無職"), *good, *junk]
    return [*pairs, ("action", "draft")] if draft else pairs


@FUZZ
@given(
    pairs=st.builds(task_form, TASK_GOOD, form_pairs(TASK_NAMES), st.booleans()),
    with_token=st.sampled_from([True] * 9 + [False]),
)
def test_task_page_post_with_any_fields(
    web: FlaskClient, target: Target, pairs: list[tuple[str, str]], with_token: bool
) -> None:
    item = target.item()
    token = csrf_from(web.get(f"/tasks/{item.id}"))
    form = MultiDict([("csrf_token", token), *pairs] if with_token else pairs)
    before, state = counts(), target.snapshot()
    sent = web.post(f"/tasks/{item.id}", data=form)
    event(f"status {sent.status_code}")
    assert (sent.status_code == 400) == (not with_token), (sent.status_code, pairs)
    assert sent.status_code < 500, (sent.status_code, pairs)
    if sent.status_code >= 400:
        assert counts() == before, pairs
        assert target.snapshot() == state
    else:
        assert sent.status_code == 302
        db.session.expire_all()
        after = db.session.get(WorkItem, item.id)
        if next((v for k, v in pairs if k == "action"), None) == "draft":
            assert after.status == "open" and counts() == before
        else:
            assert after.status == "completed"


INTAKE_NAMES = st.one_of(
    st.sampled_from(field_names(INTAKE) + ABSURD_NAMES + ["title", "agency", "person.address.x"]),
    KEYS,
)
INTAKE_GOOD = [
    ("title", "【テスト】窓口で受付"),
    ("received_on", "2026-04-06"),
    ("concerns", "care"),
    ("concerns", "income"),
]


@FUZZ
@given(
    junk=st.one_of(st.just([]), form_pairs(INTAKE_NAMES)),
    keep=st.one_of(st.just(set(range(len(INTAKE_GOOD)))), st.sets(st.integers(0, 3))),
    agency=st.sampled_from([None, "", "child-center", "no-such-agency", "elderly-center "]),
)
def test_intake_page_post_with_any_fields(
    web: FlaskClient, junk: list[tuple[str, str]], keep: set[int], agency: str | None
) -> None:
    token = csrf_from(web.get("/cases/new"))
    pairs = [("csrf_token", token)] + [INTAKE_GOOD[i] for i in sorted(keep)] + junk
    if agency is not None:
        pairs.append(("agency", agency))
    before = counts(*CASE_TABLES)
    sent = web.post("/cases/new", data=MultiDict(pairs))
    event(f"status {sent.status_code}")
    assert sent.status_code < 500, (sent.status_code, pairs)
    after = counts(*CASE_TABLES)
    if sent.status_code >= 400:
        assert after == before, pairs
    else:
        # To the new case's page, or to the inbox when it was taken in for another window.
        where = sent.headers["Location"]
        assert sent.status_code == 302 and ("/cases/" in where or where.endswith("/inbox"))
        assert after["support_case"] == before["support_case"] + 1


# ---------------------------------------------------------------------------------------------------
# Inputs that once caused failures, pinned as plain examples. The strategies above leave them out
# (no NUL, no lone surrogates, nesting ≤ 20) so that they keep looking for new problems.
# ---------------------------------------------------------------------------------------------------


@pytest.fixture
def backend(database_url: str) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


@pytest.mark.parametrize("endpoint", ["cases", "complete"])
def test_api_refuses_absurdly_deep_json(
    request: pytest.FixtureRequest,
    api: tuple[FlaskClient, dict[str, str]],
    target: Target,
    endpoint: str,
) -> None:
    client, headers = api
    url = (
        "/api/v1/cases"
        if endpoint == "cases"
        else f"/api/v1/work-items/{target.item().id}/complete"
    )
    before = counts()
    sent = client.post(
        url, data="[" * 100_000 + "]" * 100_000, content_type="application/json", headers=headers
    )
    assert sent.status_code in (400, 422), sent.status_code  # RecursionError must not become a 500
    assert_error_shape(sent)
    assert counts() == before


@pytest.mark.parametrize("endpoint", ["cases", "complete"])
def test_api_refuses_lone_surrogates(  # they cannot be stored as UTF-8 (nor exported later)
    request: pytest.FixtureRequest,
    api: tuple[FlaskClient, dict[str, str]],
    target: Target,
    flow: Flow,
    endpoint: str,
) -> None:
    client, headers = api
    if endpoint == "cases":
        url = "/api/v1/cases"
        body = '{"title": "a\\ud800b", "intake": ' + body_text(INTAKE_BASE) + "}"
    else:
        url = f"/api/v1/work-items/{target.item().id}/complete"
        body = '{"decision": "window", "main_complaint": "x\\udfffy"}'
    before = counts()
    sent = client.post(url, data=body, content_type="application/json", headers=headers)
    assert sent.status_code < 500, sent.status_code
    if sent.status_code >= 400:
        assert_error_shape(sent)
        assert counts() == before
        return
    # Accepted: then whatever was stored must still be exportable as UTF-8 text.
    db.session.expire_all()
    case = db.session.get(Case, sent.get_json().get("case_id") or sent.get_json().get("id"))
    export = disclosure.person_record(flow.user("demo-auditor"), case.person_id)
    assert export.decode("utf-8")


@pytest.mark.parametrize(
    "where", ["api_case_title", "api_intake_text", "api_form_text", "page_title", "page_form_text"]
)
def test_nul_characters_never_make_a_500(  # PostgreSQL refuses NUL in text and JSONB
    request: pytest.FixtureRequest,
    api: tuple[FlaskClient, dict[str, str]],
    web: FlaskClient,
    target: Target,
    where: str,
) -> None:
    client, headers = api
    item = target.item()
    token = csrf_from(web.get(f"/tasks/{item.id}"))
    before, state = counts(*CASE_TABLES), target.snapshot()
    if where == "api_case_title":
        body = {"title": "a\x00b", "intake": INTAKE_BASE}
        sent = client.post("/api/v1/cases", json=body, headers=headers)
    elif where == "api_intake_text":
        body = {"title": "ab", "intake": {**INTAKE_BASE, "wishes": "x\x00y"}}
        sent = client.post("/api/v1/cases", json=body, headers=headers)
    elif where == "api_form_text":
        data = first_assessment("window", main_complaint="x\x00y")
        sent = client.post(f"/api/v1/work-items/{item.id}/complete", json=data, headers=headers)
    elif where == "page_title":
        form = {"csrf_token": token, "title": "a\x00b", "received_on": "2026-04-06"}
        sent = web.post("/cases/new", data={**form, "concerns": "care"})
    else:
        form = {"csrf_token": token, "decision": "window", "main_complaint": "x\x00y"}
        sent = web.post(f"/tasks/{item.id}", data=form)
    assert sent.status_code < 500, sent.status_code
    if sent.status_code >= 400:
        assert counts(*CASE_TABLES) == before
        assert target.snapshot() == state


AFTER_FIELDS = [
    (name, key, prop["x-after"])
    for name, path in SCHEMAS.items()
    for key, prop in load(path).get("properties", {}).items()
    if "x-after" in prop
]


def test_the_forms_declare_x_after_fields() -> None:
    # Checked outside the parametrized test: an empty list would give it no cases at all.
    assert {(form, field) for form, field, _ in AFTER_FIELDS} >= {
        ("support_plan", "plan_end"),
        ("monitoring", "next_review_date"),
    }


@pytest.mark.parametrize(("form", "field", "after"), AFTER_FIELDS)
def test_dates_marked_x_after_must_come_after(form: str, field: str, after: str) -> None:
    schema = load(SCHEMAS[form])
    with pytest.raises(InvalidInput) as refused:
        forms.validate(schema, {after: "2026-04-06", field: "2026-04-06"})
    assert field in refused.value.fields
