"""The case page speaks in words: choices by their titles, dates in Japan with 和暦, 受付日 as entered."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from app.services import cases
from app.services.errors import InvalidInput
from tests.harness import Flow
from tests.web.support import log_in


def test_person_and_dates_are_shown_in_words(flow: Flow, client: FlaskClient) -> None:
    case = cases.open_case(
        flow.user("demo-elderly"),
        "【テスト】言葉で表示",
        {
            "received_on": flow.today(-3),
            "concerns": ["care"],
            "person": {"name": "山田 花子", "sex": "female", "birth_date": "1942-06-15"},
        },
    )
    log_in(client, "demo-elderly")
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "女性" in html and "female" not in html
    assert "1942年6月15日" in html and "昭和17年" in html and "1942-06-15" not in html
    assert (
        "2026年4月3日" in html
    )  # 受付日 as entered (three days before today), not the record date


@pytest.mark.parametrize(
    ("intake", "field"),
    [
        ({"received_on": "2026-04-07"}, "received_on"),
        ({"person": {"birth_date": "2030-01-01"}}, "person.birth_date"),
    ],
)
def test_dates_that_record_the_past_cannot_be_in_the_future(
    flow: Flow, intake: dict, field: str
) -> None:
    data = {"received_on": flow.today(), "concerns": ["care"], **intake}
    with pytest.raises(InvalidInput) as refused:
        cases.open_case(flow.user("demo-elderly"), "【テスト】未来の日付", data)
    assert refused.value.fields[field] == "今日より後の日付は入力できません。"


def test_an_empty_title_is_called_required(flow: Flow) -> None:
    with pytest.raises(InvalidInput) as refused:
        cases.open_case(flow.user("demo-elderly"), " ", {"received_on": flow.today()})
    assert refused.value.fields["title"] == "件名は必須です。入力してください。"


def test_the_case_page_speaks_english_when_chosen(flow: Flow, client: FlaskClient) -> None:
    from tests.harness import first_assessment
    from tests.web.support import csrf_from

    case = cases.open_case(
        flow.user("demo-elderly"),
        "【テスト】英語で表示",
        {
            "received_on": flow.today(),
            "concerns": ["care"],
            "person": {"name": "山田 花子", "sex": "female", "birth_date": "1942-06-15"},
        },
    )
    flow.case = case
    flow.complete("first_assessment", "demo-elderly", first_assessment("window"))
    log_in(client, "demo-elderly")
    client.post(
        "/language", data={"csrf_token": csrf_from(client.get("/")), "lang": "en", "next": "/"}
    )
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Case opened" in html and "Date of birth" in html and "Support at the window" in html
    assert "Completed “初期アセスメント" in html  # task names are the diagram's own words
    for japanese in ("ケースを受け付けました", "生年月日", "を完了", "窓口での支援</dd>"):
        assert japanese not in html, japanese
