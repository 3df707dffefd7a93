"""The heatmap's numbers at one step: how many cases wait there, how many are past their due date,
the median and the longest wait, on both databases (each computes them its own way), and the list
of those cases, the longest first."""

from __future__ import annotations

from app.services.supervision import heatmap
from tests.harness import Flow, first_assessment


def test_count_late_median_and_longest_wait_at_a_step(flow: Flow) -> None:
    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    opened = []
    for days, title in ((6, "一件目"), (2, "二件目"), (1, "三件目"), (0, "四件目")):
        opened.append(flow.open_case(title=f"【テスト】{title}").id)
        flow.pass_days(days)
    # Waiting at first_assessment (due in 3 days) for 9, 3, 1 and 0 days.
    heat = heatmap.waiting(supervisor, "support_case")["first_assessment"]
    assert heat.count == 4
    assert heat.overdue == 1
    assert heat.worst_days == 9.0
    assert heat.median_days == 2.0  # the mean of the middle two: 3 and 1 days
    assert heat.level == "late"

    flow.pass_days(0.5)
    listed = heatmap.waiting_at(supervisor, "support_case", "first_assessment")
    assert [case.case_id for case in listed] == opened
    assert [case.days for case in listed] == [9.5, 3.5, 1.5, 0.5]
    assert [case.overdue for case in listed] == [True, True, False, False]
    heat = heatmap.waiting(supervisor, "support_case")["first_assessment"]
    assert (heat.count, heat.overdue, heat.median_days) == (4, 2, 2.5)
    assert (heat.worst_days, heat.level) == (9.5, "late")  # odd and even counts alike below

    # The list comes a page at a time, the longest first, each case once.
    heatmap.LISTED = 3
    try:
        first = heatmap.waiting_at(supervisor, "support_case", "first_assessment")
        second = heatmap.waiting_at(supervisor, "support_case", "first_assessment", page=2)
    finally:
        heatmap.LISTED = 50
    assert [case.case_id for case in first] == opened[:3]
    assert [case.case_id for case in second] == opened[3:]

    # Three left (a newer one done): the middle one is the median.
    flow.complete("first_assessment", "demo-elderly", first_assessment("window"))
    heat = heatmap.waiting(supervisor, "support_case")["first_assessment"]
    assert (heat.count, heat.median_days, heat.worst_days) == (3, 3.5, 9.5)
