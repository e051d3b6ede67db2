"""HTTPS: `pwreset web` serves TLS itself, and `require_https` refuses plain HTTP
(apr checklist 6)."""

from __future__ import annotations

import http.client
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pwreset.api import RelaySettings, create_app
from pwreset.config import ConfigError, load_config

from support.backend import Backend, start_backend
from support.smtp import make_test_tls
from support.stacks import free_port
from support.web import run_web

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


def _config(backend: Backend, extra: str = "") -> Path:
    """The backend's config, or a copy beside it (same keys) with `extra` lines in [web]."""
    path = backend.folder / "pwreset.toml"
    if not extra:
        return path
    copy = backend.folder / f"web-{abs(hash(extra))}.toml"
    copy.write_text(path.read_text().replace("[web]\n", f"[web]\n{extra}\n", 1))
    return copy


def _app(backend: Backend, extra: str = ""):
    return create_app(RelaySettings.from_config(load_config(_config(backend, extra))))


PUBLIC = 'public_url = "https://sspr.example.org/"'


def test_plain_http_pages_are_redirected_to_the_public_url_and_api_calls_refused(backend):
    """security review, low: the redirect was built from the Host header; it goes to
    [web] public_url whatever Host the client sends."""
    for host in ("sspr.example.org", "evil.example"):
        with TestClient(
            _app(backend, PUBLIC), base_url=f"http://{host}", follow_redirects=False
        ) as c:
            page = c.get("/hr/change.html?username=a")
            assert page.status_code == 308
            assert page.headers["location"] == "https://sspr.example.org/hr/change.html?username=a"
            api = c.post("/hr/api/v1/change", json=BODY)
            assert api.status_code == 403
            assert (api.json()["code"], api.json()["message"]) == (
                "https_required",
                "RES_HTTPS_REQUIRED",
            )


def test_without_a_public_url_plain_http_pages_get_an_error_page(backend):
    """security review, low: with no configured address there is nothing safe to redirect
    to, so the page says to use https:// and sends nobody anywhere."""
    with TestClient(_app(backend), base_url="http://evil.example", follow_redirects=False) as c:
        page = c.get("/hr/change.html")
        assert page.status_code == 403
        assert "location" not in page.headers
        assert "https://" in page.text and "evil.example" not in page.text


def test_pwreset_web_redirects_a_forged_host_to_the_public_url(backend):
    """security review, low: through a real `pwreset web`."""
    with run_web(_config(backend, PUBLIC)) as url:
        connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
        try:
            connection.request("GET", "/hr/reset.html?x=1", headers={"Host": "evil.example"})
            reply = connection.getresponse()
            assert reply.status == 308
            assert reply.getheader("Location") == "https://sspr.example.org/hr/reset.html?x=1"
        finally:
            connection.close()


@pytest.mark.parametrize(
    "value", ["http://sspr.example.org", "sspr.example.org", "https://", "https://h/?q=1"]
)
def test_public_url_must_be_an_https_address(backend, value):
    with pytest.raises(ConfigError) as info:
        load_config(_config(backend, f'public_url = "{value}"'))
    assert [p.key for p in info.value.problems] == ["web.public_url"]


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
