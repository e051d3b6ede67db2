"""The relay: validation before anything is sent, problem+json errors, meta and health,
against a real backend process (its placeholder directory is never contacted here)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from starlette.testclient import TestClient

from pwreset.api import RelaySettings, create_app
from pwreset.config import load_config

from support.web import run_web

VALID = {"domain": "EXAMPLE", "username": "alice", "old_password": "a", "new_password": "b"}


def problem(reply) -> dict:
    assert reply.headers["content-type"].startswith("application/problem+json"), reply.text
    body = reply.json()
    assert body["status"] == reply.status_code
    assert {"type", "title", "detail", "code", "message", "params"} <= set(body)
    return body


@pytest.mark.parametrize("field", ["domain", "username", "old_password", "new_password"])
def test_missing_field_is_named(client, field):
    body = {k: v for k, v in VALID.items() if k != field}
    reply = client.post("/hr/api/v1/change", json=body)
    assert reply.status_code == 400
    got = problem(reply)
    assert got["code"] == "empty_field"
    assert got["message"] == f"RES_EMPTY_FIELD_{field.upper()}"
    assert got["params"]["field"] == field


def test_blank_username_is_an_empty_field(client):
    reply = client.post("/hr/api/v1/change", json={**VALID, "username": "   "})
    assert problem(reply)["message"] == "RES_EMPTY_FIELD_USERNAME"


def test_too_long_field(client):
    reply = client.post("/hr/api/v1/change", json={**VALID, "new_password": "x" * 513})
    assert reply.status_code == 400
    assert problem(reply)["code"] == "field_too_long"


def test_non_json_and_non_object_bodies(client):
    reply = client.post(
        "/hr/api/v1/change", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert problem(reply)["code"] == "bad_request"
    assert problem(client.post("/hr/api/v1/change", json=[1, 2]))["code"] == "bad_request"
    reply = client.post("/hr/api/v1/change", content=b"a=b")
    assert problem(reply)["code"] == "bad_request"


@pytest.mark.parametrize("nesting", [b"[" * 16000, b'{"a":' * 3000])
def test_deeply_nested_json_is_a_bad_request(client, nesting):
    """security review, low: deeply nested JSON raised an uncaught RecursionError (500)."""
    reply = client.post(
        "/hr/api/v1/change", content=nesting, headers={"content-type": "application/json"}
    )
    assert reply.status_code == 400
    assert problem(reply)["code"] == "bad_request"


UNSAFE = ["\n", "\r", "\x00", "\x1b[2J", "\x7f", "\x85", "\x9b31m", "\u2028", "\u202e", "\u2066",
          "\u200b", "\ufeff", "\U000e0041"]  # fmt: skip


@pytest.mark.parametrize("field", ["username", "domain"])
@pytest.mark.parametrize("char", UNSAFE)
def test_control_characters_in_names_are_refused(client, field, char):
    """security review, low: control and formatting characters in a name would reach the
    logs and the console raw (forged log lines, terminal escapes)."""
    reply = client.post("/hr/api/v1/change", json={**VALID, field: f"al{char}ice"})
    assert reply.status_code == 400
    got = problem(reply)
    assert (got["code"], got["message"]) == ("invalid_characters", "RES_INVALID_CHARACTERS")
    assert got["params"]["field"] == field
    assert "U+" in got["detail"] and char not in got["detail"]


def test_control_characters_in_enrollment_status_paths_are_refused(client):
    """security review, low: the names in the enrollment-status paths are names too."""
    for path in ("enrollments/EXAMPLE/al%1Bice", "enrollments/upn/al%0Aice@example.org"):
        reply = client.get(f"/hr/api/v1/{path}")
        assert problem(reply)["code"] == "invalid_characters", path


def test_names_in_any_script_are_accepted(client):
    for name in ("jürgen.müller", "José Ñúñez", "山田太郎", "ابراهيم", "o'brien"):
        # Past the relay's check and the backend's, to the domain look-up.
        reply = client.post("/hr/api/v1/change", json={**VALID, "username": name, "domain": "X"})
        assert problem(reply)["code"] == "unknown_domain", name


def test_wrong_types_and_unknown_fields(client):
    reply = client.post("/hr/api/v1/change", json={**VALID, "username": 5})
    assert problem(reply)["code"] == "bad_request"
    reply = client.post("/hr/api/v1/change", json={**VALID, "email": "x"})
    assert problem(reply)["code"] == "bad_request"


def test_oversized_body(client):
    reply = client.post(
        "/hr/api/v1/change",
        content=b'{"a":"' + b"x" * 20000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert reply.status_code == 413
    assert problem(reply)["code"] == "request_too_large"


def test_unknown_site(client):
    reply = client.post("/nosuch/api/v1/change", json=VALID)
    assert reply.status_code == 404
    assert problem(reply)["code"] == "unknown_site"


def test_disabled_flow(client):
    reply = client.post("/closed/api/v1/change", json=VALID)
    assert reply.status_code == 403
    assert problem(reply)["code"] == "flow_disabled"


def test_unknown_domain_comes_back_from_the_backend(client):
    reply = client.post("/hr/api/v1/change", json={**VALID, "domain": "OTHER"})
    assert problem(reply)["code"] == "unknown_domain"


def test_silent_server_gives_503_with_its_address_only_in_the_log(client, backend, caplog):
    """security review, low: server_unreachable showed end users the backend's internal
    host:port; the page gets the generic message, the relay's log the details."""
    config = load_config(backend.folder / "pwreset.toml")
    internal = config.sites["elsewhere"].server
    with caplog.at_level(logging.WARNING, logger="pwreset.api"):
        reply = client.post("/elsewhere/api/v1/change", json=VALID)
    assert reply.status_code == 503
    got = problem(reply)
    assert (got["code"], got["message"]) == ("server_unreachable", "RES_REQUEST_FAILED")
    assert internal not in reply.text and got["params"] == {}
    assert internal in caplog.text and "elsewhere" in caplog.text


