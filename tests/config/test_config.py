"""Configuration: every problem reported with file, key and reason, in one run."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pwreset.config import ConfigError, load_config
from pwreset.config.secrets import bind_password
from pwreset.instance import InstanceExistsError, create_instance

BROKEN = """
[server]
lisen = "0.0.0.0:5100"
clock_skew = 1

[web]
server = "no-port-here"

[[domains]]
name = "EXAMPLE"
kind = "edirectory"
urls = ["http://dc1"]
base_dn = "dc=example,dc=org"

[sites."bad name"]
title = "x"

[sites.hr]
flows = ["change", "teleport"]
"""


def problems(text: str, tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "pwreset.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    for problem in info.value.problems:
        assert problem.file == path
    return {p.key: p.reason for p in info.value.problems}


def test_every_problem_is_reported_at_once(tmp_path):
    found = problems(BROKEN, tmp_path)
    assert found["server.lisen"] == "unknown key; did you mean 'listen'?"
    assert "greater than or equal to 5" in found["server.clock_skew"]
    assert "expected host:port" in found["web.server"]
    assert "'ad' or 'openldap'" in found["domains[0].kind"]
    assert "not an ldap:// or ldaps:// URL" in found["domains[0].urls"]
    assert found["domains[0].bind_dn"] == "required key is missing"
    assert "site name 'bad name'" in found["sites.bad name.[key]"]
    assert "flows[1]" in " ".join(found)


def test_unknown_key_without_a_close_match_lists_known_keys(tmp_path):
    found = problems("[web]\nzzz = 1\n", tmp_path)
    assert "known keys:" in found["web.zzz"]
    assert "server_public_key_file" in found["web.zzz"]


def test_unknown_top_level_table(tmp_path):
    found = problems("[domain]\nname = 'x'\n", tmp_path)
    assert found["domain"] == "unknown key; did you mean 'domains'?"


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "pwreset.toml"
    path.write_text('[server]\nlisten = "x\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "not valid TOML" in str(info.value)
    assert "line 2" in str(info.value)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


_PLAIN_DOMAIN = """
[[domains]]
name = "A"
kind = "openldap"
urls = [{urls}]
base_dn = "dc=a"
bind_dn = "cn=svc,dc=a"
bind_password_env = "X"
{extra}
"""


def test_plain_ldap_without_start_tls_is_refused(tmp_path):
    found = problems(_PLAIN_DOMAIN.format(urls='"ldap://127.0.0.1:389"', extra=""), tmp_path)
    assert "'ldap://127.0.0.1:389' would send" in found["domains[0].urls"]
    assert "use ldaps:// or set start_tls = true" in found["domains[0].urls"]


@pytest.mark.parametrize(
    "extra",
    ["[domains.tls]\nverify = false", "start_tls = false\n[domains.tls]\nverify = false"],
)
def test_tls_verify_off_does_not_allow_plain_ldap(tmp_path, extra):
    """security review 1: tls.verify = false only skips the certificate check; a failover
    URL in ldap:// without StartTLS would send the binds in clear"""
    urls = '"ldaps://dc1:636", "ldap://dc2:389"'
    found = problems(_PLAIN_DOMAIN.format(urls=urls, extra=extra), tmp_path)
    assert "'ldap://dc2:389' would send" in found["domains[0].urls"]


def test_plain_ldap_with_start_tls_is_accepted(tmp_path):
    path = tmp_path / "pwreset.toml"
    urls = '"ldaps://dc1:636", "ldap://dc2:389"'
    path.write_text(_PLAIN_DOMAIN.format(urls=urls, extra="start_tls = true"))
    assert load_config(path).domains[0].start_tls


def test_site_domains_must_name_configured_domains(tmp_path):
    found = problems(
        """
[[domains]]
name = "A"
kind = "ad"
urls = ["ldaps://dc"]
base_dn = "dc=a"
bind_dn = "svc@a"
bind_password_env = "X"

[sites.hr]
domains = ["B"]
""",
        tmp_path,
    )
    assert "sites.hr.domains lists 'B'" in found[""]


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    (tmp_path / "pwreset.toml").write_text("[server]\ndata_dir = 'd'\n")
    config = load_config(tmp_path / "pwreset.toml")
    assert config.path(config.server.data_dir) == tmp_path / "d"


SECRET_DOMAIN = """
[[domains]]
name = "A"
kind = "ad"
urls = ["ldaps://dc"]
base_dn = "dc=a"
bind_dn = "svc@a"
{source}
"""


def test_bind_password_from_environment(tmp_path, monkeypatch):
    (tmp_path / "pwreset.toml").write_text(
        SECRET_DOMAIN.format(source='bind_password_env = "PW_T"')
    )
    config = load_config(tmp_path / "pwreset.toml")
    monkeypatch.delenv("PW_T", raising=False)
    with pytest.raises(ConfigError, match="environment variable PW_T is not set"):
        bind_password(config, 0)
    monkeypatch.setenv("PW_T", "s3cret-value")
    assert bind_password(config, 0) == "s3cret-value"
    assert "s3cret-value" not in repr(config)


def test_bind_password_from_file(tmp_path):
    (tmp_path / "pwreset.toml").write_text(
        SECRET_DOMAIN.format(source='bind_password_file = "svc.pw"')
    )
    config = load_config(tmp_path / "pwreset.toml")
    with pytest.raises(ConfigError, match=r"domains\[0\]\.bind_password_file: cannot read"):
        bind_password(config, 0)
    (tmp_path / "svc.pw").write_text("from-a-file\n")
    assert bind_password(config, 0) == "from-a-file"


