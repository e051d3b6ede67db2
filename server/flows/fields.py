"""Checking a request body on the backend: the relay is never trusted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pwreset.server.flows.errors import FlowError

# Generous for real names and passphrases, small enough to stop abuse.
LIMITS = {
    "domain": 255,
    "username": 256,
    "password": 512,
    "old_password": 512,
    "new_password": 512,
    "email": 254,
    "lang": 16,
    "flow": 2048,
    "answer": 256,
    "code": 32,
    "upn": 512,
    "web_user": 256,
}


def text(body: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise FlowError("empty_field", f"{name} is required", field=name)
    if len(value) > LIMITS[name]:
        raise FlowError("field_too_long", f"{name} is too long", field=name)
    return value


def texts(body: Mapping[str, Any], *names: str) -> dict[str, str]:
    return {name: text(body, name) for name in names}
