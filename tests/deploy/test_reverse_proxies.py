"""`pwreset deploy nginx|caddy`: each proxy, run with the configuration the command writes in
front of a real `pwreset web` and backend (OpenLDAP lab), serves the built pages with the
relay's security headers, relays the API, and hands the relay the client's address, never
one the client made up."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pwreset_lab import SlapdAdmin

from pwreset.cli import main

from support.flowstack import PASSWORD, FlowStack, flow_stack
from support.reverse_proxy import (
    CLIENT_IP,
    ClientConnection,
    give_to_proxy,
    public_folder,
    run_proxy,
)
from support.smtp import TlsFiles, make_test_tls
from support.stacks import free_port
from support.web import run_web

# What `pwreset web` sets on every answer; the proxies must send the same with the pages.
PAGE_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy",
                "X-Frame-Options")  # fmt: skip
FORGED_IP = "203.0.113.66"


@dataclass
class Proxied:
    stack: FlowStack
    admin: SlapdAdmin
    public: Path
    tls: TlsFiles
    web_url: str

    @property
    def config_file(self) -> Path:
        return self.stack.instance / "pwreset.toml"


@pytest.fixture(scope="module")
def proxied(slapd_lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    admin = SlapdAdmin(slapd_lab)
    with public_folder() as public:
        tls = make_test_tls(public / "tls")
        give_to_proxy(tls.cert_file, tls.key_file)
        web_port = free_port("tcp")
        settings = {
            "web": {
                "listen": f"127.0.0.1:{web_port}",
                "trusted_proxies": ["127.0.0.1/32"],
                "require_https": True,
                "web_user_header": "X-Remote-User",
            },
            "build": {"output": str(public / "site")},
        }
        root = tmp_path_factory.mktemp("proxied")
        with flow_stack("openldap", slapd_lab, admin, root, settings) as stack:
            config = stack.instance / "pwreset.toml"
            built = subprocess.run(
                [sys.executable, "-m", "pwreset", "build", "-c", str(config)],
                capture_output=True,
                text=True,
            )
            assert built.returncode == 0, built.stderr
            with run_web(config, port=web_port) as url:
                yield Proxied(stack, admin, public, tls, url)


def _request(
    proxied: Proxied, port: int, method: str, path: str, body: object = None, **headers: str
) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = ClientConnection(port, proxied.tls.ca_file)
    try:
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=headers)
        reply = connection.getresponse()
        return reply.status, reply.headers, reply.read()
    finally:
        connection.close()


def _relay_headers(proxied: Proxied) -> http.client.HTTPMessage:
    """The headers `pwreset web` itself answers with."""
    try:
        with urllib.request.urlopen(f"{proxied.web_url}/healthz", timeout=5) as reply:
            return reply.headers
    except urllib.error.HTTPError as refused:
        return refused.headers


@pytest.mark.parametrize("kind", ["nginx", "caddy"])
def test_proxy_serves_pages_and_api_and_passes_the_clients_own_address(
    proxied, kind, capsys, fresh_user_name
):
    https_port, http_port = free_port("tcp"), free_port("tcp")
    out = proxied.public / f"{kind}-kit"
    command = ["deploy", kind, "-c", str(proxied.config_file), "--server-name", "localhost",
               "--https-port", str(https_port), "--http-port", str(http_port),
               "--cert", str(proxied.tls.cert_file), "--key", str(proxied.tls.key_file),
               "-o", str(out)]  # fmt: skip
    assert main(command) == 0
    # trusted_proxies holds the proxy's address and require_https is on: nothing to say.
    assert "note:" not in capsys.readouterr().err
    (written,) = out.iterdir()
    with run_proxy(kind, written.read_text(), proxied.public / kind, https_port):
        # A page of the built site, with the headers the relay sends, once each.
        status, headers, body = _request(proxied, https_port, "GET", "/pwreset/")
        assert status == 200
        assert body == (proxied.public / "site" / "pwreset" / "index.html").read_bytes()
        relay = _relay_headers(proxied)
        for name in PAGE_HEADERS:
            assert headers.get_all(name) == [relay[name]], name
        assert headers.get_all("Strict-Transport-Security") == ["max-age=31536000"]

        # An API call through the proxy, its headers not repeated.
        status, headers, body = _request(proxied, https_port, "GET", "/pwreset/api/v1/meta")
        assert status == 200, body
        assert "domains" in json.loads(body)
        for name in (*PAGE_HEADERS, "Strict-Transport-Security", "Cache-Control"):
            assert len(headers.get_all(name) or []) == 1, (name, headers.get_all(name))

        # A flow step: the relay believes the proxy's X-Forwarded-Proto (no https_required)
        # and audits the client's own address, not the proxy's nor the one the client forged.
        proxied.admin.create_user(fresh_user_name, PASSWORD)
        change = {"domain": proxied.stack.domain, "username": fresh_user_name,
                  "old_password": "Not!Passw0rd-1", "new_password": "New!Passw0rd-77"}  # fmt: skip
        # The web user too is the proxy's to say (a sign-on module's), never the client's.
        status, _, body = _request(
            proxied, https_port, "POST", "/pwreset/api/v1/change", change,
            **{"X-Forwarded-For": FORGED_IP, "X-Forwarded-Proto": "https",
               "X-Remote-User": "EXAMPLE\\administrator"},
        )  # fmt: skip
        assert json.loads(body)["code"] != "https_required", body
        rows = proxied.stack.audit(fresh_user_name)
        assert [(row.ip, row.web_user) for row in rows] == [(CLIENT_IP, "")]

        # A folder without its slash is redirected by path alone (its pages' links are
        # relative), and a forged Host never becomes the target (Caddy serves it nothing).
        status, headers, _ = _request(proxied, https_port, "GET", "/pwreset")
        assert (status, headers["Location"]) in ((301, "/pwreset/"), (308, "/pwreset/"))
        _, headers, _ = _request(proxied, https_port, "GET", "/pwreset", Host="evil.example")
        assert "evil" not in headers.get("Location", "")

        # Plain HTTP is sent to the HTTPS address.
        plain = http.client.HTTPConnection(
            "127.0.0.1", http_port, timeout=5, source_address=(CLIENT_IP, 0)
        )
        plain.request("GET", "/pwreset/", headers={"Host": "localhost"})
        redirect = plain.getresponse()
        assert redirect.status in (301, 308)
        assert redirect.headers["Location"] == f"https://localhost:{https_port}/pwreset/"
        plain.close()
