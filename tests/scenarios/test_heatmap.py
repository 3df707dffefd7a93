"""The heatmap's numbers at one step: how many cases wait there, how many are past their due date,
the median and the longest wait, on both databases (each computes them its own way), and the list
of those cases, the longest first."""

from __future__ import annotations

from app.services.supervision import heatmap
from tests.harness import Flow


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
