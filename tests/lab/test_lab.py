"""The lab itself: both directories start seeded as documented and the admin helpers work."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ldap3 import MODIFY_REPLACE
from pwreset_lab import (
    LabError,
    SambaAdmin,
    SambaLab,
    SlapdAdmin,
    SlapdLab,
    ensure_packages,
    samba_cache,
    start_samba,
)
from pwreset_lab.samba_build import unicode_pwd

from pwreset.server.directory import DirectoryError

SAMPLE = "Init!Passw0rd-1"
FRESH = "Fresh!Passw0rd-2"
OTHER = "Other!Passw0rd-3"


# --- OpenLDAP -----------------------------------------------------------------------------


@pytest.mark.slapd
def test_slapd_sample_user_binds(slapd_lab: SlapdLab, slapd_admin: SlapdAdmin) -> None:
    assert slapd_lab.sample_users["alice"] == SAMPLE
    assert slapd_admin.bind_ok("alice", SAMPLE)
    assert not slapd_admin.bind_ok("alice", "Wrong!Passw0rd-9")


@pytest.mark.slapd
def test_slapd_service_account_binds_with_certificate_check(slapd_lab: SlapdLab) -> None:
    with slapd_lab.user_session(slapd_lab.service_dn, slapd_lab.service_password) as conn:
        assert conn.bound, conn.result


@pytest.mark.slapd
def test_slapd_rejects_a_certificate_from_another_ca(
    slapd_lab: SlapdLab, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other = tmp_path / "other.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=other", "-keyout", str(tmp_path / "k"),
         "-out", str(other)],
        check=True, capture_output=True,
    )  # fmt: skip
    elsewhere = dataclasses.replace(slapd_lab, ca_file=other)
    with (
        caplog.at_level(logging.ERROR),
        pytest.raises(DirectoryError, match="unreachable"),
        elsewhere.user_session(slapd_lab.service_dn, slapd_lab.service_password),
    ):
        pytest.fail("a certificate from another CA was accepted")
    assert "certificate was not accepted" in caplog.text


@pytest.mark.slapd
def test_slapd_create_user_then_bind(slapd_admin: SlapdAdmin, fresh_user_name: str) -> None:
    dn = slapd_admin.create_user(fresh_user_name, FRESH)
    assert dn == f"uid={fresh_user_name},ou=People,dc=example,dc=org"
    result = slapd_admin.bind(fresh_user_name, FRESH)
    assert result.ok and result.detail == ""
    slapd_admin.delete_user(fresh_user_name)
    assert not slapd_admin.bind_ok(fresh_user_name, FRESH)


@pytest.mark.slapd
def test_slapd_lock(slapd_admin: SlapdAdmin, fresh_user_name: str) -> None:
    slapd_admin.create_user(fresh_user_name, FRESH)
    assert not slapd_admin.is_locked(fresh_user_name)
    slapd_admin.lock(fresh_user_name)
    assert slapd_admin.is_locked(fresh_user_name)
    result = slapd_admin.bind(fresh_user_name, FRESH)
    assert (result.ok, result.code, result.detail) == (False, 49, "accountLocked")
    slapd_admin.unlock(fresh_user_name)
    assert slapd_admin.bind_ok(fresh_user_name, FRESH)


@pytest.mark.slapd
def test_slapd_dave_is_administratively_locked(slapd_admin: SlapdAdmin) -> None:
    assert slapd_admin.is_locked("dave")
    assert slapd_admin.bind("dave", SAMPLE).detail == "accountLocked"


@pytest.mark.slapd
def test_slapd_must_change_and_disabled(slapd_admin: SlapdAdmin, fresh_user_name: str) -> None:
    slapd_admin.create_user(fresh_user_name, FRESH, must_change=True)
    result = slapd_admin.bind(fresh_user_name, FRESH)
    assert (result.ok, result.detail) == (True, "changeAfterReset")
    disabled = fresh_user_name + "d"
    slapd_admin.create_user(disabled, FRESH, disabled=True)
    assert slapd_admin.bind(disabled, FRESH).detail == "accountLocked"


@pytest.mark.slapd
def test_slapd_admin_reset(slapd_admin: SlapdAdmin, fresh_user_name: str) -> None:
    slapd_admin.create_user(fresh_user_name, FRESH)
    slapd_admin.set_password(fresh_user_name, OTHER)
    assert not slapd_admin.bind_ok(fresh_user_name, FRESH)
    assert slapd_admin.bind(fresh_user_name, OTHER).detail == ""
    slapd_admin.set_password(fresh_user_name, FRESH, must_change=True)
    assert slapd_admin.bind(fresh_user_name, FRESH).detail == "changeAfterReset"


@pytest.mark.slapd
def test_slapd_service_account_may_reset_and_unlock(
    slapd_lab: SlapdLab, slapd_admin: SlapdAdmin, fresh_user_name: str
) -> None:
    dn = slapd_admin.create_user(fresh_user_name, FRESH)
    slapd_admin.lock(fresh_user_name)
    with slapd_lab.service_session() as svc:
        assert svc.modify(dn, {"userPassword": [(MODIFY_REPLACE, [OTHER])]}), svc.result
        assert svc.modify(dn, {"pwdAccountLockedTime": [(MODIFY_REPLACE, [])]}), svc.result
        assert not svc.modify(dn, {"mail": [(MODIFY_REPLACE, ["x@example.org"])]})
        assert svc.result["result"] == 50
    assert slapd_admin.bind_ok(fresh_user_name, OTHER)


@pytest.mark.slapd
def test_slapd_default_policy(slapd_lab: SlapdLab) -> None:
    with slapd_lab.service_session() as svc:
        svc.search(slapd_lab.policy_dn, "(objectClass=pwdPolicy)", "BASE", attributes=["*"])
        policy = {k: v[0] for k, v in svc.response[0]["raw_attributes"].items()}
    assert policy["pwdMinLength"] == b"8"
    assert policy["pwdMaxFailure"] == b"3"
    assert policy["pwdInHistory"] == b"3"
    assert policy["pwdMustChange"] == b"TRUE"
    assert policy["pwdMinAge"] == b"0"


@pytest.mark.slapd
def test_slapd_record_round_trips(slapd_lab: SlapdLab) -> None:
    assert SlapdLab.from_json(slapd_lab.root) == slapd_lab
    assert slapd_lab.root.stat().st_mode & 0o777 == 0o700
    assert (slapd_lab.root / "lab.json").stat().st_mode & 0o777 == 0o600


@pytest.mark.slapd
def test_cli_start_status_stop(tmp_path: Path) -> None:
    root = tmp_path / "cli"
    python = [sys.executable, "-m", "pwreset_lab", "slapd"]
    started = subprocess.run([*python, "start", "--dir", str(root)], capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    pid = json.loads(started.stdout)["pid"]
    status = subprocess.run([*python, "status", "--dir", str(root)], capture_output=True, text=True)
    assert json.loads(status.stdout)["running"] is True
    stopped = subprocess.run([*python, "stop", "--dir", str(root)], capture_output=True, text=True)
    assert stopped.returncode == 0, stopped.stderr
    assert not Path(f"/proc/{pid}").exists() or "slapd" not in _exe(pid)
    status = subprocess.run([*python, "status", "--dir", str(root)], capture_output=True, text=True)
    assert status.returncode == 3 and json.loads(status.stdout)["running"] is False


def _exe(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


# --- Samba AD -----------------------------------------------------------------------------


@pytest.mark.samba
def test_samba_sample_user_binds(samba_lab: SambaLab, samba_admin: SambaAdmin) -> None:
    assert samba_lab.sample_users["alice"] == SAMPLE
    assert samba_admin.bind_ok("alice", SAMPLE)
    assert samba_admin.bind("alice", "Wrong!Passw0rd-9").detail == "52e"


@pytest.mark.samba
def test_samba_service_account_binds_with_certificate_check(samba_lab: SambaLab) -> None:
    assert samba_lab.ca_file == samba_lab.root / "samba" / "private" / "tls" / "ca.pem"
    with samba_lab.user_session(samba_lab.service_upn, samba_lab.service_password) as conn:
        assert conn.bound, conn.result


@pytest.mark.samba
def test_samba_create_user_then_bind(samba_admin: SambaAdmin, fresh_user_name: str) -> None:
    dn = samba_admin.create_user(fresh_user_name, FRESH)
    assert dn == f"CN={fresh_user_name},OU=People,OU=SSPR,DC=lab,DC=example,DC=com"
    assert samba_admin.dn(fresh_user_name) == dn
    assert samba_admin.bind_ok(fresh_user_name, FRESH)
    samba_admin.delete_user(fresh_user_name)
    assert not samba_admin.bind_ok(fresh_user_name, FRESH)


@pytest.mark.samba
def test_samba_lock(samba_admin: SambaAdmin, fresh_user_name: str) -> None:
    samba_admin.create_user(fresh_user_name, FRESH)
    assert not samba_admin.is_locked(fresh_user_name)
    samba_admin.lock(fresh_user_name)
    assert samba_admin.is_locked(fresh_user_name)
    result = samba_admin.bind(fresh_user_name, FRESH)
    assert (result.ok, result.code, result.detail) == (False, 49, "775")
    samba_admin.unlock(fresh_user_name)
    assert samba_admin.bind_ok(fresh_user_name, FRESH)


@pytest.mark.samba
def test_samba_dave_is_disabled(samba_admin: SambaAdmin) -> None:
    assert samba_admin.bind("dave", SAMPLE).detail == "533"


@pytest.mark.samba
def test_samba_must_change_and_disabled(samba_admin: SambaAdmin, fresh_user_name: str) -> None:
    samba_admin.create_user(fresh_user_name, FRESH, must_change=True)
    assert samba_admin.bind(fresh_user_name, FRESH).detail == "773"
    disabled = fresh_user_name + "d"
    samba_admin.create_user(disabled, FRESH, disabled=True)
    assert samba_admin.bind(disabled, FRESH).detail == "533"


@pytest.mark.samba
def test_samba_old_password_stops_binding_after_reset(
    samba_admin: SambaAdmin, fresh_user_name: str
) -> None:
    # Proves `old password allowed period = 0`: by default Samba would accept FRESH for
    # another 60 minutes.
    samba_admin.create_user(fresh_user_name, FRESH)
    assert samba_admin.bind_ok(fresh_user_name, FRESH)
    samba_admin.set_password(fresh_user_name, OTHER)
    assert samba_admin.bind(fresh_user_name, FRESH).detail == "52e"
    assert samba_admin.bind_ok(fresh_user_name, OTHER)


@pytest.mark.samba
def test_samba_service_account_delegation(
    samba_lab: SambaLab, samba_admin: SambaAdmin, fresh_user_name: str
) -> None:
    dn = samba_admin.create_user(fresh_user_name, FRESH)
    samba_admin.lock(fresh_user_name)
    with samba_lab.service_session() as svc:
        reset = {"unicodePwd": [(MODIFY_REPLACE, [unicode_pwd(OTHER)])]}
        assert svc.modify(dn, reset), svc.result
        assert svc.modify(dn, {"lockoutTime": [(MODIFY_REPLACE, ["0"])]}), svc.result
        assert svc.modify(dn, {"pwdLastSet": [(MODIFY_REPLACE, ["0"])]}), svc.result
        assert not svc.modify(dn, {"mail": [(MODIFY_REPLACE, ["x@lab.example.com"])]})
        admin_dn = f"CN=Administrator,CN=Users,{samba_lab.base_dn}"
        assert not svc.modify(admin_dn, reset)
        assert svc.result["result"] == 50
    assert samba_admin.bind(fresh_user_name, OTHER).detail == "773"


@pytest.mark.samba
def test_samba_domain_policy(samba_lab: SambaLab) -> None:
    with samba_lab.admin_session() as admin:
        admin.search(samba_lab.base_dn, "(objectClass=domain)", "BASE", attributes=["*"])
        policy = {k: v[0] for k, v in admin.response[0]["raw_attributes"].items()}
    assert policy["minPwdLength"] == b"8"
    assert policy["pwdProperties"] == b"1"
    assert policy["lockoutThreshold"] == b"3"
    assert policy["minPwdAge"] == b"0"
    assert policy["lockoutDuration"] == b"-3000000000"


@pytest.mark.samba
def test_samba_second_lab_names_the_busy_port(samba_lab: SambaLab, tmp_path: Path) -> None:
    with pytest.raises(LabError, match="tcp port 389"):
        start_samba(tmp_path / "second")


@pytest.mark.samba
def test_samba_record_round_trips(samba_lab: SambaLab) -> None:
    assert SambaLab.from_json(samba_lab.root) == samba_lab
    assert samba_lab.root.stat().st_mode & 0o777 == 0o700


# --- pieces that need no directory -------------------------------------------------------


def test_cache_key_follows_the_recipe(tmp_path: Path) -> None:
    source = tmp_path / "recipe.py"
    source.write_text("A = 1\n")
    before = samba_cache.cache_key([source])
    assert samba_cache.cache_key([source]) == before
    source.write_text("A = 2\n")
    assert samba_cache.cache_key([source]) != before


def test_old_or_half_built_cache_entries_are_not_used(tmp_path: Path) -> None:
    entry = tmp_path / "samba-0123"
    (entry / "samba" / "etc").mkdir(parents=True)
    assert not samba_cache.is_usable(entry)  # never published: no built-at
    (entry / samba_cache.BUILT_AT).write_text("/somewhere/samba")
    assert samba_cache.is_usable(entry)
    old = time.time() - samba_cache.MAX_AGE_SECONDS - 60
    os.utime(entry / samba_cache.BUILT_AT, (old, old))
    assert not samba_cache.is_usable(entry)


def _built_entry(cache: Path, name: str, age_days: float) -> Path:
    entry = cache / name
    (entry / samba_cache.TARGET / "etc").mkdir(parents=True)
    (entry / samba_cache.BUILT_AT).write_text("/somewhere/samba")
    built = time.time() - age_days * 86400
    os.utime(entry / samba_cache.BUILT_AT, (built, built))
    return entry


def test_publishing_an_entry_keeps_other_checkouts_recent_entries(tmp_path: Path) -> None:
    # Another checkout with another lab recipe may be running tests right now: deleting its
    # entry would make it rebuild (~20 s), and its build would delete ours in turn.
    cache = samba_cache.safe_cache_dir(tmp_path / "cache")
    recent = [_built_entry(cache, f"samba-{n}", age_days=n) for n in range(1, 5)]
    expired = _built_entry(cache, "samba-expired", age_days=31)
    staging = samba_cache.staging_dir(cache, "new")
    (staging / samba_cache.TARGET / "etc").mkdir(parents=True)
    entry = samba_cache.store(staging, cache, "new")
    assert samba_cache.is_usable(entry)
    kept = sorted(path.name for path in cache.glob("samba-*"))
    assert kept == sorted([entry.name] + [path.name for path in recent[:3]])
    assert not expired.exists()


def test_the_cache_lock_keeps_a_second_process_waiting(tmp_path: Path) -> None:
    # Parallel test workers start their Samba labs at the same moment: one builds the entry,
    # the others wait for it instead of wiping its staging dir.
    cache = samba_cache.safe_cache_dir(tmp_path / "cache")
    probe = (
        "import fcntl, sys\n"
        "with open(sys.argv[1], 'a') as f:\n"
        "    try:\n"
        "        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "    except BlockingIOError:\n"
        "        sys.exit(3)\n"
    )
    lock = str(cache / ".lock")
    with samba_cache.locked(cache):
        held = subprocess.run([sys.executable, "-c", probe, lock], check=False)
    free = subprocess.run([sys.executable, "-c", probe, lock], check=False)
    assert (held.returncode, free.returncode) == (3, 0)


def test_missing_packages_are_named_with_the_apt_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ensure_packages(["openssl"])  # installed: returns without doing anything
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(LabError, match=r"apt-get install -y -qq --no-install-recommends "
                       r"pwreset-no-such-package"):  # fmt: skip
        ensure_packages(["openssl", "pwreset-no-such-package"])


# --- PostgreSQL ---------------------------------------------------------------------------


def test_postgres_lab_runs_unprivileged_and_is_found_by_its_record(postgres_lab) -> None:
    """PostgreSQL refuses root: under root the lab runs it as nobody; another process
    finds it through the record (0600: it holds the throwaway password) and the CLI."""
    import pwd
    import stat

    from pwreset_lab import PostgresLab

    status = Path(f"/proc/{postgres_lab.pid}/status").read_text()
    uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
    expected = pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else os.geteuid()
    assert uid == expected
    record = postgres_lab.root / "lab.json"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    found = PostgresLab.running(postgres_lab.root)
    assert found is not None and found.password == postgres_lab.password
    status_command = ["postgres", "status", "--dir", str(postgres_lab.root)]
    done = subprocess.run([sys.executable, "-m", "pwreset_lab", *status_command],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0 and json.loads(done.stdout)["port"] == postgres_lab.port
