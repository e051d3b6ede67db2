"""HTTPS: `pwreset web` serves TLS itself, and `require_https` refuses plain HTTP
(apr checklist 6)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from pwreset.api import RelaySettings, create_app
from pwreset.config import load_config

from support.backend import Backend, start_backend
from support.smtp import make_test_tls
from support.stacks import free_port

SITES = """
[web]
server = "127.0.0.1:{port}"
require_https = true
trusted_proxies = ["10.0.0.0/8"]

[sites.hr]
"""
BODY = {"domain": "X", "username": "a", "old_password": "b", "new_password": "c"}


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    server = start_backend(tmp_path_factory.mktemp("https"), SITES)
    yield server
    server.stop()


def _app(backend: Backend):
    return create_app(RelaySettings.from_config(load_config(backend.folder / "pwreset.toml")))


def test_plain_http_pages_are_redirected_and_api_calls_refused(backend):
    with TestClient(_app(backend), base_url="http://sspr.example", follow_redirects=False) as c:
        page = c.get("/hr/change.html?username=a")
        assert page.status_code == 308
        assert page.headers["location"] == "https://sspr.example/hr/change.html?username=a"
        api = c.post("/hr/api/v1/change", json=BODY)
        assert api.status_code == 403
        assert (api.json()["code"], api.json()["message"]) == (
            "https_required",
            "RES_HTTPS_REQUIRED",
        )


def test_https_and_trusted_proxies_pass(backend):
    with TestClient(_app(backend), base_url="https://sspr.example") as direct:
        reply = direct.post("/hr/api/v1/change", json=BODY)
        assert reply.json()["code"] == "unknown_domain"  # reached the backend
        assert reply.headers["strict-transport-security"].startswith("max-age=")
    proxied = {"X-Forwarded-Proto": "https"}
    with TestClient(_app(backend), client=("10.0.0.9", 1)) as proxy:
        assert proxy.post("/hr/api/v1/change", json=BODY, headers=proxied).status_code == 400
    with TestClient(_app(backend), client=("192.0.2.9", 1)) as stranger:
        reply = stranger.post("/hr/api/v1/change", json=BODY, headers=proxied)
        assert reply.json()["code"] == "https_required"  # the header alone proves nothing


def test_pwreset_web_serves_tls(backend, tmp_path):
    tls = make_test_tls(tmp_path, name="pwreset web test CA")
    config = backend.folder / "pwreset.toml"
    text = config.read_text().replace(
        "require_https = true",
        f'require_https = true\ntls_cert_file = "{tls.cert_file}"\ntls_key_file = "{tls.key_file}"',
    )
    web_config = tmp_path / "pwreset.toml"
    web_config.write_text(text)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "server.pub").write_bytes(
        (backend.folder / "keys/server.pub").read_bytes()
    )
    # A relay host holds the server's public key and the relay key, nothing else.
    shutil.copy(backend.folder / "keys/relay.key", tmp_path / "keys" / "relay.key")
    port = free_port("tcp")
    process = subprocess.Popen(
        [sys.executable, "-m", "pwreset", "web", "-c", str(web_config),
         "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    context = ssl.create_default_context(cafile=str(tls.ca_file))
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(
                    f"https://localhost:{port}/hr/api/v1/meta", context=context, timeout=2
                ) as reply:
                    assert reply.status == 200
                    assert reply.headers["Strict-Transport-Security"]
                    break
            except (OSError, ssl.SSLError):
                assert process.poll() is None, "pwreset web exited"
                assert time.monotonic() < deadline, "pwreset web did not serve TLS"
                time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(10)
