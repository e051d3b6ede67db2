"""Checking a request body before anything is sealed and sent."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from pwreset.api.problems import ProblemError

# The largest value each field may have; the backend checks the same limits again.
LIMITS: Mapping[str, int] = {
    "domain": 255,
    "username": 256,
    "old_password": 512,
    "new_password": 512,
    "lang": 16,
}


async def json_body(request: Request, max_body: int) -> Mapping[str, Any]:
    """The JSON object sent by the page, read with a size limit."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ProblemError("bad_request", "send the body as application/json")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_body:
        raise ProblemError("request_too_large", f"the body may have at most {max_body} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > max_body:
            raise ProblemError("request_too_large", f"the body may have at most {max_body} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ProblemError("bad_request", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ProblemError("bad_request", "the body must be a JSON object")
    return data


def require(
    data: Mapping[str, Any], required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, str]:
    """The named string fields, each present, non-blank and within its limit."""
    unknown = sorted(set(data) - set(required) - set(optional))
    if unknown:
        raise ProblemError("bad_request", f"unknown field {unknown[0]!r}")
    out: dict[str, str] = {}
    for name in required + optional:
        value = data.get(name)
        if value is None and name in optional:
            continue
        if not isinstance(value, str):
            if value is None:
                raise ProblemError("empty_field", f"{name} is required", params={"field": name})
            raise ProblemError("bad_request", f"{name} must be a string", params={"field": name})
        if name in required and not value.strip():
            raise ProblemError("empty_field", f"{name} is required", params={"field": name})
        if len(value) > LIMITS[name]:
            raise ProblemError(
                "field_too_long",
                f"{name} may have at most {LIMITS[name]} characters",
                params={"field": name},
            )
        out[name] = value
    return out