def test_meta_describes_the_site(client):
    reply = client.get("/hr/api/v1/meta")
    assert reply.status_code == 200
    meta = reply.json()
    assert meta["title"] == "Human Resources"
    assert meta["flows"] == ["change"]
    assert meta["domains"] == ["EXAMPLE"]
    assert meta["free_domain"] is False


def test_healthz_names_the_servers_only_to_admin_networks(backend):
    """security review, low: the public /healthz showed each backend's internal host:port;
    only clients in [web] admin_networks (default: loopback) see them."""
    app = create_app(RelaySettings.from_config(load_config(backend.folder / "pwreset.toml")))
    for peer in (("192.0.2.9", 1), ("testclient", 1)):
        with TestClient(app, client=peer) as stranger:
            reply = stranger.get("/healthz")
            assert reply.status_code == 503  # the "elsewhere" site's server is down
            assert reply.json() == {"status": "degraded"}
    for peer in (("127.0.0.1", 1), ("::1", 1)):
        with TestClient(app, client=peer) as local:
            servers = local.get("/healthz").json()["servers"]
            assert servers[f"127.0.0.1:{backend.port}"] is True
            assert list(servers.values()).count(False) == 1


def test_pwreset_web_healthz_follows_admin_networks(backend):
    """security review, low: through a real `pwreset web`: loopback is an admin network by
    default; an admin network set elsewhere hides the details from loopback too."""
    config = backend.folder / "pwreset.toml"
    others = backend.folder / "admins-elsewhere.toml"
    others.write_text(
        config.read_text().replace("[web]\n", '[web]\nadmin_networks = ["10.1.0.0/16"]\n', 1)
    )
    for path, detailed in ((config, True), (others, False)):
        with run_web(path) as url:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=10)
            except urllib.error.HTTPError as error:
                body = json.loads(error.read())
        assert body["status"] == "degraded"
        assert ("servers" in body) is detailed, body


def test_api_responses_are_not_cached_and_carry_security_headers(client):
    reply = client.post("/hr/api/v1/change", json={**VALID, "domain": "OTHER"})
    assert reply.headers["cache-control"] == "no-store"
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["referrer-policy"] == "no-referrer"


def test_relay_never_imports_the_backend_or_directory_libraries(backend):
    code = f"""
import sys
from pwreset.api import RelaySettings, create_app
from pwreset.config import load_config
app = create_app(RelaySettings.from_config(load_config({str(backend.folder / "pwreset.toml")!r})))
bad = sorted(m for m in sys.modules if m.split('.')[0] in ('ldap3', 'tinydb')
             or m == 'pwreset.server' or m.startswith('pwreset.server.'))
print(','.join(bad))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
