"""Alerts through a real SMTP server: recipients and macros, languages, HTML, outcomes, and
failures that never reach the user."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from pwreset.config.flow_settings import VerificationSettings
from pwreset.config.notify_settings import Alert, CodeMail, EmailSettings, MailText
from pwreset.server.notify import Notifier, Recipient

from support.smtp import SmtpServer

SettingsFactory = Callable[..., EmailSettings]

EN = MailText(
    subject="Password reset for [AD_USER]",
    body="The password of [AD_DOMAIN]\\[AD_USER] was reset.\n",
)
DE = MailText(
    subject="Kennwort von [AD_USER] zurückgesetzt",
    body="Das Kennwort von [AD_DOMAIN]\\[AD_USER] wurde zurückgesetzt.\n",
)


def notifier(email: EmailSettings, **alerts: Alert) -> Notifier:
    return Notifier(
        email=email,
        code_mail=CodeMail(),
        alerts=alerts,
        verification=VerificationSettings(),
    )


def reset_alert(**fields: Any) -> Alert:
    fields.setdefault("text", {"en": EN, "de": DE})
    return Alert(**fields)


def test_to_and_bcc_macros_delivered_bcc_hidden(
    smtp_plain: SmtpServer, email_for: SettingsFactory, jane: Recipient
) -> None:
    """apr checklist 84: macros in To and Bcc expand; Bcc recipients receive the message but
    no Bcc header is delivered."""
    alert = reset_alert(to="[APR_OR_AD_EMAIL]", bcc="[AD_EMAIL]; audit@example.org")
    assert notifier(email_for(smtp_plain), reset=alert).alert("reset", True, jane)
    [mail] = smtp_plain.messages
    assert mail.rcpt_tos == ["jane@home.example.net", "jane.doe@example.org", "audit@example.org"]
    assert mail.message["To"] == "jane@home.example.net"
    assert "Bcc" not in mail.message
    assert b"audit@example.org" not in mail.raw


def test_fallback_macro_when_directory_has_no_address(
    smtp_plain: SmtpServer, email_for: SettingsFactory, jane: Recipient
) -> None:
    """apr checklist 84: [AD_OR_APR_EMAIL] falls back to the enrolled address."""
    no_ad = Recipient(jane.username, jane.domain, enrolled_email="jane@home.example.net")
    alert = reset_alert(to="[AD_OR_APR_EMAIL]")
    assert notifier(email_for(smtp_plain), reset=alert).alert("reset", True, no_ad)
    assert smtp_plain.messages[0].rcpt_tos == ["jane@home.example.net"]


def test_several_recipients_all_delivered(
    smtp_plain: SmtpServer, email_for: SettingsFactory, jane: Recipient
) -> None:
    """apr checklist 85: every ';'-separated recipient gets the message."""
    alert = reset_alert(
        to="[AD_EMAIL];helpdesk@example.org; Security Team <security@example.org>",
        bcc="one@example.net;two@example.net",
    )
    assert notifier(email_for(smtp_plain), reset=alert).alert("reset", True, jane)
    [mail] = smtp_plain.messages
    assert sorted(mail.rcpt_tos) == sorted(
        [
            "jane.doe@example.org",
            "helpdesk@example.org",
            "security@example.org",
            "one@example.net",
            "two@example.net",
        ]
    )
    assert [a.addr_spec for a in mail.message["To"].addresses] == [
        "jane.doe@example.org",
        "helpdesk@example.org",
        "security@example.org",
    ]


def test_user_and_domain_macros(
    smtp_plain: SmtpServer, email_for: SettingsFactory, jane: Recipient
) -> None:
    """apr checklist 86: [AD_USER] and [AD_DOMAIN] in subject and body."""
    assert notifier(email_for(smtp_plain), reset=reset_alert()).alert("reset", True, jane)
    message = smtp_plain.messages[0].message
    assert message["Subject"] == "Password reset for jdoe"
    assert message.get_content() == "The password of EXAMPLE\\jdoe was reset.\n"
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (
        "Password self-service",
        "pwreset@example.org",
    )
    assert message["Date"] and message["Message-ID"]


def test_plain_body_is_text_plain_utf8(
    smtp_plain: SmtpServer, email_for: SettingsFactory, jane: Recipient
) -> None:
    """apr checklist 87: without <html> the body is text/plain (UTF-8)."""
    german = Recipient(
        jane.username, jane.domain, directory_email=jane.directory_email, language="de"
    )
    alert = reset_alert(to="[AD_EMAIL]")
    assert notifier(email_for(smtp_plain), reset=alert).alert("reset", True, german)
    message = smtp_plain.messages[0].message
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert "zurückgesetzt" in message.get_content()


def test_html_body_is_html_with_text_alternative(
    smtp_plain: SmtpServer, email_for: SettingsFactory
) -> None:
    """apr checklist 87: a body with <html> is sent as HTML (plus a plain-text alternative),
    and macro values are HTML-escaped in it."""
    body = (
        "<HTML><head><style>p {color: red}</style></head><body>"
        "<p>Hello <b>[AD_USER]</b> of [AD_DOMAIN],</p><p>your account was unlocked.</p>"
        "</body></HTML>"
    )
    alert = Alert(to="[AD_EMAIL]", text={"en": MailText(subject="Unlocked: [AD_USER]", body=body)})
    odd = Recipient("<script>x&y", "EX", directory_email="odd@example.org")
    assert notifier(email_for(smtp_plain), unlock=alert).alert("unlock", True, odd)
    message = smtp_plain.messages[0].message
    assert message["Subject"] == "Unlocked: <script>x&y"  # a header is not HTML
    assert message.get_content_type() == "multipart/alternative"
    html_part = message.get_body(preferencelist=("html",))
    text_part = message.get_body(preferencelist=("plain",))
    assert html_part is not None and text_part is not None
    html = html_part.get_content()
    assert "<b>&lt;script&gt;x&amp;y</b>" in html
    assert "<script>" not in html
    text = text_part.get_content()
    assert "Hello <script>x&y of EX," in text
    assert "your account was unlocked." in text
    assert "color" not in text and "<p>" not in text


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("de", "Kennwort von jdoe zurückgesetzt"),
        ("DE-ch", "Kennwort von jdoe zurückgesetzt"),
        ("de_AT", "Kennwort von jdoe zurückgesetzt"),
        ("fr", "Password reset for jdoe"),
        ("en", "Password reset for jdoe"),
    ],
)
def test_language_with_english_fallback(
    language: str,
    subject: str,
    smtp_plain: SmtpServer,
    email_for: SettingsFactory,
    jane: Recipient,
) -> None:
    """apr checklist 88: the Recipient's language (stored preference, else the page's, as
    the flow decides), else English when that language has no text."""
    to = Recipient(
        jane.username, jane.domain, directory_email=jane.directory_email, language=language
    )
    assert notifier(email_for(smtp_plain), reset=reset_alert()).alert("reset", True, to)
    assert smtp_plain.messages[0].message["Subject"] == subject


@pytest.mark.parametrize(
    ("on", "success", "sent"),
    [
        ("success", True, True),
        ("success", False, False),
        ("failure", True, False),
        ("failure", False, True),
        ("both", True, True),
        ("both", False, True),
    ],
)
def test_alert_outcome_filter(
    on: str,
    success: bool,
    sent: bool,
    smtp_plain: SmtpServer,
    email_for: SettingsFactory,
    jane: Recipient,
) -> None:
    """apr checklist 82: an alert is sent after success, failure or both, as configured."""
    alert = reset_alert(on=on)
    assert notifier(email_for(smtp_plain), reset=alert).alert("reset", success, jane) is sent
    assert len(smtp_plain.messages) == int(sent)


def test_alert_not_configured_disabled_or_no_address(
    smtp_plain: SmtpServer, email_for: SettingsFactory, jane: Recipient
) -> None:
    """apr checklist 84: nothing is sent for an event without alert, a disabled alert, an
    unknown event, or a user without any address."""
    n = notifier(email_for(smtp_plain), reset=reset_alert(), unlock=reset_alert(enabled=False))
    assert n.alert("enroll", True, jane) is False
    assert n.alert("unlock", True, jane) is False
    assert n.alert("bogus", True, jane) is False
    assert n.alert("reset", True, Recipient("jdoe", "EXAMPLE")) is False
    assert smtp_plain.messages == []


def test_alert_delivery_off(jane: Recipient) -> None:
    """apr checklist 82: with e-mail delivery off, alerts are quietly not sent."""
    assert notifier(EmailSettings(), reset=reset_alert()).alert("reset", True, jane) is False


def test_refused_connection_logs_why_not_what(
    smtp_plain: SmtpServer,
    email_for: SettingsFactory,
    jane: Recipient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """apr checklist 82: an unreachable SMTP server makes alert() return False and log one
    line with the reason, never the message text."""
    smtp_plain.stop()
    secretive = MailText(subject="Subject-Text-77", body="Body-Text-88 for [AD_USER]")
    alert = Alert(text={"en": secretive})
    with caplog.at_level(logging.DEBUG):
        assert notifier(email_for(smtp_plain), reset=alert).alert("reset", True, jane) is False
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    line = warnings[0].getMessage()
    assert "reset alert for jdoe@EXAMPLE not sent" in line
    assert "Connection refused" in line
    for record in caplog.records:
        assert "Body-Text-88" not in record.getMessage()
        assert "Subject-Text-77" not in record.getMessage()


@pytest.mark.parametrize(
    "evil",
    [
        "jane@example.org\r\nBcc: victim@example.net",
        "jane@example.org\nX-Injected: 1",
        "a@example.org, b@example.org",
        "a@example.org <b@example.org>",
    ],
)
def test_header_injection_through_an_address_is_refused(
    evil: str, smtp_plain: SmtpServer, email_for: SettingsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """apr checklist 84: an enrolled address with a line break or a second address cannot add
    headers or recipients: the alert is not sent."""
    to = Recipient("jdoe", "EXAMPLE", enrolled_email=evil)
    alert = reset_alert(to="[APR_EMAIL]")
    assert notifier(email_for(smtp_plain), reset=alert).alert("reset", True, to) is False
    assert smtp_plain.messages == []
    assert "recipient" in caplog.text


def test_header_injection_through_the_subject_is_refused(
    smtp_plain: SmtpServer, email_for: SettingsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """apr checklist 86: a user name with a line break cannot break out of the Subject."""
    to = Recipient("jdoe\r\nBcc: victim@example.net", "EXAMPLE", directory_email="j@example.org")
    assert notifier(email_for(smtp_plain), reset=reset_alert()).alert("reset", True, to) is False
    assert smtp_plain.messages == []
    assert "subject contains a line break" in caplog.text
