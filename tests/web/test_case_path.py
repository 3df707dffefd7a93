"""The case diagram is given the path the case took, and only the diagrams of its own processes."""

from __future__ import annotations

import html as markup
import re

from flask.testing import FlaskClient

from tests.harness import Flow, first_assessment
from tests.web.support import log_in


def test_the_case_page_hands_the_diagram_the_flows_taken(flow: Flow, client: FlaskClient) -> None:
    case = flow.open_case()
    flow.complete("first_assessment", "demo-elderly", first_assessment("window"))
    log_in(client, "demo-elderly")
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    taken = set(markup.unescape(re.search(r'data-taken="([^"]*)"', html).group(1)).split())
    assert {"start>first_assessment", "route>window_support"} <= taken
    assert "route>referral_review" not in taken
    assert "呼び出し先のプロセス" not in html  # the case is in no called process

    assert client.get(f"/cases/{case.id}/diagram.bpmn?process=support_case").status_code == 200
    # Not a process this case runs or calls: nothing to show.
    assert client.get(f"/cases/{case.id}/diagram.bpmn?process=nonexistent").status_code == 404


def test_a_stranger_gets_no_diagram_of_the_case(flow: Flow, client: FlaskClient) -> None:
    case = flow.open_case()
    log_in(client, "demo-child")
    response = client.get(f"/cases/{case.id}/diagram.bpmn?process=participation")
    assert response.status_code in (403, 404)
