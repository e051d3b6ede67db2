"""Checking a request body on the backend: the relay is never trusted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pwreset.protocol.limits import FIELD_LIMITS as LIMITS
from pwreset.protocol.printable import describe, first_unsafe
from pwreset.server.flows.errors import FlowError

# Names end up in logs, the audit and the console: no character there may forge a line or
# drive a terminal. Checked here too, for datagrams that did not come through the relay.
NAMES = frozenset({"domain", "username", "upn", "name"})


def text(body: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise FlowError("empty_field", f"{name} is required", field=name)
    if len(value) > LIMITS[name]:
        raise FlowError("field_too_long", f"{name} is too long", field=name)
    char = first_unsafe(value) if name in NAMES else None
    if char is not None:
        raise FlowError(
            "invalid_characters",
            f"{name} contains a character that is not allowed ({describe(char)})",
            field=name,
        )
    return value


def texts(body: Mapping[str, Any], *names: str) -> dict[str, str]:
    return {name: text(body, name) for name in names}
