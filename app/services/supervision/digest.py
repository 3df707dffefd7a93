"""The supervisors' daily digest: what became stalled in the last 24 hours, on the page and by e-mail.

Rows come from ``stalled.listing`` (the same access, scope and audit as the stalled page); a row is
new when the moment it became stalled falls within the day before ``now``. Mail goes through the
SMTP server named by ``KASANE_SMTP_*``. Users have no e-mail column, so the addresses come from
``KASANE_DIGEST_RECIPIENTS`` ("username=address,..."). Every digest sent or failed is audited with
its count and the recipient's user id, never with an address.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from babel import Locale
from babel.dates import format_date
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, User
from app.models.base import utcnow
from app.services import audit
from app.services.clock import LOCAL
from app.services.errors import InvalidInput
from app.services.supervision import stalled
from app.services.supervision.scope import SUPERVISOR
from app.services.supervision.stalled import StalledRow

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://127.0.0.1:5000"
DEFAULT_SENDER = "kasane@localhost"
STALLED_PATH = "/supervision/stalled"
# A supervisor gets one digest in this time, however often the command runs.
ONCE_A_DAY = timedelta(hours=20)
SMTP_TIMEOUT = 30


def new_stalls(actor: User, now: datetime | None = None) -> list[StalledRow]:
    """The stalled rows the actor may see (all reasons) that became stalled in the last 24 hours."""
    found = stalled.listing(actor, stalled.StalledFilter(new_only=True), now, size=stalled.ALL_ROWS)
    return found.rows


def compose(actor: User, rows: list[StalledRow], now: datetime | None = None) -> EmailMessage:
    """The digest for one supervisor: subject, date and a plain-text body (no From/To yet)."""
    now = now or utcnow()
    message = EmailMessage()
    message["Subject"] = _(
        "【Kasane】本日の新しい停滞 %(count)s件（%(date)s）",
        count=len(rows),
        date=_long_date(now.astimezone(LOCAL).date()),
    )
    message["Date"] = format_datetime(now.astimezone(LOCAL))
    lines = [_("%(name)s 様", name=actor.display_name), ""]
    if rows:
        lines.append(
            _(
                "監督している窓口とキューで、この24時間に新しく停滞したものが %(count)s件あります。",
                count=len(rows),
            )
        )
    else:
        lines.append(_("この24時間に新しく停滞したものはありません。"))
    for number, row in enumerate(rows, start=1):
        lines += [
            "",
            f"{number}. [{stalled.REASONS[row.reason]}] {row.case_number} {row.case_title}",
            "   " + _("どこで：%(where)s", where=row.where),
            "   "
            + _(
                "遅れ：%(days)s日（%(when)s から）",
                days=row.days_late,
                when=_long_date(row.since.astimezone(LOCAL).date()),
            ),
        ]
    lines += [
        "",
        _("一覧：%(url)s", url=stalled_url()),
        "",
        _("このメールは Kasane が自動で送っています。ケースの詳しい内容は画面で確認してください。"),
    ]
    message.set_content("\n".join(lines) + "\n")
    return message


def stalled_url() -> str:
    """The stalled page's address as people outside the server reach it (``KASANE_BASE_URL``)."""
    return _config("KASANE_BASE_URL", DEFAULT_BASE_URL).rstrip("/") + STALLED_PATH


def _long_date(day: date) -> str:
    return format_date(day, "long", locale=get_locale() or Locale("ja"))


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    sender: str
    user: str | None
    password: str | None
    starttls: bool


@dataclass
class DigestRun:
    """What one round of sending did."""

    sent: int = 0
    failed: int = 0
    empty: int = 0
    already: int = 0  # had their digest within the last ``ONCE_A_DAY`` (a second run the same day)


def smtp_configured() -> bool:
    return bool(_config("KASANE_SMTP_HOST"))


def send_all(now: datetime | None = None) -> int:
    """Send each recipient supervisor their digest; how many went out (0 without an SMTP host)."""
    return deliver_all(now).sent


