"""`[expiry_notices]`: each mistake is refused with the key and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from pwreset.config import ConfigError, load_config

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


def _load(tmp_path: Path, notices: str, head: str = DOMAIN):
    path = tmp_path / "pwreset.toml"
    path.write_text(f"{head}\n[expiry_notices]\nenabled = true\n{notices}")
    return load_config(path)


def _problems(tmp_path: Path, notices: str, head: str = DOMAIN) -> list[str]:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, notices, head)
    return [str(p).split(": ", 1)[1] for p in info.value.problems]


@pytest.mark.parametrize(
    ("notices", "expected"),
    [
        ("days = [14, 0]", "expiry_notices.days: every threshold must be 1 to 365 days, not 0"),
        ("days = [7, 7]", "expiry_notices.days: a threshold is listed twice"),
        (
            "days = []",
            "expiry_notices.days: List should have at least 1 item after validation, not 0",
        ),
        ('channels = ["fax"]', "expiry_notices.channels[0]: Input should be 'email' or 'sms'"),
        ("hour = 24", "expiry_notices.hour: Input should be less than or equal to 23"),
        (
            'text.de = { subject = "x", body = "y" }',
            "expiry_notices.text: an English text (en) is required: it is the fallback",
        ),
        ('site = "nope"', "expiry_notices.site 'nope' is no [sites] entry"),
        (
            'channels = ["sms"]',
            'expiry_notices.channels has "sms" but verification.sms_command is unset',
        ),
    ],
)
def test_a_wrong_setting_is_named(tmp_path, notices, expected):
    assert any(p.endswith(expected) for p in _problems(tmp_path, notices)), expected


def test_notices_need_the_public_address_and_a_change_page(tmp_path):
    head = DOMAIN.replace('public_url = "https://sspr.example.org"', "")
    assert any("needs web.public_url" in p for p in _problems(tmp_path, "", head))
    no_change = DOMAIN + '\n[sites.pwreset]\nflows = ["reset"]\n'
    assert any(
        "no site offers the change flow for domain 'EXAMPLE'" in p
        for p in _problems(tmp_path, "", no_change)
    )
    mail_off = DOMAIN.replace('delivery = "smtp"', 'delivery = "off"')
    assert any('email.delivery is "off"' in p for p in _problems(tmp_path, "", mail_off))


def test_thresholds_are_kept_largest_first_and_the_change_site_is_found(tmp_path):
    config = _load(tmp_path, "days = [1, 14, 3]")
    assert config.expiry_notices.days == [14, 3, 1]
    assert config.change_site(config.domains[0]) == "pwreset"
