"""The heatmap's flows: how many times the cases a supervisor can see took each sequence flow in a
period of whole days, the same before and after the timer worker tallies them per day, with steps
after the tally counted as they are; a changed scope counts again; a supervisor of another agency
counts none of these."""

from __future__ import annotations

from collections import Counter

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models import FlowTally, FlowTallyMonth, PathStep
from app.models.base import utcnow
from app.services import clock, users
from app.services.supervision import flows, heatmap
from tests.harness import Flow, first_assessment

PASSWORD = "Scenario-Kasane-2026!"


def _expected(case_ids: list[int], days: int) -> dict[str, int]:
    since = flows.period_start(days, utcnow())
    taken = Counter(
        f"{source}>{target}"
        for source, target in db.session.execute(
            select(PathStep.source_id, PathStep.target_id).where(
                PathStep.case_id.in_(case_ids),
                PathStep.process_key == "support_case",
                PathStep.taken_at >= since,
            )
        )
    )
    return dict(taken)


def test_flows_are_the_same_counted_now_or_tallied(flow: Flow) -> None:
    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    first = flow.open_case().id
    flow.complete("first_assessment", "demo-elderly", first_assessment("window"))
    flow.pass_days(2)
    second = flow.open_case(title="【テスト】二件目").id
    expected = _expected([first, second], 7)
    assert expected and sum(expected.values()) > 2
    assert heatmap.throughput(supervisor, "support_case", 7) == expected  # nothing tallied yet

    assert flows.roll_up() > 0
    assert db.session.scalar(select(FlowTally.taken).limit(1))
    assert flows.roll_up() == 0  # nothing new: a second round adds nothing twice
    assert heatmap.throughput(supervisor, "support_case", 7) == expected

    # Steps after the tally are counted as they are, until the next round.
    [item] = flow.open_items()
    flow.complete(item.element_id, "demo-elderly", first_assessment("window"))
    expected = _expected([first, second], 7)
    assert heatmap.throughput(supervisor, "support_case", 7) == expected
    flows.roll_up()
    assert heatmap.throughput(supervisor, "support_case", 7) == expected

    # A period is whole days in Japan: the steps of the oldest days fall out day by day.
    flow.pass_days(5.5)
    assert heatmap.throughput(supervisor, "support_case", 6) == _expected([first, second], 6)
    assert heatmap.throughput(supervisor, "support_case", 30) == _expected([first, second], 30)

    # Another agency's supervisor counts none of these cases' steps, tallied or not.
    other = users.create_user(
        "sv-child-flows", "子ども係長", PASSWORD, "supervisor", agency_id=_agency_id("child-center")
    )
    db.session.commit()
    flows.roll_up()
    assert heatmap.throughput(other, "support_case", 30) == {}


def test_a_changed_scope_counts_again(flow: Flow) -> None:
    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    case_id = flow.open_case().id
    flows.roll_up()
    assert heatmap.throughput(supervisor, "support_case", 30) == _expected([case_id], 30)

    supervisor = flow.oversee("demo-supervisor", "child-center")
    assert not db.session.scalars(select(FlowTally).where(FlowTally.user_id == supervisor.id)).all()
    assert heatmap.throughput(supervisor, "support_case", 30) == {}
    flows.roll_up()
    assert heatmap.throughput(supervisor, "support_case", 30) == {}

    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    flows.roll_up()
    assert heatmap.throughput(supervisor, "support_case", 30) == _expected([case_id], 30)


def _agency_id(code: str) -> int:
    from app.models import Agency

    return db.session.scalar(select(Agency.id).where(Agency.code == code))


def test_the_timer_workers_round_tallies_the_flows(flow: Flow) -> None:
    flow.oversee("demo-supervisor", "elderly-center")
    case_id = flow.open_case().id
    expected = _expected([case_id], 7)
    assert expected
    ran = current_app.test_cli_runner().invoke(args=["kasane", "worker", "--once"])
    assert ran.exit_code == 0, ran.output
    supervisor = flow.user("demo-supervisor")  # the round ended the session it shared
    tallied = db.session.execute(
        select(FlowTally.source_id, FlowTally.target_id, FlowTally.taken).where(
            FlowTally.user_id == supervisor.id
        )
    ).all()
    assert {f"{source}>{target}": taken for source, target, taken in tallied} == expected
    assert heatmap.throughput(supervisor, "support_case", 7) == expected


def test_long_periods_add_whole_months_and_the_days_before_them(flow: Flow) -> None:
    """Over months of steps tallied in several rounds, every period (a year, a quarter, one that
    starts on the first of a month) counts what the cases took, from monthly and daily tallies."""
    supervisor = flow.oversee("demo-supervisor", "elderly-center")
    opened = []
    for _ in range(5):
        opened.append(flow.open_case(title=f"【テスト】{len(opened) + 1}件目").id)
        flow.pass_days(23)
        flows.roll_up()
    assert db.session.scalar(select(func.count()).select_from(FlowTallyMonth)) >= 2
    today = utcnow().astimezone(clock.LOCAL).date()
    since_first = (today - today.replace(day=1)).days + 1  # a period from the 1st of this month
    for days in (7, 30, 90, 365, since_first, since_first + 1):
        expected = _expected(opened, days)
        assert heatmap.throughput(supervisor, "support_case", days) == expected, days
    assert sum(_expected(opened, 365).values()) > sum(_expected(opened, 30).values())
