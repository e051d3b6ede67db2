"""What travels inside a sealed datagram: the Request and Reply shapes and their JSON form.

Encoding refuses a message the other side would refuse (ValueError), so the relay learns
about a bad request at once instead of through a server that stays silent. Decoding runs
on authenticated plaintext but is still strict: any deviation is a MalformedDatagram.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import MalformedDatagram

__all__ = [
    "MAX_NAME_LENGTH",
    "REQUEST_ID_SIZE",
    "Failure",
    "Reply",
    "Request",
    "decode_reply",
    "decode_request",
    "encode_reply",
    "encode_request",
]

REQUEST_ID_SIZE = 16
# op, vdir, client_ip and failure codes are names, not content; a long one is a bug or an attack.
MAX_NAME_LENGTH = 64
_HEX_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Request:
    op: str  # e.g. "ping", "change", "meta"
    vdir: str  # the virtual directory (site) the request came through; "" for none
    client_ip: str  # end-user IP as seen by the relay ("" if unknown)
    body: Mapping[str, Any]  # JSON-able
    request_id: bytes = field(default_factory=lambda: os.urandom(REQUEST_ID_SIZE))
    timestamp: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Failure:
    code: str  # a code from pwreset.protocol.codes
    detail: str = ""
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    request_id: bytes
    result: Mapping[str, Any] | None = None  # set on success
    failure: Failure | None = None  # set on failure (exactly one of the two)


# --- field checks: raise ValueError with a message naming the field, never its value ----


def _name(value: object, what: str, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    if not value and not empty_ok:
        raise ValueError(f"{what} must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"{what} is longer than {MAX_NAME_LENGTH} characters")
    return value


def _client_ip(value: object) -> str:
    # Audited and rate-limited on: an address or nothing, never free text.
    text = _name(value, "client_ip", empty_ok=True)
    if text:
        try:
            ipaddress.ip_address(text)
        except ValueError:
            raise ValueError("client_ip is not an IP address") from None
    return text


def _string(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    return value


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    return value


def _timestamp(value: object) -> float:
    # bool is an int subclass; a timestamp of `true` is a bug, not 1970-01-01T00:00:01.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("timestamp must be a number")
    try:
        number = float(value)
    except OverflowError:
        # JSON has arbitrary integers; one past a float's range is no time at all.
        raise ValueError("timestamp is out of range") from None
    if not math.isfinite(number):
        raise ValueError("timestamp must be finite")
    return number


def _request_id(value: object) -> bytes:
    if not isinstance(value, bytes) or len(value) != REQUEST_ID_SIZE:
        raise ValueError(f"request_id must be {REQUEST_ID_SIZE} bytes")
    return value


def _request_id_hex(value: object) -> bytes:
    if not isinstance(value, str) or not _HEX_ID.fullmatch(value):
        raise ValueError(f"request_id must be {REQUEST_ID_SIZE * 2} lowercase hex digits")
    return bytes.fromhex(value)


def _keys(obj: dict[str, Any], expected: set[str], what: str) -> None:
    if set(obj) != expected:
        raise ValueError(f"{what} must have exactly the keys {sorted(expected)}")


# --- JSON ---------------------------------------------------------------------------------


def _jsonable(value: object) -> object:
    # json only knows dict; callers may hand us any Mapping (e.g. MappingProxyType).
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON-able")


def _dumps(obj: dict[str, Any]) -> bytes:
    try:
        text = json.dumps(
            obj, allow_nan=False, ensure_ascii=False, separators=(",", ":"), default=_jsonable
        )
        return text.encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        # UnicodeEncodeError (a lone surrogate) is a ValueError too.
        raise ValueError(f"the message is not JSON-able: {type(exc).__name__}") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate key in a JSON object")
    return obj


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _loads(data: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(
            data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant
        )
    except (ValueError, RecursionError) as exc:
        # UnicodeDecodeError and JSONDecodeError are ValueErrors. Only the exception's kind
        # is reported: its message would quote plaintext.
        raise MalformedDatagram(f"the plaintext is not JSON ({type(exc).__name__})") from None
    if not isinstance(obj, dict):
        raise MalformedDatagram("the plaintext is not a JSON object")
    # Only a \u escape can spell a surrogate: the walk is for the rare plaintext with one.
    if _SURROGATE_ESCAPE.search(data):
        try:
            lone = _has_lone_surrogate(obj)
        except RecursionError:
            raise MalformedDatagram("the plaintext is nested too deeply") from None
        if lone:
            # No encoder sends one (UTF-8 cannot hold it), and it breaks every later
            # .encode(): hashing a code, writing the audit, binding to the directory.
            raise MalformedDatagram("the plaintext has a lone surrogate (not Unicode text)")
    return obj


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(value: object) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


# --- requests -----------------------------------------------------------------------------

_REQUEST_KEYS = {"request_id", "timestamp", "op", "vdir", "client_ip", "body"}


def encode_request(request: Request) -> bytes:
    """The request's JSON plaintext. Raises ValueError if the server would refuse it."""
    if not isinstance(request.body, Mapping):
        raise ValueError("body must be a mapping")
    return _dumps(
        {
            "request_id": _request_id(request.request_id).hex(),
            "timestamp": _timestamp(request.timestamp),
            "op": _name(request.op, "op"),
            "vdir": _name(request.vdir, "vdir", empty_ok=True),
            "client_ip": _client_ip(request.client_ip),
            "body": dict(request.body),
        }
    )


