"""Checking a request body before anything is sealed and sent."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from pwreset.api.problems import ProblemError
from pwreset.protocol.printable import describe, first_unsafe

# The largest value each field may have; the backend checks the same limits again.
LIMITS: Mapping[str, int] = {
    "domain": 255,
    "username": 256,
    "old_password": 512,
    "new_password": 512,
    "password": 512,
    "email": 254,
    "lang": 16,
    "flow": 2048,
    "answer": 256,
    "code": 32,
}
# Names end up in logs, the audit and the console: no character there may forge a line
# or drive a terminal. The backend refuses them again (pwreset.server.flows.fields).
NAMES = frozenset({"domain", "username", "upn"})
_QUESTION = 64
_MAX_ANSWERS = 10


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
    except RecursionError:
        # A few kilobytes of "[" nest deeper than the parser's stack allows.
        raise ProblemError("bad_request", "the body is nested too deeply") from None
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
        check_name(name, value)
        out[name] = value
    return out


def check_name(name: str, value: str) -> None:
    """Refuse a name field holding a character unsafe in a log or on a terminal."""
    char = first_unsafe(value) if name in NAMES else None
    if char is not None:
        raise ProblemError(
            "invalid_characters",
            f"{name} contains a character that is not allowed ({describe(char)})",
            params={"field": name},
        )


def answers(data: Mapping[str, Any]) -> list[dict[str, str]]:
    """The enroll form's (question, answer) list: shapes and sizes only; the backend
    checks the content."""
    raw = data.get("answers")
    if not isinstance(raw, list) or not raw:
        raise ProblemError("bad_request", "answers must be a non-empty list")
    if len(raw) > _MAX_ANSWERS:
        raise ProblemError("bad_request", f"at most {_MAX_ANSWERS} answers")
    out = []
    for item in raw:
        if not isinstance(item, dict) or set(item) - {"question", "answer"}:
            raise ProblemError("bad_request", "each answer is {question, answer}")
        question, answer = item.get("question", ""), item.get("answer", "")
        if not isinstance(question, str) or not isinstance(answer, str):
            raise ProblemError("bad_request", "questions and answers are strings")
        if len(question) > _QUESTION or len(answer) > LIMITS["answer"]:
            raise ProblemError("field_too_long", "a question or an answer is too long")
        out.append({"question": question, "answer": answer})
    return out
