"""`pwreset deploy systemd`: units systemd accepts (`systemd-analyze verify`, which needs no
running systemd), hardened to a low exposure score, with the instance's own paths."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pwreset.cli import main
from pwreset.instance import create_instance

# A folder name with a space and a "%" (a systemd specifier unless escaped).
INSTANCE = "pwreset 100%"
CONFIG = """
[server]
log_file = "server.log"

[siem]
json_file = "audit/audit.jsonl"

[web]
listen = "0.0.0.0:443"
"""
# `systemd-analyze security` scores exposure from 0 (none) to 10 (unprotected), x10 here.
MAX_EXPOSURE = 20


@pytest.fixture
def units(tmp_path: Path) -> Path:
    instance = tmp_path / INSTANCE
    create_instance(instance, config_text=CONFIG)
    out = tmp_path / "units"
    assert main(["deploy", "systemd", "-c", str(instance / "pwreset.toml"), "-o", str(out)]) == 0
    return out


def _setting(unit: Path, name: str) -> list[str]:
    lines = unit.read_text().splitlines()
    return [line.partition("=")[2] for line in lines if line.startswith(f"{name}=")]


def test_systemd_accepts_the_units_and_scores_them_hardened(units):
    files = sorted(units.glob("*.service"))
    assert [f.name for f in files] == ["pwreset-server.service", "pwreset-web.service"]
    verify = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *map(str, files)],
        capture_output=True,
        text=True,
    )
    # verify also checks that ExecStart's pwreset (this test run's) is there and executable.
    assert (verify.returncode, verify.stderr) == (0, "")
    for unit in files:
        security = subprocess.run(
            ["systemd-analyze", "security", "--offline=yes", f"--threshold={MAX_EXPOSURE}",
             str(unit)],
            capture_output=True,
            text=True,
        )  # fmt: skip
        assert security.returncode == 0, security.stdout[-600:]


def test_units_run_as_their_own_user_and_write_only_the_data(units, tmp_path):
    instance = tmp_path / INSTANCE
    server, web = units / "pwreset-server.service", units / "pwreset-web.service"
    for unit in (server, web):
        assert _setting(unit, "User") == ["pwreset"]
        assert _setting(unit, "NoNewPrivileges") == ["yes"]
        assert _setting(unit, "ProtectSystem") == ["strict"]
        assert _setting(unit, "WorkingDirectory") == [str(instance).replace("%", "%%")]
    config = f'"{instance / "pwreset.toml"}"'.replace("%", "%%")
    assert _setting(server, "ExecStart")[0].endswith(f'/pwreset" server -c {config}')
    # The data folder, the log file (not its folder: the instance's, holding the keys) and
    # the audit export's folder (where it is rotated).
    written = [f'"{instance / name}"' for name in ("data", "server.log", "audit")]
    assert _setting(server, "ReadWritePaths") == [" ".join(written).replace("%", "%%")]
    assert _setting(web, "ReadWritePaths") == []
    # Only the relay on 443 may bind a privileged port; the server has no capability.
    assert _setting(server, "CapabilityBoundingSet") == [""]
    assert _setting(web, "CapabilityBoundingSet") == ["CAP_NET_BIND_SERVICE"]
    assert _setting(web, "AmbientCapabilities") == ["CAP_NET_BIND_SERVICE"]


def test_a_value_systemd_would_misread_is_refused(tmp_path, capsys):
    instance = tmp_path / "line\nbreak"
    create_instance(instance, config_text=CONFIG)
    config = str(instance / "pwreset.toml")
    assert main(["deploy", "systemd", "-c", config, "-o", str(tmp_path / "units")]) == 2
    assert "cannot be written into the file" in capsys.readouterr().err
    assert not (tmp_path / "units").exists()
    assert main(["deploy", "systemd", "-c", config, "--user", "root; rm"]) == 2
