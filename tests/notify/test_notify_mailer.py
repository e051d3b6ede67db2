"""Mailer: delivery through a real SMTP server (plain, STARTTLS, implicit TLS, AUTH) and the
pickup folder."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from pwreset.config.notify_settings import EmailSettings, MailText
from pwreset.server.notify import Mailer, NotifyError
from pwreset.server.notify.messages import compose

from support.smtp import ServerFactory, SmtpServer, make_test_tls

SettingsFactory = Callable[..., EmailSettings]


def _message(subject: str = "Hello", body: str = "Line one\nLine two\n") -> EmailMessage:
    return compose(
        sender='"Password self-service" <pwreset@example.org>',
        to=["jane.doe@example.org"],
        text=MailText(subject=subject, body=body),
        values={},
    )


def test_plain_smtp_host_and_port(smtp_plain: SmtpServer, email_for: SettingsFactory) -> None:
    """apr checklist 82: delivery through the configured SMTP host and port."""
    Mailer(email_for(smtp_plain)).send(_message())
    [mail] = smtp_plain.messages
    assert mail.mail_from == "pwreset@example.org"
    assert mail.rcpt_tos == ["jane.doe@example.org"]
    assert mail.message["Subject"] == "Hello"
    assert mail.message.get_content() == "Line one\nLine two\n"
    assert not mail.over_tls


def test_starttls_with_ca_file(smtp_starttls: SmtpServer, email_for: SettingsFactory) -> None:
    """apr checklist 82: STARTTLS, the server certificate checked against email.ca_file."""
    Mailer(email_for(smtp_starttls)).send(_message())
    [mail] = smtp_starttls.messages
    assert mail.over_tls


def test_implicit_tls_with_ca_file(smtp_tls: SmtpServer, email_for: SettingsFactory) -> None:
    """apr checklist 82: implicit TLS (port-465 style) with the CA file."""
    Mailer(email_for(smtp_tls)).send(_message())
    [mail] = smtp_tls.messages
    assert mail.over_tls


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_wrong_ca_is_refused(
    mode: str, smtp_server: ServerFactory, email_for: SettingsFactory, tmp_path: Path
) -> None:
    """apr checklist 82: a server certificate from another CA is never accepted."""
    server = smtp_server(mode)
    other = make_test_tls(tmp_path / "other", name="some other CA")
    with pytest.raises(NotifyError, match="not trusted") as caught:
        Mailer(email_for(server, ca_file=other.ca_file)).send(_message())
    assert caught.value.code == "notify_smtp_tls"
    assert server.messages == []


def test_wrong_host_name_is_refused(
    smtp_server: ServerFactory, email_for: SettingsFactory, tmp_path: Path
) -> None:
    """apr checklist 82: a trusted certificate must also name the host connected to."""
    elsewhere = make_test_tls(tmp_path / "elsewhere", hosts=("mail.example.org",))
    server = smtp_server("starttls", tls=elsewhere)
    with pytest.raises(NotifyError, match="not trusted"):
        Mailer(email_for(server, ca_file=elsewhere.ca_file)).send(_message())
    assert server.messages == []


def test_starttls_not_offered_is_not_downgraded(
    smtp_plain: SmtpServer, email_for: SettingsFactory
) -> None:
    """apr checklist 82: security = "starttls" against a server without STARTTLS fails
    instead of sending in clear text."""
    settings = email_for(smtp_plain, security="starttls")
    with pytest.raises(NotifyError, match="does not offer STARTTLS"):
        Mailer(settings).send(_message())
    assert smtp_plain.messages == []


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_auth_password_from_env(
    mode: str,
    smtp_server: ServerFactory,
    email_for: SettingsFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """apr checklist 82: AUTH with the password read from the variable email.password_env."""
    server = smtp_server(mode, users={"relay": "s3cret pass"})
    monkeypatch.setenv("PWRESET_TEST_SMTP_PASSWORD", "s3cret pass")
    settings = email_for(server, username="relay", password_env="PWRESET_TEST_SMTP_PASSWORD")
    Mailer(settings).send(_message())
    [mail] = server.messages
    assert mail.authenticated_as == "relay"


def test_auth_password_from_file(
    smtp_server: ServerFactory,
    email_for: SettingsFactory,
    tmp_path: Path,
) -> None:
    """apr checklist 82: AUTH with the password in email.password_file, resolved against the
    instance folder."""
    server = smtp_server("starttls", users={"relay": "from-file"})
    (tmp_path / "smtp.secret").write_text("from-file\n")
    settings = email_for(server, username="relay", password_file=Path("smtp.secret"))
    Mailer(settings, resolve=lambda p: tmp_path / p).send(_message())
    assert server.messages[0].authenticated_as == "relay"


def test_auth_wrong_password(
    smtp_server: ServerFactory, email_for: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """apr checklist 82: a refused login is a NotifyError that does not contain the password."""
    server = smtp_server("starttls", users={"relay": "right"})
    monkeypatch.setenv("PWRESET_TEST_SMTP_PASSWORD", "wrong-Secret-42")
    settings = email_for(server, username="relay", password_env="PWRESET_TEST_SMTP_PASSWORD")
    with pytest.raises(NotifyError) as caught:
        Mailer(settings).send(_message())
    assert caught.value.code == "notify_smtp_auth"
    assert "wrong-Secret-42" not in str(caught.value)
    assert server.messages == []


def test_auth_password_env_missing(
    smtp_starttls: SmtpServer, email_for: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """apr checklist 82: an unset password variable is named in the error."""
    monkeypatch.delenv("PWRESET_TEST_SMTP_PASSWORD", raising=False)
    settings = email_for(smtp_starttls, username="relay", password_env="PWRESET_TEST_SMTP_PASSWORD")
    with pytest.raises(NotifyError, match="PWRESET_TEST_SMTP_PASSWORD"):
        Mailer(settings).send(_message())


def test_auth_without_tls_is_refused(smtp_plain: SmtpServer, email_for: SettingsFactory) -> None:
    """apr checklist 82: a password is never sent over a clear-text connection."""
    settings = email_for(smtp_plain, username="relay", password_env="X")
    with pytest.raises(NotifyError, match="starttls"):
        Mailer(settings)


def test_refused_connection(email_for: SettingsFactory, smtp_plain: SmtpServer) -> None:
    """apr checklist 82: nothing listening is a NotifyError naming host and port."""
    smtp_plain.stop()
    with pytest.raises(NotifyError, match=f"127.0.0.1:{smtp_plain.port}"):
        Mailer(email_for(smtp_plain)).send(_message())


def test_delivery_off() -> None:
    """apr checklist 82: with delivery "off" nothing is sent and the caller is told."""
    with pytest.raises(NotifyError, match="off"):
        Mailer(EmailSettings()).send(_message())


# -- pickup folder ---------------------------------------------------------------------


def _pickup(folder: Path) -> Mailer:
    return Mailer(EmailSettings(delivery="pickup", pickup_dir=folder))


def test_pickup_one_rfc5322_file_per_message(pickup_dir: Path) -> None:
    """apr checklist 83: one RFC 5322 .eml file per message, parsed back with email.parser."""
    mailer = _pickup(pickup_dir)
    for n in range(3):
        mailer.send(_message(subject=f"Message {n}", body=f"Body {n} — grüße\n"))
    files = sorted(pickup_dir.iterdir())
    assert len(files) == 3
    assert all(f.suffix == ".eml" for f in files)
    subjects = set()
    for path in files:
        raw = path.read_bytes()
        assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line ends
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        subjects.add(parsed["Subject"])
        assert parsed["To"] == "jane.doe@example.org"
        assert parsed["Date"] and parsed["Message-ID"]
        n = parsed["Subject"].split()[-1]
        assert parsed.get_content().replace("\r\n", "\n") == f"Body {n} — grüße\n"
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert subjects == {"Message 0", "Message 1", "Message 2"}


def test_pickup_is_atomic(pickup_dir: Path) -> None:
    """apr checklist 83: an MTA watching the folder only ever sees complete .eml files."""
    body = "x" * 200_000 + "\nEND\n"
    mailer = _pickup(pickup_dir)
    seen: dict[str, bool] = {}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for path in pickup_dir.glob("*.eml"):
                if path.name not in seen:
                    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
                    assert isinstance(parsed, EmailMessage)
                    seen[path.name] = parsed.get_content().endswith("\nEND\r\n")

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(20):
            mailer.send(_message(body=body))
    finally:
        stop.set()
        watcher.join()
    assert len(list(pickup_dir.glob("*.eml"))) == 20
    assert all(seen.values())
    assert [p for p in pickup_dir.iterdir() if p.suffix != ".eml"] == []


def test_pickup_failed_write_leaves_nothing(
    pickup_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """apr checklist 83: a write that fails (disk full) leaves neither a file nor a temp."""

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(NotifyError, match="No space left"):
        _pickup(pickup_dir).send(_message())
    assert list(pickup_dir.iterdir()) == []


def test_pickup_missing_folder(tmp_path: Path) -> None:
    """apr checklist 83: a pickup folder that does not exist is reported, not created."""
    with pytest.raises(NotifyError, match="is not a folder"):
        _pickup(tmp_path / "nope").send(_message())
    assert not (tmp_path / "nope").exists()


def test_pickup_keeps_bcc_for_the_mta(pickup_dir: Path) -> None:
    """apr checklist 84: the pickup MTA learns the Bcc recipients from the Bcc header (and
    removes it, as pickup MTAs do); SMTP delivery never sends that header."""
    message = compose(
        sender="pwreset@example.org",
        to=["a@example.org"],
        bcc=["audit@example.org"],
        text=MailText(subject="s", body="b"),
        values={},
    )
    _pickup(pickup_dir).send(message)
    [path] = pickup_dir.iterdir()
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["Bcc"] == "audit@example.org"
