"""The relay as a function (pwreset.api.function): recorded API Gateway HTTP API (v2) events
for every endpoint, through Mangum, to the real backend against the OpenLDAP lab. The
function's config trusts every proxy and a web-user header, which a function must ignore:
the client is the event's requestContext.http.sourceIp, never a header."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pwreset.api import function

from support.contract import reply_errors
from support.flowstack import ANSWERS, QUESTIONS
from support.stacks import Stack, secret, start_stack

EVENTS = Path(__file__).parent / "function_events"

SITE = """
[sites.lambda]
title = "Function site"
flows = ["enroll", "reset", "unlock", "change"]
domains = ["EXAMPLE"]
enrollment_status = true
"""


@pytest.fixture(scope="module")
def stack(slapd_lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("function")
    running = start_stack(root, "openldap", slapd_lab, extra_sites=SITE)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def config(stack: Stack) -> Path:
    """The function's config: the stack's, with proxies and a web-user header it must not
    believe."""
    text = (stack.instance / "pwreset.toml").read_text()
    extra = 'trusted_proxies = ["0.0.0.0/0", "::/0"]\nweb_user_header = "X-Remote-User"\n'
    path = stack.instance / "function.toml"
    path.write_text(text.replace("[web]\n", f"[web]\n{extra}", 1))
    return path


@pytest.fixture
def handler(config: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The entry point a platform calls, reading PWRESET_CONFIG at its cold start."""
    monkeypatch.setenv("PWRESET_CONFIG", str(config))
    function._cold_start.cache_clear()
    yield function.handler
    function._cold_start.cache_clear()


def event(name: str, source_ip: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """The recorded event `name`, from `source_ip`, with `body` over its recorded body."""
    recorded = json.loads((EVENTS / f"{name}.json").read_text())
    recorded["requestContext"]["http"]["sourceIp"] = source_ip
    # API Gateway appends the peer it saw to the client's X-Forwarded-For.
    recorded["headers"]["x-forwarded-for"] = source_ip
    if body is not None:
        text = json.dumps({**json.loads(recorded["body"]), **body})
        recorded["body"] = text
        recorded["headers"]["content-length"] = str(len(text.encode()))
    return recorded


def call(handler: Any, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of the function's answer, checked against the OpenAPI
    document."""
    answer = handler(event, None)
    status, headers, body = answer["statusCode"], answer["headers"], answer["body"]
    assert not answer["isBase64Encoded"]
    http = event["requestContext"]["http"]
    errors = reply_errors(http["method"], http["path"], status, headers["content-type"],
                          body.encode())  # fmt: skip
    assert not errors, errors
    assert headers["x-content-type-options"] == "nosniff"  # the middleware ran
    return status, json.loads(body)


def test_every_endpoint_answers_through_the_function(handler, stack):
    ip = "198.51.100.23"
    user = "fn" + secrets.token_hex(3)
    assert call(handler, event("healthz", ip)) == (200, {"status": "ok"})
    status, meta = call(handler, event("meta", ip))
    assert (status, meta["title"]) == (200, "Function site")

    user_fields = {"domain": "EXAMPLE", "username": user}
    change = {**user_fields, "old_password": secret("x1"), "new_password": secret("y2")}
    status, body = call(handler, event("change", ip, change))
    assert (status, body["code"]) == (401, "wrong_password")
    questions = QUESTIONS[: len(ANSWERS)]
    answers = [
        {"question": q, "answer": secret(a)} for q, a in zip(questions, ANSWERS, strict=True)
    ]
    enroll = {**user_fields, "password": secret("x3"), "answers": answers}
    status, body = call(handler, event("enroll", ip, enroll))
    assert (status, body["code"]) == (401, "wrong_password")

    for flow in ("reset", "unlock"):
        status, started = call(handler, event(f"{flow}_start", ip, {"username": user}))
        assert status == 200, started
        assert started["step"]["kind"] == "question"
        step = {"flow": started["flow"], "answer": secret("not the answer")}
        status, body = call(handler, event(f"{flow}_step", ip, step))
        assert (status, body["code"]) == (401, "wrong_answer"), body

    for name in ("enrollment", "enrollment_by_upn"):
        status, body = call(handler, event(name, ip))
        assert status == 200 and body["isEnrolled"] is False, body
    # Every step that reached the directory was audited with the event's address.
    rows = stack.audited(user)
    assert rows and {address for address, _ in rows} == {ip}, rows


def test_a_forged_forwarded_for_is_not_believed(handler, stack):
    """The event's headers are the client's: X-Forwarded-For and the web-user header move
    neither the audit nor the rate limit, though the config trusts every proxy."""
    user = "fn" + secrets.token_hex(3)
    change = {"domain": "EXAMPLE", "username": user, "old_password": secret("x4"),
              "new_password": secret("y5")}  # fmt: skip
    forged = event("change", "192.0.2.44", change)
    forged["headers"]["x-forwarded-for"] = "203.0.113.9, 192.0.2.44"
    forged["headers"]["x-remote-user"] = "boss"
    status, body = call(handler, forged)
    assert (status, body["code"]) == (401, "wrong_password")
    assert stack.audited(user) == [("192.0.2.44", "")]
