"""The supervisors' daily digest: the day's new stalls reach each supervisor through a real SMTP
server on loopback (aiosmtpd); stalls of earlier days are not repeated, scope decides who hears of
a case, a failed send is audited and does not stop the others, and without an SMTP host nothing
is sent and nothing fails."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import Result
from flask import Flask, current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Agency, AuditEvent, User
from app.services import instances, users
from app.services.supervision import digest, stalled
from app.services.supervision import scope as scopes
from tests.harness import Flow

PASSWORD = "Scenario-Kasane-2026!"
ADDRESS = "kakaricho@example.jp"
CONFIG_KEYS = (
    "KASANE_SMTP_HOST",
    "KASANE_SMTP_PORT",
    "KASANE_SMTP_USER",
    "KASANE_SMTP_PASSWORD",
    "KASANE_SMTP_STARTTLS",
    "KASANE_MAIL_FROM",
    "KASANE_BASE_URL",
    "KASANE_DIGEST_RECIPIENTS",
)


class Inbox:
    """An aiosmtpd handler that keeps what it receives and refuses the chosen recipients."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for rcpt, message in self.received if address in rcpt]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mail_config(ctx: Flask, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The app's configuration with every digest setting cleared (environment too)."""
    for key in CONFIG_KEYS:
        monkeypatch.delenv(key, raising=False)
        monkeypatch.setitem(ctx.config, key, None)
    return ctx.config


