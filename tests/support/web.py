"""The relay as admins run it: `pwreset web` on a free port of 127.0.0.1; with the pages
(`pwreset build`, then `--serve-site`) for a browser to open."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.stacks import free_port


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_KeepRedirects)


@contextmanager
def serve_instance(instance: Path, port: int | None = None) -> Iterator[str]:
    """Build the instance's sites and serve them (on `port`, default a free one); yields the
    base URL (no trailing /)."""
    config = instance / "pwreset.toml"
    built = subprocess.run(
        [sys.executable, "-m", "pwreset", "build", "-c", str(config)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    with run_web(config, "--serve-site", port=port) as url:
        yield url


@contextmanager
def run_web(config: Path, *options: str, port: int | None = None) -> Iterator[str]:
    """`pwreset web -c CONFIG OPTIONS` on `port` (default: a free one) of 127.0.0.1 (its
    output in web.out beside the config); yields the base URL once /healthz answers."""
    port = port or free_port("tcp")
    log = config.with_name(f"{config.stem}-web.out")
    with log.open("wb") as out:
        web = subprocess.Popen(
            [sys.executable, "-m", "pwreset", "web", "-c", str(config), *options,
             "--listen", f"127.0.0.1:{port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with _NO_REDIRECTS.open(f"{url}/healthz", timeout=1):
                    break
            except urllib.error.HTTPError:
                break  # any answer means the relay is up (503: a backend down; 308, 403: https)
            except OSError:
                assert web.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "pwreset web did not start"
                time.sleep(0.1)
        yield url
    finally:
        web.terminate()
        web.wait(10)