def decode_request(data: bytes) -> Request:
    obj = _loads(data)
    try:
        _keys(obj, _REQUEST_KEYS, "a request")
        return Request(
            op=_name(obj["op"], "op"),
            vdir=_name(obj["vdir"], "vdir", empty_ok=True),
            client_ip=_client_ip(obj["client_ip"]),
            body=_object(obj["body"], "body"),
            request_id=_request_id_hex(obj["request_id"]),
            timestamp=_timestamp(obj["timestamp"]),
        )
    except ValueError as exc:
        raise MalformedDatagram(str(exc)) from None


# --- replies ------------------------------------------------------------------------------


def _failure_to_json(failure: Failure) -> dict[str, Any]:
    if not isinstance(failure.params, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in failure.params.items()
    ):
        raise ValueError("failure params must map strings to strings")
    return {
        "code": _name(failure.code, "failure code"),
        "detail": _string(failure.detail, "failure detail"),
        "params": dict(failure.params),
    }


def _failure_from_json(value: object) -> Failure:
    obj = _object(value, "failure")
    _keys(obj, {"code", "detail", "params"}, "a failure")
    params = _object(obj["params"], "failure params")
    for item in params.values():
        _string(item, "a failure param")
    return Failure(
        code=_name(obj["code"], "failure code"),
        detail=_string(obj["detail"], "failure detail"),
        params=params,
    )


def encode_reply(reply: Reply) -> bytes:
    """The reply's JSON plaintext. Raises ValueError unless exactly one of result and
    failure is set."""
    obj: dict[str, Any] = {"request_id": _request_id(reply.request_id).hex()}
    if (reply.result is None) == (reply.failure is None):
        raise ValueError("a reply carries exactly one of result and failure")
    if reply.failure is not None:
        obj["failure"] = _failure_to_json(reply.failure)
    elif isinstance(reply.result, Mapping):
        obj["result"] = dict(reply.result)
    else:
        raise ValueError("result must be a mapping")
    return _dumps(obj)


def decode_reply(data: bytes) -> Reply:
    obj = _loads(data)
    try:
        request_id = _request_id_hex(obj.get("request_id"))
        if "failure" in obj:
            _keys(obj, {"request_id", "failure"}, "a failed reply")
            return Reply(request_id, failure=_failure_from_json(obj["failure"]))
        _keys(obj, {"request_id", "result"}, "a reply")
        return Reply(request_id, result=_object(obj["result"], "result"))
    except ValueError as exc:
        raise MalformedDatagram(str(exc)) from None
