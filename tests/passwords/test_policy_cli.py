"""`pwreset policy import` and `pwreset policy check` as an admin runs them."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.pwned import SAMPLE

PWRESET = [sys.executable, "-c", "import sys; from pwreset.cli import main; sys.exit(main())"]
SECRET = "P@ssw0rd"  # in the sample: breached


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    subprocess.run(
        [*PWRESET, "policy", "import", str(SAMPLE), str(tmp_path / "breached.bin")],
        check=True,
        capture_output=True,
    )
    config = tmp_path / "pwreset.toml"
    config.write_text('[password_policy]\nmin_length = 10\nbreached_file = "breached.bin"\n')
    return config


def test_check_on_a_terminal_never_echoes_the_password(instance: Path):
    pid, terminal = pty.fork()
    if pid == 0:  # the child: pwreset on the terminal
        os.execv(
            sys.executable, [*PWRESET, "policy", "check", "-c", str(instance), "--username", "jdoe"]
        )
    output = _read_until(terminal, b"(not shown): ")
    os.write(terminal, SECRET.encode() + b"\r")
    output += _read_until(terminal, None)
    _, status = os.waitpid(pid, 0)
    text = output.decode()
    assert "Password to check (not shown): " in text
    assert "BROKEN min_length n=10 (local)" in text
    assert "BROKEN breached (local)" in text
    assert SECRET not in text
    assert os.waitstatus_to_exitcode(status) == 1


def test_check_from_a_pipe_names_the_broken_rules(instance: Path):
    refused = _check(instance, "jdoe-longer-pw", "--username", "JDoe")
    assert refused.returncode == 1
    assert "BROKEN user_names min_token=3 (local)" in refused.stdout
    assert "ok     min_length n=10 (local)" in refused.stdout
    assert "jdoe-longer-pw" not in refused.stdout + refused.stderr
    accepted = _check(instance, "Correct-horse-staple-9")
    assert (accepted.returncode, accepted.stdout.splitlines()[-1]) == (
        0,
        "Accepted by these rules.",
    )


def test_check_names_a_bad_breached_file(instance: Path):
    (instance.parent / "breached.bin").write_bytes(b"not an import")
    result = _check(instance, "whatever")
    assert result.returncode == 2
    assert "breached.bin: too short to be a breached-password file" in result.stderr


def test_import_reports_the_bad_line_and_keeps_the_old_file(tmp_path: Path, instance: Path):
    out = tmp_path / "breached.bin"
    before = out.read_bytes()
    source = shutil.copytree(SAMPLE, tmp_path / "download")
    bad = source / "5BAA6.txt"
    bad.write_text("1E4C9B93F3F0682250B6CF8331B7EE68FD8:3\r\nnonsense\r\n", newline="")
    result = subprocess.run(
        [*PWRESET, "policy", "import", str(source), str(out)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert f"{bad}, line 2: expected 35 hex digits, ':' and a count; found no ':'" in result.stderr
    assert f"({out} is unchanged)" in result.stderr
    assert out.read_bytes() == before


def test_import_says_what_it_imported_and_is_quiet_otherwise(tmp_path: Path):
    out = tmp_path / "breached.bin"
    result = subprocess.run(
        [*PWRESET, "policy", "import", str(SAMPLE), str(out), "--min-count", "2"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert result.stdout.startswith(f"{out}: ")
    assert " with a count below 2 left out, in " in result.stdout
    assert "8 of 1,048,576 ranges: a partial download" in result.stderr
    assert "\x1b" not in result.stdout + result.stderr  # no progress bar off a terminal


def _check(config: Path, password: str, *options: str) -> subprocess.CompletedProcess[str]:
    command = [*PWRESET, "policy", "check", "-c", str(config), *options]
    return subprocess.run(command, input=password + "\n", capture_output=True, text=True)


def _read_until(fd: int, marker: bytes | None, timeout: float = 30) -> bytes:
    """What the terminal shows, until `marker` or the end (None)."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            return data
        if not chunk:
            return data
        data += chunk
        if marker is not None and marker in data:
            return data
    raise AssertionError(f"the terminal showed {data!r}, not {marker!r}")
