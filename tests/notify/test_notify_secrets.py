"""No code, password or message text in any NotifyError or pwreset log record, whatever
fails (DESIGN.md: codes never reach a log or an error message)."""

from __future__ import annotations

import logging
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pwreset.config.flow_settings import VerificationSettings
from pwreset.config.notify_settings import Alert, CodeMail, EmailSettings, MailText
from pwreset.server.notify import Notifier, NotifyError, Recipient

from support.smtp import ServerFactory, make_test_tls

SettingsFactory = Callable[..., EmailSettings]
CODE = "A7K9Q2"
PASSWORD = "Smtp-Pass-31337"


@pytest.fixture(autouse=True)
def pwreset_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG):
        yield caplog
    # At teardown, caplog.records would be the teardown's own; the test's are under "call".
    records = caplog.get_records("setup") + caplog.get_records("call")
    ours = [r.getMessage() for r in records if r.name.startswith("pwreset")]
    assert ours, "the scenarios log something: this check must have lines to look at"
    for line in ours:
        assert CODE not in line and PASSWORD not in line, line


def notifier(email: EmailSettings, command: list[str] | None = None) -> Notifier:
    code_mail = CodeMail(text={"en": MailText(subject="Code [CODE]", body="Your code: [CODE]")})
    return Notifier(
        email=email,
        code_mail=code_mail,
        alerts={"reset": Alert(text={"en": MailText(subject="s", body="b")})},
        verification=VerificationSettings(
            enabled=True, sms=bool(command), sms_command=command or [], sms_timeout=0.5
        ),
    )


def assert_clean(error: NotifyError) -> None:
    text = f"{error} {error!r} {error.code}"
    assert CODE not in text and PASSWORD not in text and "Your code" not in text


def test_code_mail_failures_do_not_reveal_the_code(
    smtp_server: ServerFactory,
    email_for: SettingsFactory,
    jane: Recipient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """apr checklist 82, 89: refused connection, wrong CA and wrong password: the errors and
    the logs name the cause, never the code or the SMTP password."""
    monkeypatch.setenv("PWRESET_TEST_SMTP_PASSWORD", PASSWORD)
    down = smtp_server("plain")
    down.stop()
    other_ca = make_test_tls(tmp_path / "other").ca_file
    auth = smtp_server("starttls", users={"relay": "something else"})
    cases = [
        email_for(down),
        email_for(smtp_server("tls"), ca_file=other_ca),
        email_for(auth, username="relay", password_env="PWRESET_TEST_SMTP_PASSWORD"),
    ]
    for email in cases:
        with pytest.raises(NotifyError) as caught:
            notifier(email).send_code_email([jane.directory_email], CODE, jane)
        assert_clean(caught.value)


def test_successful_sends_log_no_code(
    smtp_plain: object, email_for: SettingsFactory, jane: Recipient, tmp_path: Path
) -> None:
    """apr checklist 89, 92: the success log lines say who and how many, not the code."""
    program = tmp_path / "ok.py"
    program.write_text(f"#!{sys.executable}\nprint('sent', __import__('sys').argv)\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    n = notifier(email_for(smtp_plain), [str(program), "[CODE]"])
    n.send_code_email([jane.directory_email], CODE, jane)
    n.send_code_sms(jane.phone, CODE, jane)
    assert n.alert("reset", True, jane)


@pytest.mark.parametrize(
    "command",
    [
        ["/nonexistent/[CODE]", "[CODE]"],
        ["sh", "-c", "echo [CODE] >&2; exit 1", "[CODE]"],
        ["sh", "-c", "echo [CODE]; sleep 5", "[CODE]"],
    ],
)
def test_sms_failures_do_not_reveal_the_code(command: list[str], jane: Recipient) -> None:
    """apr checklist 93: missing program (even one named with [CODE]), a failing program
    that prints the code, and a timeout: no code in the error or the logs."""
    with pytest.raises(NotifyError) as caught:
        notifier(EmailSettings(), command).send_code_sms(jane.phone, CODE, jane)
    assert_clean(caught.value)
