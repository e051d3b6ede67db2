"""The relay's OpenAPI document: served per site, a valid OpenAPI 3.1 document, made from
the definitions the relay validates with, listing every error code the relay can answer.
(Every reply of the flow tests is checked against it by support.contract.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from pwreset.api import RelaySettings, create_app
from pwreset.api.bodies import CHANGE, UPN_PATH
from pwreset.api.operations import OPERATIONS
from pwreset.api.problems import ProblemError
from pwreset.api.validation import parse
from pwreset.config import load_config
from pwreset.protocol.codes import ERRORS

from support.contract import check_replies, reply_errors

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


@pytest.fixture
def served(client: TestClient) -> dict:
    reply = client.get("/hr/api/v1/openapi.json")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    return reply.json()


def test_the_document_is_valid_openapi_3_1(served):
    assert served["openapi"].startswith("3.1")
    validate(served)


def test_the_served_document_is_about_its_own_site(client, served):
    site = next(p for p in served["paths"]["/{site}/api/v1/meta"]["get"]["parameters"])
    assert site["schema"]["enum"] == ["hr"]
    assert client.get("/nosuch/api/v1/openapi.json").json()["code"] == "unknown_site"


def test_every_endpoint_of_the_relay_is_documented(served):
    documented = {
        (method.upper(), path) for path, item in served["paths"].items() for method in item
    }
    routes = {(op.method, op.path) for op in OPERATIONS}
    assert routes | {("GET", "/{site}/api/v1/openapi.json")} == documented
    for path in ("/{site}/api/v1/reset/start", "/{site}/api/v1/unlock/step"):
        assert path in served["paths"]


def test_every_error_code_is_documented_with_its_status(served):
    """Every code of pwreset.protocol.codes (the relay answers each: its own, or relayed
    from the backend) appears under its own HTTP status, as a problem+json."""
    seen: dict[str, set[int]] = {}
    for item in served["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                for media, content in response.get("content", {}).items():
                    branches = content["schema"].get("allOf", [])
                    for branch in branches:
                        for code in branch.get("properties", {}).get("code", {}).get("enum", []):
                            assert media == "application/problem+json"
                            seen.setdefault(code, set()).add(int(status))
    assert set(seen) == set(ERRORS)
    for code, statuses in seen.items():
        assert statuses == {ERRORS[code].status}, code


def test_every_code_of_the_prose_docs_is_in_the_document(served):
    """docs/api.md names the same codes as the document, and links the document."""
    text = DOCS.read_text()
    table = set(re.findall(r"^\| `([a-z_]+)` \| `RES_", text, re.MULTILINE))
    assert table == set(ERRORS)
    assert "openapi.json" in text
    problem = served["components"]["schemas"]["Problem"]
    assert set(problem["properties"]["code"]["enum"]) == table


def test_step_shapes_and_links_are_documented(served):
    schemas = served["components"]["schemas"]
    step = schemas["FlowStep"]["properties"]["step"]
    kinds = {
        schemas[ref["$ref"].rsplit("/", 1)[1]]["properties"]["kind"]["const"]
        for ref in step["oneOf"]
    }
    assert kinds == {"question", "code", "password", "choose", "totp", "recovery_code", "passkey"}
    start = served["paths"]["/{site}/api/v1/reset/start"]["post"]["responses"]["200"]
    link = start["links"]["reset_step"]
    assert link["operationId"] == "reset_step"
    assert link["requestBody"] == {"flow": "$response.body#/flow"}
    bodies = schemas["reset_step_body"]["oneOf"]
    assert {tuple(sorted(schemas[b["$ref"].rsplit("/", 1)[1]]["required"])) for b in bodies} == {
        ("answer", "flow"),
        ("code", "flow"),
        ("flow", "new_password"),
        ("factor", "flow"),
        ("credential", "flow"),
    }


def test_the_limits_in_the_document_are_the_relays(client, served):
    """A request at a documented limit passes the relay's checks; one over it is refused."""
    change = served["components"]["schemas"]["ChangeBody"]["properties"]
    limit = change["new_password"]["maxLength"]
    valid = {"domain": "EXAMPLE", "username": "alice", "old_password": "a"}
    at = client.post("/hr/api/v1/change", json={**valid, "new_password": "x" * limit})
    assert at.json()["code"] != "field_too_long"
    over = client.post("/hr/api/v1/change", json={**valid, "new_password": "x" * (limit + 1)})
    assert over.json()["code"] == "field_too_long"


def _accepted(adapter, data) -> bool:
    try:
        parse(adapter, data)
    except ProblemError:
        return False
    return True


def _matches(schema: dict, text: str) -> bool:
    return Draft202012Validator(schema).is_valid(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12))
def test_the_name_pattern_in_the_document_is_the_relays_check(text):
    """The document's pattern for names (no control or formatting character, not blank)
    accepts exactly what the relay accepts."""
    body = {"domain": "EXAMPLE", "username": text, "old_password": "a", "new_password": "b"}
    schema = CHANGE.json_schema()["properties"]["username"]
    assert _matches(schema, text) == _accepted(CHANGE, body)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab@ \n\u202e"), max_size=8))
def test_the_upn_pattern_in_the_document_is_the_relays_check(text):
    schema = UPN_PATH.json_schema()["properties"]["upn"]
    assert _matches(schema, text) == _accepted(UPN_PATH, {"upn": text})


def test_the_contract_check_catches_an_undocumented_reply():
    """The hook the flow tests run through fails on what the document does not allow."""
    meta = "/hr/api/v1/meta"
    problem = (
        b'{"type": "urn:pwreset:problem:wrong_code", "title": "", "status": 401, "detail": "",'
        b' "code": "wrong_code", "message": "RES_WRONG_CODE", "params": {}}'
    )
    assert reply_errors("GET", meta, 401, "application/problem+json", problem)
    assert reply_errors("GET", meta, 200, "application/json", b'{"site": "hr"}')
    assert reply_errors("GET", meta, 500, "text/plain", b"Internal Server Error")
    step = b'{"flow": "t", "step": {"kind": "question", "index": 1, "total": 1, "prompt": "q"}}'
    assert not reply_errors("POST", "/hr/api/v1/reset/step", 200, "application/json", step)
    assert reply_errors("POST", "/hr/api/v1/change", 200, "application/json", step)


def test_a_lone_surrogate_in_a_password_is_a_bad_request(client):
    """Found by fuzzing: a lone surrogate ("\\ud800" in the JSON) cannot be sealed as UTF-8;
    the relay answered 500 Internal Server Error in plain text."""
    body = (
        b'{"domain": "EXAMPLE", "username": "alice", "old_password": "\\ud800x",'
        b' "new_password": "b"}'
    )
    reply = client.post(
        "/hr/api/v1/change", content=body, headers={"content-type": "application/json"}
    )
    assert reply.status_code == 400
    got = reply.json()
    assert (got["code"], got["params"]) == ("bad_request", {"field": "old_password"})
    assert "\ud800" not in got["detail"]


def test_a_failure_of_the_relay_itself_is_a_documented_problem(backend, monkeypatch):
    """An unexpected exception in the relay was Starlette's plain-text 500, the one reply
    no client could parse as a problem."""
    from pwreset.api.relay import Relay

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(Relay, "call", broken)
    app = create_app(RelaySettings.from_config(load_config(backend.folder / "pwreset.toml")))
    with TestClient(app, raise_server_exceptions=False) as client:
        reply = check_replies(client).get("/hr/api/v1/meta")
    assert reply.status_code == 500
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["code"] == "server_error"
    assert "a bug" not in reply.text