def test_cli_prints_problems_and_exits_2(tmp_path):
    (tmp_path / "pwreset.toml").write_text(BROKEN)
    out = subprocess.run(
        [sys.executable, "-m", "pwreset", "server", "-c", str(tmp_path / "pwreset.toml")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert f"{tmp_path / 'pwreset.toml'}: server.lisen: unknown key" in out.stderr
    assert "web.server: expected host:port" in out.stderr


def test_server_reports_a_missing_secret_without_starting(tmp_path):
    (tmp_path / "pwreset.toml").write_text(
        SECRET_DOMAIN.format(source='bind_password_env = "PW_NOT_SET_ANYWHERE"')
    )
    create_instance(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "pwreset", "server", "-c", str(tmp_path / "pwreset.toml")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2
    assert "domains[0].bind_password_env: environment variable PW_NOT_SET_ANYWHERE" in out.stderr


def test_init_writes_an_instance_with_private_keys(tmp_path):
    folder = tmp_path / "inst"
    out = subprocess.run(
        [sys.executable, "-m", "pwreset", "init", str(folder)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    for name in ("server.key", "data.key"):
        assert stat.S_IMODE((folder / "keys" / name).stat().st_mode) == 0o600
    assert (folder / "keys" / "server.pub").read_text().startswith("x25519:")
    assert (folder / "custom").is_dir() and (folder / "data").is_dir()
    config = load_config(folder / "pwreset.toml")  # the commented sample is valid
    assert "pwreset" in config.sites


def test_init_refuses_to_overwrite_keys(tmp_path):
    create_instance(tmp_path)
    before = (tmp_path / "keys" / "server.key").read_bytes()
    with pytest.raises(InstanceExistsError, match="refusing to overwrite"):
        create_instance(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "pwreset", "init", str(tmp_path)], capture_output=True, text=True
    )
    assert out.returncode == 1
    assert "refusing to overwrite keys" in out.stderr
    assert (tmp_path / "keys" / "server.key").read_bytes() == before


def test_init_keeps_keys_and_data_out_of_version_control(tmp_path):
    create_instance(tmp_path)
    ignored = (tmp_path / ".gitignore").read_text().split()
    assert {"keys/", "data/", ".pwreset/cache/"} <= set(ignored)


def test_enrollment_status_is_off_unless_the_site_or_api_table_says_so(tmp_path):
    """apr checklist 103 (off by default) and WebAPIState per Web Interface"""
    path = tmp_path / "pwreset.toml"
    path.write_text("[sites.hr]\n[sites.it]\nenrollment_status = true\n")
    config = load_config(path)
    assert (config.enrollment_status("hr"), config.enrollment_status("it")) == (False, True)
    path.write_text(
        "[api]\nenrollment_status = true\n[sites.hr]\n[sites.it]\nenrollment_status = false\n"
    )
    config = load_config(path)
    assert (config.enrollment_status("hr"), config.enrollment_status("it")) == (True, False)


def test_custom_questions_per_question_are_checked(tmp_path):
    """apr checklist 28: one true/false per question, and enough listed questions for the
    ones users pick"""
    found = problems("[enroll]\nquestions = 3\ncustom_questions = [false, true]\n", tmp_path)
    assert "custom_questions has 2 entries for 3 questions" in found["enroll"]
    lists = "question_list = {en = ['A?', 'B?']}\n"
    found = problems(f"[enroll]\ncustom_questions = [false, false, false]\n{lists}", tmp_path)
    assert "question_list.en has 2 questions; users must pick 3" in found["enroll"]
    found = problems("[enroll]\ncustom_questions = [false, 'maybe', true]\n", tmp_path)
    assert "enroll.custom_questions" in " ".join(found)


def test_contacts_from_directory_names_email_or_phone_once(tmp_path):
    """[enroll] contacts_from_directory: only the contacts the flows can copy, each once"""
    found = problems("[enroll]\ncontacts_from_directory = ['email', 'fax']\n", tmp_path)
    assert "'email' or 'phone'" in found["enroll.contacts_from_directory[1]"]
    found = problems("[enroll]\ncontacts_from_directory = ['phone', 'phone']\n", tmp_path)
    assert "a contact is named twice" in found["enroll.contacts_from_directory"]


def test_the_recovery_cap_is_checked(tmp_path):
    """[security] max_recoveries and its window: ranges, and a window without a cap"""
    found = problems("[security]\nmax_recoveries = -1\nrecovery_window_days = 0\n", tmp_path)
    assert "greater than or equal to 0" in found["security.max_recoveries"]
    assert "greater than or equal to 1" in found["security.recovery_window_days"]
    found = problems("[security]\nrecovery_window_days = 7\n", tmp_path)
    assert "set max_recoveries too" in found["security"]


def test_a_site_may_name_several_servers_each_once(tmp_path):
    """Failover: `server` is one host:port (the original's ServerIP_<VDIR>) or a list."""
    path = tmp_path / "pwreset.toml"
    path.write_text(
        '[web]\nserver = ["10.0.0.1:5100", "[fd00::2]:5100"]\n'
        '[sites.hr]\nserver = "10.0.0.9:5100"\n[sites.it]\n'
    )
    config = load_config(path)
    assert config.server_addresses("it") == ["10.0.0.1:5100", "[fd00::2]:5100"]
    assert config.server_addresses("hr") == ["10.0.0.9:5100"]
    found = problems('[web]\nserver = ["10.0.0.1:5100", "10.0.0.1:5100"]\n', tmp_path)
    assert "a server is named twice" in found["web.server"]
    found = problems('[sites.hr]\nserver = ["10.0.0.1:5100", "nowhere"]\n', tmp_path)
    assert "expected host:port" in found["sites.hr.server"]
    assert "at least one server" in problems("[web]\nserver = []\n", tmp_path)["web.server"]
