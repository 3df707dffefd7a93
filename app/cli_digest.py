"""``flask --app app kasane digest``: e-mail each supervisor the day's new stalls (run it once a day)."""

from __future__ import annotations

import click
from flask_babel import gettext as _

from app.cli import kasane
from app.services.errors import ServiceError
from app.services.supervision import digest


@kasane.command("digest")
def digest_command() -> None:
    """E-mail the supervisors in KASANE_DIGEST_RECIPIENTS the stalls of the last 24 hours."""
    if not digest.smtp_configured():
        click.echo(
            _("SMTP サーバーが設定されていないため、送信しませんでした（KASANE_SMTP_HOST）。")
        )
        return
    try:
        run = digest.deliver_all()
    except ServiceError as exc:
        click.echo(_("送信できません：%(why)s", why=exc.message), err=True)
        raise SystemExit(1) from exc
    click.echo(
        _(
            "停滞のお知らせを %(sent)s件送りました（新しい停滞がなく送らなかった人 %(empty)s人）。",
            sent=run.sent,
            empty=run.empty,
        )
    )
    if run.already:
        click.echo(
            _("今日すでにお知らせを受け取った %(count)s人には送りませんでした。", count=run.already)
        )
    if run.failed:
        click.echo(
            _(
                "%(failed)s件は送れませんでした。ログと監査記録を確認してください。",
                failed=run.failed,
            ),
            err=True,
        )
        raise SystemExit(1)
