"""The ``flask --app app kasane ...`` commands: deploy, run, worker, token, demo."""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from app.engine.specs import DeployError
from app.extensions import db
from app.models import ProcessInstance
from app.models.base import utcnow
from app.services import definitions, demo, demo_cases, events, instances, metrics, users, webhooks
from app.services.errors import ServiceError
from app.services.supervision import flows, readmodel

kasane = AppGroup("kasane", help="Kasane の運用コマンド")


def register_cli(app: Flask) -> None:
    from app import cli_digest  # noqa: F401  (adds `kasane digest` to the group)

    app.cli.add_command(kasane)


@kasane.command("deploy")
@click.argument("paths", nargs=-1)
def deploy_command(paths: tuple[str, ...]) -> None:
    """Validate and deploy BPMN files (default: processes/) as versioned definitions."""
    targets = list(paths) or [current_app.config["KASANE_PROCESSES_DIR"]]
    try:
        results = definitions.deploy(
            targets, current_app.config["KASANE_FORMS_DIR"], actor_name="cli"
        )
    except DeployError as exc:
        click.echo(f"デプロイできません（何も登録していません）: {exc}", err=True)
        raise SystemExit(1) from exc
    for result in results:
        state = "新しい版を登録しました" if result.created else "変更なし"
        click.echo(f"{result.key} v{result.version} ({result.file_name}): {state}")


@kasane.command("run")
@click.argument("key")
@click.option("--data", "data_json", default="{}", help="開始データ (JSON)")
def run_command(key: str, data_json: str) -> None:
    """Start a deployed process outside any case and print where it waits (a smoke run)."""
    try:
        data = json.loads(data_json)
    except json.JSONDecodeError as exc:
        raise click.BadParameter("JSONとして読めません", param_hint="--data") from exc
    if not isinstance(data, dict):
        raise click.BadParameter("JSONオブジェクトを指定してください", param_hint="--data")
    try:
        instance = instances.start(key, data=data)
    except ServiceError as exc:
        click.echo(f"実行できません: {exc.message}", err=True)
        raise SystemExit(1) from exc
    click.echo(f"instance {instance.id}: {instance.status}")
    for item in instances.open_items(instance):
        click.echo(
            f"  待機中のタスク: {item.element_id} 「{item.title}」 キュー={item.queue} フォーム={item.form_key}"
        )
    if instance.next_timer_at:
        click.echo(f"  次のタイマー: {instance.next_timer_at.isoformat()}")
    for sub in instances.subscriptions(instance):
        click.echo(f"  待機中のメッセージ: {sub.message_name} (相関値 {sub.correlation_value})")


# How often a worker with due timers still waiting delivers webhooks, rewrites the supervisors'
# rows and rolls up the flows (each view brings its rows up to date before it reads anyway).
HOUSEKEEPING_SECONDS = 2.0


