"""Monitoring and evaluation, walked in the browser by the people who do each step: the plan's
review brought forward from the case page, a monitoring that sends the plan back for revision and
one that sends the case back to assessment; an evaluation that continues the support, and two
interruptions (中断, not 終結) from which the case resumes at monitoring and at assessment."""

from __future__ import annotations

from datetime import timedelta

from app.services import clock
from tests.browser.person import (
    Person,
    confer,
    decide,
    fill_plan,
    intake,
)

GOAL = "家計の見通しを立てる"


def delivered(base: str, new_page, title: str) -> tuple[Person, Person, Person]:
    """A case whose plan the conference approved and the municipality decided: the coordinator,
    the supervisor and the decision officer."""
    intake(Person(new_page(), base, "demo-elderly"), title, True)
    coordinator = Person(new_page(), base, "demo-coordinator")
    coordinator.open_task("多機関協働の受付")
    coordinator.choose("受付の判断", "受理する")
    coordinator.press("完了する")
    coordinator.open_task("合同アセスメント")
    assert coordinator.value("主訴") == "母の介護と息子の無職"  # carried from the window's
    coordinator.fill("主訴", "世帯の複合的な課題")
    coordinator.press("完了する")
    fill_plan(coordinator, GOAL)
    coordinator.press("完了する")
    supervisor = Person(new_page(), base, "demo-supervisor")
    confer(supervisor, "承認する")
    officer = Person(new_page(), base, "demo-decision")
    decide(officer)
    return coordinator, supervisor, officer


def monitor(coordinator: Person, title: str, outcome: str, trigger: str = "危機・急な変化") -> None:
    """The coordinator brings the plan's review forward from the case page and records the
    monitoring's conclusion; ``outcome`` is left chosen, not yet submitted."""
    coordinator.open_case(title)
    coordinator.start_now("プランの見直し日")
    coordinator.open_task("モニタリング")
    assert GOAL in coordinator.text()  # the plan being monitored, beside the form
    coordinator.fill("実施日", clock.today().isoformat())
    coordinator.choose("きっかけ", trigger)
    coordinator.choose("モニタリングの結論", outcome)


def evaluate(supervisor: Person, conclusion: str) -> None:
    """The conference's evaluation of each goal; ``conclusion`` is left chosen, not yet submitted."""
    supervisor.open_task("評価（重層的支援会議）")
    supervisor.fill("評価日", clock.today().isoformat())
    supervisor.fill("目標", GOAL)
    supervisor.choose("結果", "一部達成")
    supervisor.choose("評価の結論", conclusion)


def done(person: Person) -> None:
    person.press("完了する")
    assert "完了しました" in person.flash(), person.text()


def test_monitoring_revises_the_plan_and_then_sends_the_case_back_to_assessment(
    live_server: str, new_page
) -> None:
    title = "【テスト】モニタリングで見直す世帯"
    coordinator, supervisor, officer = delivered(live_server, new_page, title)

    # The person lost their job: the plan is revised, approved and decided again.
    monitor(coordinator, title, "プランを見直す")
    coordinator.fill("本人・世帯の状況の変化", "本人が失職した")
    done(coordinator)
    coordinator.open_task("支援プランの作成")
    assert "本人が失職した" in coordinator.text()  # the monitoring that asks for the revision
    assert coordinator.value("目標") == GOAL  # the plan so far, to revise rather than retype
    coordinator.shot("plan-revision-after-monitoring")
    coordinator.fill("支援の方針", "失職を受けて就労支援を加える")
    coordinator.add_row("目標と役割分担")
    coordinator.fill("目標", "次の仕事を探す", group="目標 2")
    coordinator.fill("支援の内容", "ハローワークへの同行", group="目標 2")
    coordinator.fill("担当機関", "くらし自立相談支援窓口", group="目標 2")
    done(coordinator)
    confer(supervisor, "承認する")
    decide(officer)
    coordinator.open_case(title)
    assert "第2版" in coordinator.text() and "次の仕事を探す" in coordinator.text()

    # Then the household changes more than a plan can follow: assess it again.
    monitor(coordinator, title, "アセスメントをやり直す", trigger="転居")
    coordinator.fill("本人・世帯の状況の変化", "母が施設に入所し、本人は一人暮らしになった")
    done(coordinator)
    coordinator.open_task("合同アセスメント")
    assert "母が施設に入所し" in coordinator.text()  # why the assessment is done again
    assert coordinator.value("主訴") == "世帯の複合的な課題"  # the last assessment, to update
    coordinator.shot("assessment-after-monitoring")
    coordinator.fill("主訴", "一人暮らしになった本人の生活の立て直し")
    done(coordinator)
    assert "支援プランの作成" in coordinator.inbox_titles()


def test_the_evaluation_continues_then_interrupts_and_the_case_resumes_twice(
    live_server: str, new_page
) -> None:
    title = "【テスト】中断と再開の世帯"
    coordinator, supervisor, _ = delivered(live_server, new_page, title)
    later = (clock.today() + timedelta(days=90)).isoformat()

    # Termination is proposed, but the conference finds the support should go on.
    monitor(coordinator, title, "終結を提案する（評価へ）", trigger="定期（見直し日）")
    done(coordinator)
    evaluate(supervisor, "支援を継続する")
    supervisor.fill("次の見直し日", later)
    done(supervisor)

    # Next time the person stops answering: the conference interrupts the support (中断).
    monitor(coordinator, title, "終結を提案する（評価へ）", trigger="支援の拒否")
    done(coordinator)
    evaluate(supervisor, "中断する")
    supervisor.press("完了する")
    assert supervisor.error("中断の理由")  # required for an interruption: said there
    supervisor.fill("中断の理由", "本人と連絡が取れなくなった")
    done(supervisor)
    coordinator.open_case(title)
    assert coordinator.fact("状態") == "中断中"
    coordinator.shot("case-interrupted")

    # The person calls again: support resumes from monitoring.
    coordinator.open_task("中断中（再開の判断）")
    assert "本人と連絡が取れなくなった" in coordinator.text()  # why it was interrupted
    coordinator.shot("resume-task")
    coordinator.fill("再開日", clock.today().isoformat())
    coordinator.fill("再開の理由", "本人から連絡があった")
    coordinator.choose("再開のしかた", "モニタリングから再開する")
    coordinator.fill("次の見直し日", later)
    done(coordinator)
    coordinator.open_case(title)
    assert coordinator.fact("状態") == "支援中"

    # Interrupted once more, it resumes this time from a new assessment.
    monitor(coordinator, title, "終結を提案する（評価へ）", trigger="支援の拒否")
    done(coordinator)
    evaluate(supervisor, "中断する")
    supervisor.fill("中断の理由", "入院のため")
    done(supervisor)
    coordinator.open_task("中断中（再開の判断）")
    coordinator.fill("再開日", clock.today().isoformat())
    coordinator.fill("再開の理由", "退院して生活が変わった")
    coordinator.choose("再開のしかた", "アセスメントからやり直す")
    done(coordinator)
    coordinator.open_task("合同アセスメント")
    assert "退院して生活が変わった" in coordinator.text()  # why it is assessed again
