"""`[siem]` settings (pwreset.config.siem_settings): each mistake is refused with the file,
the key and why; files that cannot be used stop the server at start, never at the first
event."""

from __future__ import annotations

from pathlib import Path

import pytest

from pwreset.config import load_config
from pwreset.config.errors import ConfigError
from pwreset.instance import create_instance
from pwreset.server.runner import prepare

from support.smtp import make_test_tls


def _problems(folder: Path, siem: str) -> dict[str, str]:
    create_instance(folder, config_text=siem)
    try:
        prepare(load_config(folder / "pwreset.toml"))
    except ConfigError as exc:
        return {p.key: p.reason for p in exc.problems}
    pytest.fail("accepted")


@pytest.mark.parametrize(
    ("table", "key", "reason"),
    [
        ('[siem.syslog]\naddress = "siem"', "siem.syslog.address", "expected host:port"),
        (
            '[siem.syslog]\naddress = "h:1"\ntransport = "udp"\nca_file = "ca.pem"',
            "siem.syslog",
            'ca_file applies only to transport = "tls"',
        ),
        (
            '[siem.syslog]\naddress = "h:1"\ncert_file = "c.pem"',
            "siem.syslog",
            "set both cert_file and key_file",
        ),
        (
            '[siem.syslog]\naddress = "h:1"\nsd_id = "pwreset"',
            "siem.syslog.sd_id",
            "needs @enterprise-number",
        ),
        ('[siem.syslog]\naddress = "h:1"\nfacility = "local9"', "siem.syslog.facility", "local7"),
        ('[siem.syslog]\naddres = "h:1"', "siem.syslog.addres", "did you mean 'address'"),
        ("[siem]\nqueue_size = 0", "siem.queue_size", "greater than or equal to 10"),
    ],
)
def test_a_wrong_setting_names_its_key(tmp_path, table, key, reason):
    (tmp_path / "pwreset.toml").write_text(table)
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "pwreset.toml")
    problems = {p.key: p.reason for p in raised.value.problems}
    assert key in problems and reason in problems[key], problems


def test_unusable_files_stop_the_server_at_start(tmp_path):
    tls = make_test_tls(tmp_path / "tls")
    other = make_test_tls(tmp_path / "other")
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    problems = _problems(tmp_path / "a", f"""
[siem]
json_file = "{tmp_path}/no/such/folder/audit.jsonl"
[siem.syslog]
address = "127.0.0.1:6514"
ca_file = "{tmp_path}/junk.pem"
""")  # fmt: skip
    assert "not a usable CA file" in problems["siem.syslog.ca_file"]
    assert "does not exist" in problems["siem.json_file"]
    # A certificate with another certificate's key.
    problems = _problems(tmp_path / "b", f"""
[siem.syslog]
address = "127.0.0.1:6514"
ca_file = "{tls.ca_file}"
cert_file = "{tls.cert_file}"
key_file = "{other.key_file}"
""")  # fmt: skip
    assert "not a usable certificate and key" in problems["siem.syslog.cert_file"]
