"""`pwreset demo`: the URL it prints lets a sample user change a password in a real browser,
and Ctrl-C stops everything and removes its files."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.stacks import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slapd, pytest.mark.slow]


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> str:
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        assert time.monotonic() < deadline, f"no {marker!r} in demo output:\n{seen}"
        line = process.stdout.readline()
        assert line or process.poll() is None, f"demo exited:\n{seen}"
        seen += line
    return seen


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_demo_lets_a_sample_user_change_a_password(page, stop):
    port = free_port("tcp")
    process = subprocess.Popen(
        [sys.executable, "-m", "pwreset", "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out = _read_until(process, "Press Ctrl-C", 90)
        url = re.search(r"Open:\s+(\S+)", out).group(1)
        password = re.search(r"Password:\s+(\S+)", out).group(1)
        root = Path(re.search(r"directory in (\S+) \.\.\.", out).group(1))
        assert url == f"http://127.0.0.1:{port}/demo/"
        assert "alice" in out

        page.goto(url)
        page.get_by_role("link", name="Change").first.click()
        page.fill("#pw-username", "alice")
        page.fill("#pw-old-password", password)
        page.fill("#pw-new-password", "Demo!Passw0rd-2")
        page.fill("#pw-confirm-password", "Demo!Passw0rd-2")
        page.click("button[type=submit]")
        page.locator("[data-state=finished]").wait_for(state="visible", timeout=10000)

        process.send_signal(stop)
        rest, _ = process.communicate(timeout=30)
        assert process.returncode == 0, rest
        assert "stopped" in rest
        assert not root.exists(), "the demo's temporary folder was removed"
        left = subprocess.run(["pgrep", "-f", str(root)], capture_output=True, text=True)
        assert left.stdout == "", "no demo process is left running"
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdout:
            process.stdout.close()
