"""`[enrollment_drive]` and `[report_mail]`: each mistake is refused with the key and the
reason; the stock reminder exists in every shipped language."""

from __future__ import annotations

from pathlib import Path

import pytest

from pwreset.config import ConfigError, load_config
from pwreset.config.drive_settings import EnrollmentDriveSettings
from pwreset.config.expiry_settings import ExpiryNoticeSettings

DOMAIN = """
[web]
public_url = "https://sspr.example.org"

[[domains]]
name = "EXAMPLE"
kind = "openldap"
urls = ["ldaps://ldap.example.org"]
base_dn = "dc=example,dc=org"
bind_dn = "cn=svc,dc=example,dc=org"

[email]
delivery = "smtp"
"""


def _problems(tmp_path: Path, table: str, body: str, head: str = DOMAIN) -> list[str]:
    path = tmp_path / "pwreset.toml"
    path.write_text(f"{head}\n[{table}]\nenabled = true\n{body}")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p).split(": ", 1)[1] for p in info.value.problems]


@pytest.mark.parametrize(
    ("table", "body", "expected"),
    [
        ("enrollment_drive", "every_days = 0",
         "enrollment_drive.every_days: Input should be greater than or equal to 1"),
        ("enrollment_drive", "max_reminders = 51",
         "enrollment_drive.max_reminders: Input should be less than or equal to 50"),
        ("enrollment_drive", 'channels = ["email", "email"]',
         "enrollment_drive.channels: a channel is listed twice"),
        ("enrollment_drive", 'sms_text = { de = "x" }',
         "enrollment_drive.sms_text: an English text (en) is required: it is the fallback"),
        ("enrollment_drive", 'site = "nope"', "enrollment_drive.site 'nope' is no [sites] entry"),
        ("enrollment_drive", 'channels = ["sms"]',
         'enrollment_drive.channels has "sms" but verification.sms_command is unset'),
        ("enrollment_drive", "\n[verification]\nemail_attribute = \"\"",
         'enrollment_drive.channels has "email" but verification.email_attribute is empty'),
        ("report_mail", "", "report_mail.to: name at least one address to mail the reports to"),
        ("report_mail", 'to = ["helpdesk"]',
         "report_mail.to: 'helpdesk' is not an e-mail address (name@example.org)"),
        ("report_mail", 'to = ["a@example.org"]\nreports = ["everything"]',
         "report_mail.reports[0]: Input should be 'not-enrolled', 'expiring', 'locked', "
         "'activity' or 'failed-by-address'"),
        ("report_mail", 'to = ["a@example.org"]\nattach = ["pdf"]',
         "report_mail.attach[0]: Input should be 'csv' or 'html'"),
        ("report_mail", 'to = ["a@example.org"]\nweekday = "caturday"',
         "report_mail.weekday: Input should be "),
    ],
)  # fmt: skip
def test_a_wrong_setting_is_named(tmp_path, table, body, expected):
    problems = _problems(tmp_path, table, body)
    assert any(expected in p for p in problems), problems


def test_the_drive_needs_the_public_address_an_enroll_page_and_mail(tmp_path):
    head = DOMAIN.replace('public_url = "https://sspr.example.org"', "")
    problems = _problems(tmp_path, "enrollment_drive", "", head)
    assert any("enrollment_drive needs web.public_url" in p for p in problems)
    no_enroll = DOMAIN + '\n[sites.pwreset]\nflows = ["reset"]\n'
    assert any(
        "enrollment_drive: no site offers the enroll flow for domain 'EXAMPLE'" in p
        for p in _problems(tmp_path, "enrollment_drive", "", no_enroll)
    )
    mail_off = DOMAIN.replace('delivery = "smtp"', 'delivery = "off"')
    assert any(
        'enrollment_drive.channels has "email" but email.delivery is "off"' in p
        for p in _problems(tmp_path, "enrollment_drive", "", mail_off)
    )
    assert any(
        'report_mail is enabled but email.delivery is "off"' in p
        for p in _problems(tmp_path, "report_mail", 'to = ["a@example.org"]', mail_off)
    )


def test_the_stock_reminder_is_in_every_language_the_notices_ship():
    drive = EnrollmentDriveSettings()
    shipped = set(ExpiryNoticeSettings().text)
    assert set(drive.text) == set(drive.sms_text) == shipped
    assert len(shipped) == 10
    for text in drive.text.values():
        assert "[ENROLL_URL]" in text.body
        assert "[REMINDER]" in text.body
        assert "[REMINDERS]" in text.body
    assert all("[ENROLL_URL]" in sms for sms in drive.sms_text.values())