@kasane.command("worker")
@click.option(
    "--interval", default=5.0, show_default=True, help="due timers are checked every N seconds"
)
@click.option("--once", is_flag=True, help="一度だけ処理して終了する")
def worker_command(interval: float, once: bool) -> None:
    """Fire due timers; several workers may run at once against PostgreSQL."""
    stopping: dict[str, Any] = {"stop": False}

    def stop(*_: Any) -> None:
        stopping["stop"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo("タイマーワーカーを開始しました")
    housekeeping_at = 0.0  # when the next round looks after more than timers (monotonic)
    while not stopping["stop"]:
        try:
            fired = events.fire_due_timers()
            metrics.WORKER_ROUNDS.labels("ok").inc()
            metrics.TIMERS_FIRED.inc(fired)
        except SQLAlchemyError as exc:
            # The database may be restarting; keep the worker alive and try again next round.
            db.session.rollback()
            current_app.logger.warning("timer round failed: %s", exc.__class__.__name__)
            metrics.WORKER_ROUNDS.labels("failed").inc()
            fired = 0
        if fired:
            click.echo(f"タイマーを {fired} 件処理しました")
        # A round that fired something while more are due goes on at once: a batch of 100 every
        # interval would leave 10,000 timers due together minutes late.
        more = fired > 0 and _due_now()
        # While timers wait, the rest comes every HOUSEKEEPING_SECONDS only (then over all the
        # steps since: fewer, larger roll-ups); otherwise every round.
        if once or not more or time.monotonic() >= housekeeping_at:
            webhooks.worker_round()  # outbound events due now; a failure never stops the worker
            _catch_up()
            _roll_up_flows()
            housekeeping_at = time.monotonic() + HOUSEKEEPING_SECONDS
        db.session.remove()
        if once:
            break
        if not more:
            _idle(interval, stopping)


def _catch_up() -> None:
    """Rewrite the supervisors' rows of the cases steps changed since the last look (a failure
    waits for the next second: each view catches up before it reads anyway)."""
    try:
        metrics.READ_MODEL_REWRITES.inc(readmodel.catch_up(db.session()))
    except SQLAlchemyError as exc:
        db.session.rollback()
        current_app.logger.warning("read model catch-up failed: %s", exc.__class__.__name__)
    finally:
        db.session.remove()


def _roll_up_flows() -> None:
    """Add the new path steps to the supervisors' daily tallies (the heatmap's flows); a failure
    waits for the next round."""
    try:
        flows.roll_up()
    except SQLAlchemyError as exc:
        db.session.rollback()
        current_app.logger.warning("flow roll-up failed: %s", exc.__class__.__name__)


def _due_now() -> bool:
    """Whether a timer is due now (a failed look-up says no: the next round tries again)."""
    return _next_due_in() == 0.0


def _next_due_in() -> float | None:
    """Seconds until the earliest timer is due (0 when one is due now); None when none is set or
    the look-up failed (the next look tries again)."""
    try:
        due = db.session.scalar(
            select(func.min(ProcessInstance.next_timer_at)).where(ProcessInstance.held_at.is_(None))
        )
    except SQLAlchemyError:
        db.session.rollback()
        return None
    finally:
        db.session.remove()
    return None if due is None else max(0.0, (due - utcnow()).total_seconds())


def _idle(interval: float, stopping: dict[str, Any]) -> None:
    """Wait up to ``interval`` seconds, ending when a timer comes due: the earliest due time is
    looked up on its index every second, and a timer due within that second is waited for to
    the moment, so it fires at its time, not up to a second (or ``interval``) later."""
    end = time.monotonic() + interval
    while not stopping["stop"] and (left := end - time.monotonic()) > 0:
        _catch_up()
        due_in = _next_due_in()
        # One due already (this round fired none of it: another worker holds it, say) waits the
        # second like any other; one due within the second is waited for to the moment.
        if due_in is not None and 0.0 < due_in < min(1.0, left):
            time.sleep(due_in)
            return
        time.sleep(min(1.0, left))
        if _due_now():
            return


@kasane.group("token")
def token_group() -> None:
    """Personal API tokens."""


@token_group.command("create")
@click.argument("username")
@click.option("--name", default="cli", help="トークンの用途")
def token_create(username: str, name: str) -> None:
    """Create a token for USERNAME and print it once."""
    try:
        user = users.find(username)
    except ServiceError as exc:
        click.echo(exc.message, err=True)
        raise SystemExit(1) from exc
    click.echo(users.create_token(user, name))


@token_group.command("revoke")
@click.argument("username")
def token_revoke(username: str) -> None:
    """Revoke every token of USERNAME."""
    count = users.revoke_tokens(users.find(username))
    click.echo(f"{count} 件のトークンを無効にしました")


@kasane.command("demo")
def demo_command() -> None:
    """Load the clearly marked demo data set (idempotent) and print how to log in."""
    demo_users = demo.load_demo_users()
    created = demo_cases.load_demo_cases()
    if created:
        click.echo(f"【デモデータ】デモ用ケースを {created} 件作成しました")
    click.echo("【デモデータ】以下のデモ用ユーザーでログインできます（本番では使わないでください）")
    click.echo(f"  パスワード（全員共通）: {demo.DEMO_PASSWORD}")
    for u in demo_users:
        click.echo(f"  {u.username:<22} {u.display_name}")


@kasane.command("layout")
@click.argument("paths", nargs=-1, required=True)
def layout_command(paths: tuple[str, ...]) -> None:
    """Rewrite the diagram interchange (DI) of BPMN files: lanes as bands, flow left to right."""
    from pathlib import Path

    from app.engine.layout import layout

    for raw in paths:
        path = Path(raw)
        path.write_bytes(layout(path.read_bytes()))
        click.echo(f"{path}: 図の配置を更新しました")
