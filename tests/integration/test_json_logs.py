"""`--log-format json` (docs/operations.md, "JSON logs and request ids"): `pwreset server`
and `pwreset web`, run as admins run them, write one JSON object per line, and the lines
of one request carry the same request id in both processes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from support.stacks import start_stack
from support.web import run_web

# The relay's own file, as on a DMZ host: its proxy (this test, on 127.0.0.1) is trusted.
WEB = """
[web]
server = "127.0.0.1:{port}"
relay_key_file = "keys/relay.key"
trusted_proxies = ["127.0.0.1/32"]

[sites.pwreset]
flows = ["change"]
"""
BODY = {
    "domain": "NOPE",  # answered at once (unknown_domain): no directory is asked
    "username": "alice",
    "old_password": "Init!Passw0rd-1",
    "new_password": "Json!Passw0rd-2",
    "lang": "en",
}


def _post(url: str, headers: dict[str, str]) -> str:
    request = urllib.request.Request(
        f"{url}/pwreset/api/v1/change",
        data=json.dumps(BODY).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as reply:
            return str(reply.headers["X-Request-ID"])
    except urllib.error.HTTPError as reply:
        return str(reply.headers["X-Request-ID"])


def _json_lines(path: Path) -> list[dict[str, Any]]:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is one JSON object


def test_one_request_id_in_the_json_logs_of_the_relay_and_the_server(slapd_lab, tmp_path):
    stack = start_stack(tmp_path, "openldap", slapd_lab, options=("--log-format", "json"))
    try:
        web = stack.instance / "web.toml"
        web.write_text(WEB.format(port=stack.server_address[1]))
        with run_web(web, "--log-format", "json") as url:
            # A trusted proxy's id is taken; without one the relay makes its own.
            given = _post(url, {"X-Request-ID": "proxy-7f3a9c"})
            made = _post(url, {})
    finally:
        stack.stop()
    assert given == "proxy-7f3a9c"
    assert len(made) == 32 and made != given
    web_lines = _json_lines(web.with_name("web-web.out"))
    server_lines = _json_lines(stack.log_file) + _json_lines(stack.output_file)
    for lines in (web_lines, server_lines):
        assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    for request_id in (given, made):
        # The relay's access log line, and the server's line for the request it served.
        assert any(
            line.get("request_id") == request_id
            and "POST /pwreset/api/v1/change" in line["message"]
            for line in web_lines
        ), web_lines
        assert any(
            line.get("request_id") == request_id and line["message"].startswith("change for site")
            for line in server_lines
        ), server_lines
