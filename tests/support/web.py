"""The pages as users get them: `pwreset build`, then `pwreset web --serve-site` on a free
port of 127.0.0.1, for a browser to open."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.stacks import free_port


@contextmanager
def serve_instance(instance: Path) -> Iterator[str]:
    """Build the instance's sites and serve them; yields the base URL (no trailing /)."""
    config = str(instance / "pwreset.toml")
    built = subprocess.run(
        [sys.executable, "-m", "pwreset", "build", "-c", config], capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    port = free_port("tcp")
    log = instance / "web.out"
    with log.open("wb") as out:
        web = subprocess.Popen(
            [sys.executable, "-m", "pwreset", "web", "-c", config, "--serve-site",
             "--listen", f"127.0.0.1:{port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    break
            except OSError as exc:
                # 503 from /healthz still means the relay is up.
                if getattr(exc, "code", None) == 503:
                    break
                assert web.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "pwreset web did not start"
                time.sleep(0.1)
        yield url
    finally:
        web.terminate()
        web.wait(10)