def deliver_all(now: datetime | None = None) -> DigestRun:
    """Send the digests, one connection each: a failure is logged and audited, the rest go on."""
    now = now or utcnow()
    run = DigestRun()
    if not smtp_configured():
        log.info("digest not sent: KASANE_SMTP_HOST is not set")
        return run
    mail = mail_settings()
    addresses = recipients()
    if not addresses:
        log.warning("digest not sent: KASANE_DIGEST_RECIPIENTS names nobody")
        return run
    supervisors = [
        (user.id, user.username)
        for user in db.session.scalars(
            select(User)
            .where(
                User.username.in_(list(addresses)),
                User.role == SUPERVISOR,
                User.active.is_(True),
            )
            .order_by(User.username)
        )
    ]
    others = sorted(set(addresses) - {name for _id, name in supervisors})
    if others:
        log.warning("digest: not active supervisors, skipped: %s", ", ".join(others))
    had = _sent_lately(now or utcnow())
    for user_id, username in supervisors:
        if user_id in had:
            run.already += 1
            continue
        user = db.session.get(User, user_id)
        rows = new_stalls(user, now)
        if not rows:
            run.empty += 1
            continue
        message = compose(user, rows, now)
        message["From"] = mail.sender
        message["To"] = addresses[username]
        message["Message-ID"] = make_msgid("digest", domain=mail.sender.rpartition("@")[2])
        detail: dict[str, Any] = {"count": len(rows), "recipient_user_id": user_id}
        try:
            _send(mail, message)
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("digest to user %s failed: %s: %s", user_id, type(exc).__name__, exc)
            detail["error"] = type(exc).__name__
            _audit(user_id, "error", detail)
            run.failed += 1
            continue
        _audit(user_id, "ok", detail)
        run.sent += 1
    return run


def _sent_lately(now: datetime) -> set[int]:
    """The supervisors whose digest already went out this day (a cron run twice sends once)."""
    return {
        int(object_id)
        for object_id in db.session.scalars(
            select(AuditEvent.object_id).where(
                AuditEvent.action == "digest.send",
                AuditEvent.outcome == "ok",
                AuditEvent.at > now - ONCE_A_DAY,
            )
        )
        if object_id and object_id.isdigit()
    }


def _send(mail: MailSettings, message: EmailMessage) -> None:
    with smtplib.SMTP(mail.host, mail.port, timeout=SMTP_TIMEOUT) as smtp:
        if mail.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if mail.user:
            smtp.login(mail.user, mail.password or "")
        smtp.send_message(message)


def _audit(user_id: int, outcome: str, detail: dict[str, Any]) -> None:
    audit.record(
        "digest.send", "user", user_id, None, outcome=outcome, detail=detail, actor_name="digest"
    )
    db.session.commit()


def mail_settings() -> MailSettings:
    """The SMTP server and sender from the configuration; a bad port or sender is refused."""
    port_text = _config("KASANE_SMTP_PORT", "25")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise InvalidInput(_("KASANE_SMTP_PORT は 1〜65535 の数で指定してください。"))
    sender = _config("KASANE_MAIL_FROM", DEFAULT_SENDER)
    if not _is_address(sender):
        raise InvalidInput(_("KASANE_MAIL_FROM はメールアドレスで指定してください。"))
    return MailSettings(
        host=_config("KASANE_SMTP_HOST"),
        port=int(port_text),
        sender=sender,
        user=_config("KASANE_SMTP_USER") or None,
        password=_config("KASANE_SMTP_PASSWORD") or None,
        starttls=_config("KASANE_SMTP_STARTTLS", "").lower() in ("1", "true", "yes", "on"),
    )


def recipients() -> dict[str, str]:
    """``KASANE_DIGEST_RECIPIENTS`` as username → address; a malformed entry is refused."""
    mapping: dict[str, str] = {}
    for entry in _config("KASANE_DIGEST_RECIPIENTS", "").split(","):
        if not entry.strip():
            continue
        username, sep, address = (part.strip() for part in entry.partition("="))
        if not sep or not username or not _is_address(address) or username in mapping:
            raise InvalidInput(
                _(
                    "KASANE_DIGEST_RECIPIENTS の「%(entry)s」が読めません。"
                    "「ユーザー名=メールアドレス」をカンマで区切り、一人一つずつ書いてください。",
                    entry=entry.strip(),
                )
            )
        mapping[username] = address
    return mapping


def _is_address(text: str) -> bool:
    local, _at, domain = text.rpartition("@")
    return (
        bool(local and domain)
        and parseaddr(text)[1] == text
        and not any(c.isspace() or ord(c) < 32 for c in text)
    )


def _config(key: str, default: str = "") -> str:
    """A setting from the app's configuration, else from the environment."""
    value = current_app.config.get(key)
    if value is None or value == "":
        value = os.environ.get(key, "")
    return str(value) if value not in (None, "") else default
