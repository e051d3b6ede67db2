"""The verification-code e-mail through a real SMTP server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pwreset.config.flow_settings import VerificationSettings
from pwreset.config.notify_settings import CodeMail, EmailSettings, MailText
from pwreset.server.notify import Notifier, NotifyError, Recipient

from support.smtp import SmtpServer

SettingsFactory = Callable[..., EmailSettings]
CODE = "739204"


def notifier(email: EmailSettings, code_mail: CodeMail | None = None) -> Notifier:
    return Notifier(
        email=email,
        code_mail=code_mail or CodeMail(),
        alerts={},
        verification=VerificationSettings(enabled=True),
    )


def test_code_replaced_in_subject_and_body(
    smtp_starttls: SmtpServer, email_for: SettingsFactory, jane: Recipient
) -> None:
    """apr checklist 89: [CODE] (and [AD_USER], [AD_DOMAIN]) are filled in the code mail."""
    code_mail = CodeMail(
        text={
            "en": MailText(
                subject="[CODE] is your code, [AD_USER]",
                body="Code for [AD_DOMAIN]\\[AD_USER]: [CODE]\n",
            )
        }
    )
    notifier(email_for(smtp_starttls), code_mail).send_code_email(
        [jane.directory_email], CODE, jane
    )
    [mail] = smtp_starttls.messages
    assert mail.message["Subject"] == f"{CODE} is your code, jdoe"
    assert mail.message.get_content() == f"Code for EXAMPLE\\jdoe: {CODE}\n"
    assert b"[CODE]" not in mail.raw


def test_stock_code_mail_in_the_users_language(
    smtp_plain: SmtpServer, email_for: SettingsFactory
) -> None:
    """apr checklist 88, 89: the stock text in the user's language (a regional tag finds its
    language), English for a language pwreset does not ship."""
    n = notifier(email_for(smtp_plain))
    n.send_code_email(["a@example.org"], CODE, Recipient("a", "EX", language="de"))
    n.send_code_email(["b@example.org"], CODE, Recipient("b", "EX", language="pt-BR"))
    n.send_code_email(["c@example.org"], CODE, Recipient("c", "EX", language="ar"))
    n.send_code_email(["d@example.org"], CODE, Recipient("d", "EX", language="fi"))
    german, portuguese, arabic, fallback = smtp_plain.messages
    assert german.message["Subject"] == "Ihr Bestätigungscode"
    assert f"lautet {CODE}." in german.message.get_content()
    assert portuguese.message["Subject"] == "O seu código de verificação"
    assert f"é {CODE}." in portuguese.message.get_content()
    assert arabic.message["Subject"] == "رمز التحقق الخاص بك"
    assert f"هو {CODE}." in arabic.message.get_content()
    assert fallback.message["Subject"] == "Your verification code"
    assert f"is {CODE}." in fallback.message.get_content()


@pytest.mark.parametrize(
    "chosen",
    [
        ["jane.doe@example.org"],  # directory
        ["jane@home.example.net"],  # enrolled
        ["jane.doe@example.org", "jane@home.example.net"],  # both
    ],
)
def test_sends_to_exactly_the_callers_addresses(
    chosen: list[str], smtp_plain: SmtpServer, email_for: SettingsFactory, jane: Recipient
) -> None:
    """apr checklist 90: the flow's choice (directory, enrolled or both) is honoured; the
    Recipient's other address is not added."""
    notifier(email_for(smtp_plain)).send_code_email(chosen, CODE, jane)
    [mail] = smtp_plain.messages
    assert mail.rcpt_tos == chosen
    assert [a.addr_spec for a in mail.message["To"].addresses] == chosen


def test_same_address_twice_is_one_recipient(
    smtp_plain: SmtpServer, email_for: SettingsFactory, jane: Recipient
) -> None:
    """apr checklist 90: "both" with equal addresses sends one copy."""
    notifier(email_for(smtp_plain)).send_code_email(
        [jane.directory_email, jane.directory_email], CODE, jane
    )
    assert smtp_plain.messages[0].rcpt_tos == [jane.directory_email]


def test_no_address_is_an_error(
    smtp_plain: SmtpServer, email_for: SettingsFactory, jane: Recipient
) -> None:
    """apr checklist 90: no address means the code could not be sent (the flow may fall back)."""
    with pytest.raises(NotifyError) as caught:
        notifier(email_for(smtp_plain)).send_code_email(["", "  "], CODE, jane)
    assert caught.value.code == "notify_no_recipient"


def test_delivery_off_is_an_error(jane: Recipient) -> None:
    """apr checklist 89: a code mail with delivery off is "not sent", not silently dropped."""
    with pytest.raises(NotifyError) as caught:
        notifier(EmailSettings()).send_code_email([jane.directory_email], CODE, jane)
    assert caught.value.code == "notify_off"


def test_code_mail_through_pickup_folder(pickup_dir: Path, jane: Recipient) -> None:
    """apr checklist 83, 89: the code mail can go through the pickup folder too."""
    email = EmailSettings(delivery="pickup", pickup_dir=Path("pickup"))
    n = Notifier(
        email=email,
        code_mail=CodeMail(),
        alerts={},
        verification=VerificationSettings(),
        resolve=lambda p: pickup_dir.parent / p,
    )
    n.send_code_email([jane.directory_email], CODE, jane)
    [path] = pickup_dir.glob("*.eml")
    assert CODE.encode() in path.read_bytes()