@pytest.fixture
def smtp(mail_config: dict[str, object]) -> Iterator[Inbox]:
    """A real SMTP server on loopback, configured as the app's mail server."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    mail_config.update(
        KASANE_SMTP_HOST="127.0.0.1",
        KASANE_SMTP_PORT=str(port),
        KASANE_MAIL_FROM="kasane@city.example.jp",
        KASANE_BASE_URL="https://kasane.city.example.jp/",
        KASANE_DIGEST_RECIPIENTS=f"demo-supervisor={ADDRESS}, sv-child=kodomo@example.jp",
    )
    try:
        yield inbox
    finally:
        controller.stop()


def _agency(code: str) -> Agency:
    return db.session.scalar(select(Agency).where(Agency.code == code))


def _supervisor(flow: Flow, username: str, *agency_codes: str) -> User:
    """A supervisor overseeing the given agencies (created when not a demo user)."""
    if flow.user(username) is None:
        users.create_user(
            username, username, PASSWORD, "supervisor", agency_id=_agency(agency_codes[0]).id
        )
        db.session.commit()
    scopes.replace(flow.user(username), list(agency_codes), [], flow.user("demo-admin"))
    db.session.commit()
    return flow.user(username)


def _digests() -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "digest.send").order_by(AuditEvent.id)
        )
    )


def test_the_days_new_stalls_go_out_and_are_not_repeated(flow: Flow, smtp: Inbox) -> None:
    supervisor = _supervisor(flow, "demo-supervisor", "elderly-center")
    _supervisor(flow, "sv-child", "child-center")
    first = flow.open_case(title="【テスト】一件目の世帯").number
    flow.pass_days(3.5)  # the first assessment was due after 3 days, and nobody has taken it

    assert digest.send_all() == 1

    [mail] = smtp.to(ADDRESS)
    assert mail["Subject"] == "【Kasane】本日の新しい停滞 2件（2026年4月9日）"
    assert mail["From"] == "kasane@city.example.jp"
    body = mail.get_content()
    assert body.count(first) == 2 and "【テスト】一件目の世帯" in body
    assert "[期限を過ぎたステップ]" in body and "[担当者が決まっていない]" in body
    assert "https://kasane.city.example.jp/supervision/stalled" in body
    assert smtp.to("kodomo@example.jp") == []  # another agency's supervisor hears of none of it
    [sent] = _digests()
    assert (sent.outcome, sent.object_id) == ("ok", str(supervisor.id))
    assert sent.detail == {"count": 2, "recipient_user_id": supervisor.id}
    flow.pass_days(0.1)  # cron runs the command again the same day: nobody gets a second mail
    again = digest.deliver_all()
    assert (again.sent, again.already) == (0, 1) and len(smtp.received) == 1

    flow.pass_days(3.5)
    second = flow.open_case(title="【テスト】二件目の世帯").number
    flow.pass_days(3.5)
    _supervisor(flow, "sv-child", "child-center", "elderly-center")  # now oversees it too
    assert {
        row.case_number for row in stalled.listing(supervisor, stalled.StalledFilter()).rows
    } == {
        first,
        second,
    }

    assert digest.send_all() == 2

    [_, later] = smtp.to(ADDRESS)
    assert later["Subject"] == "【Kasane】本日の新しい停滞 2件（2026年4月16日）"
    assert second in later.get_content() and first not in later.get_content()
    [child] = smtp.to("kodomo@example.jp")
    assert second in child.get_content() and first not in child.get_content()
    assert len(smtp.received) == 3


def test_a_failed_send_is_audited_and_the_others_still_get_theirs(
    flow: Flow, smtp: Inbox, mail_config: dict[str, object]
) -> None:
    refused = _supervisor(flow, "demo-supervisor", "elderly-center")
    other = _supervisor(flow, "sv-elderly", "elderly-center")
    smtp.refuse.add(ADDRESS)
    mail_config["KASANE_DIGEST_RECIPIENTS"] = (
        f"demo-supervisor={ADDRESS},sv-elderly=elderly-sv@example.jp"
    )
    flow.open_case()
    flow.pass_days(3.5)

    assert digest.send_all() == 1

    assert smtp.to(ADDRESS) == [] and len(smtp.to("elderly-sv@example.jp")) == 1
    outcomes = {event.object_id: (event.outcome, event.detail) for event in _digests()}
    assert outcomes == {
        str(refused.id): (
            "error",
            {"count": 2, "recipient_user_id": refused.id, "error": "SMTPRecipientsRefused"},
        ),
        str(other.id): ("ok", {"count": 2, "recipient_user_id": other.id}),
    }
    assert all("@" not in str(event.detail) for event in _digests())


def test_an_unreachable_server_is_an_audited_error_not_a_crash(
    flow: Flow, mail_config: dict[str, object]
) -> None:
    supervisor = _supervisor(flow, "demo-supervisor", "elderly-center")
    mail_config.update(
        KASANE_SMTP_HOST="127.0.0.1",
        KASANE_SMTP_PORT=str(_free_port()),  # nothing listens there
        KASANE_DIGEST_RECIPIENTS=f"demo-supervisor={ADDRESS}",
    )
    flow.open_case()
    flow.pass_days(3.5)

    result = _command()

    assert result.exit_code == 1 and "1件は送れませんでした" in result.output
    [failed] = _digests()
    assert failed.outcome == "error" and failed.object_id == str(supervisor.id)


def _command() -> Result:
    return current_app.test_cli_runner().invoke(args=["kasane", "digest"])


def test_without_an_smtp_host_nothing_is_sent_and_nothing_fails(
    flow: Flow, smtp: Inbox, mail_config: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    _supervisor(flow, "demo-supervisor", "elderly-center")
    mail_config["KASANE_SMTP_HOST"] = None  # the server runs, but nobody told Kasane of it
    flow.open_case()
    flow.pass_days(3.5)

    with caplog.at_level(logging.INFO, logger=digest.__name__):
        assert digest.send_all() == 0
    assert "KASANE_SMTP_HOST" in caplog.text
    result = _command()
    assert result.exit_code == 0 and "SMTP サーバーが設定されていない" in result.output
    assert smtp.received == [] and _digests() == []


def test_the_command_sends_and_refuses_a_malformed_recipient_list(
    flow: Flow, smtp: Inbox, mail_config: dict[str, object]
) -> None:
    _supervisor(flow, "demo-supervisor", "elderly-center")
    flow.open_case()
    flow.pass_days(3.5)

    result = _command()
    assert result.exit_code == 0, result.output
    assert "1件送りました" in result.output and len(smtp.to(ADDRESS)) == 1

    mail_config["KASANE_DIGEST_RECIPIENTS"] = "demo-supervisor kakaricho@example.jp"
    result = _command()
    assert result.exit_code == 1
    assert "KASANE_DIGEST_RECIPIENTS の「demo-supervisor kakaricho@example.jp」が読めません" in (
        result.output
    )
    assert "Traceback" not in result.output and len(smtp.received) == 1


def test_an_engine_failure_is_new_when_it_happens_not_when_the_case_last_moved(
    flow: Flow,
) -> None:
    supervisor = _supervisor(flow, "demo-supervisor", "elderly-center")
    flow.open_case()
    flow.pass_days(30.5)
    assert [row.reason for row in digest.new_stalls(supervisor)] == ["no_activity"]

    [instance] = flow.instances()
    instances.mark_failed(instance.id, "スクリプトの失敗")
    assert [row.reason for row in digest.new_stalls(supervisor)] == ["error"]

    flow.pass_days(1.5)
    assert digest.new_stalls(supervisor) == []
    assert "error" in {
        row.reason for row in stalled.listing(supervisor, stalled.StalledFilter()).rows
    }
