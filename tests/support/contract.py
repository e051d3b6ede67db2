"""Every reply of the relay checked against its OpenAPI document (pwreset.api.openapi):
`check_replies(client)` hooks the check into a TestClient, so each test that talks to the
relay through it proves the document right for what it saw."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2 as httpx
from jsonschema import Draft202012Validator
from starlette.testclient import TestClient

from pwreset.api.openapi import document

_DOC = document()
_TEMPLATES = [
    (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path) for path in _DOC["paths"]
]


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    # The document's components ride along, so "#/components/schemas/X" resolves.
    root = {"components": _DOC["components"], "allOf": [schema]}
    return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)


_PROBLEM = _validator({"$ref": "#/components/schemas/Problem"})


def reply_errors(method: str, path: str, status: int, content_type: str, body: bytes) -> list[str]:
    """What is wrong with one reply by the document ([] when it is right)."""
    api = "/api/" in path or path == "/healthz"
    if not api:
        return []
    media = content_type.split(";")[0].strip()
    operation = _operation(method, path)
    try:
        data = json.loads(body)
    except ValueError:
        return [f"{method} {path} -> {status}: the body is not JSON: {body[:200]!r}"]
    if operation is None:
        # No documented operation (an unknown endpoint or method): a problem all the same.
        if media != "application/problem+json":
            return [f"{method} {path} -> {status}: not a problem+json ({media})"]
        return _invalid(_PROBLEM, data, f"{method} {path} -> {status}")
    response = operation["responses"].get(str(status))
    if response is None:
        code = data.get("code") if isinstance(data, dict) else None
        return [f"{method} {path}: status {status} ({code}) is not documented"]
    content = response["content"]
    if media not in content:
        return [f"{method} {path} -> {status}: {media} is not documented ({sorted(content)})"]
    return _invalid(_validator(content[media]["schema"]), data, f"{method} {path} -> {status}")


def _operation(method: str, path: str) -> dict[str, Any] | None:
    for pattern, template in _TEMPLATES:
        if pattern.match(path):
            return _DOC["paths"][template].get(method.lower())  # type: ignore[no-any-return]
    return None


def _invalid(validator: Draft202012Validator, data: Any, where: str) -> list[str]:
    return [
        f"{where}: {error.message} at {'/'.join(map(str, error.absolute_path))}"
        for error in validator.iter_errors(data)
    ]


def check_reply(response: httpx.Response) -> None:
    response.read()
    request = response.request
    errors = reply_errors(
        request.method,
        request.url.path,
        response.status_code,
        response.headers.get("content-type", ""),
        response.content,
    )
    assert not errors, "the reply does not match the OpenAPI document:\n" + "\n".join(errors)


def check_replies(client: TestClient) -> TestClient:
    """`client`, with every reply it gets checked against the document."""
    client.event_hooks["response"].append(check_reply)
    return client
