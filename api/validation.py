"""Checking a request before anything is sealed and sent: the body is read with a size limit,
then validated against its model in pwreset.api.bodies; each refusal is a problem with a
stable code naming the field (never its value)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails
from starlette.requests import Request

from pwreset.api.problems import ProblemError
from pwreset.protocol.limits import MAX_QUESTIONS

T = TypeVar("T")


async def json_body(request: Request, max_body: int) -> Any:
    """The JSON value sent by the page, read with a size limit."""
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


def parse(model: TypeAdapter[T], data: Any, *, shape: str = "") -> T:
    """`data` validated by `model`; the first refusal as a ProblemError. With `shape` (for
    path names), every refusal but an unsafe character is a bad_request saying `shape`."""
    try:
        return model.validate_python(data, strict=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    # Unknown fields first: they say the client speaks another version of the API.
    errors.sort(key=lambda error: error["type"] != "extra_forbidden")
    error = _problem(errors[0])
    if shape and error.kind.code != "invalid_characters":
        raise ProblemError("bad_request", shape)
    raise error


def _problem(error: ErrorDetails) -> ProblemError:
    kind = error["type"]
    names = [part for part in error["loc"] if isinstance(part, str)]
    field = names[-1] if names else ""
    params: Mapping[str, str] = {"field": field} if field else {}
    nested = any(isinstance(part, int) for part in error["loc"])
    if kind == "extra_forbidden":
        return ProblemError("bad_request", f"unknown field {field[:64]!r}")
    if kind == "missing" or (error.get("input") is None and field and not nested):
        return ProblemError("empty_field", f"{field} is required", params=params)
    if kind == "string_too_long":
        limit = (error.get("ctx") or {}).get("max_length")
        return ProblemError(
            "field_too_long", f"{field} may have at most {limit} characters", params=params
        )
    if kind == "empty_field":
        return ProblemError("empty_field", f"{field} is required", params=params)
    if kind == "invalid_characters":
        return ProblemError("invalid_characters", f"{field} contains {error['msg']}", params=params)
    if kind == "bad_request":
        return ProblemError("bad_request", error["msg"], params=params)
    if field == "answers":
        return ProblemError("bad_request", _ANSWERS.get(kind, "answers must be a list"))
    if kind == "string_unicode" and field:
        # A lone surrogate ("\ud800" in the JSON) cannot be sealed as UTF-8.
        return ProblemError("bad_request", f"{field} is not valid Unicode text", params=params)
    if kind.endswith("_type") and field:
        return ProblemError("bad_request", f"{field} must be a string", params=params)
    return ProblemError("bad_request", "the request is not valid")


_ANSWERS = {
    "too_short": "answers must be a non-empty list",
    "too_long": f"at most {MAX_QUESTIONS} answers",
    "model_type": "each answer is {question, answer}",
}
