"""The request id that follows one end-user request through the relay's and the server's
log lines (and the server's audit export): its form, and how a new one is made.

It is a correlation id, not a secret and not a proof. The relay makes one per HTTP request,
or takes a trusted proxy's `X-Request-ID`, and seals it into the request body under
`TRACE_FIELD` (the body, not the envelope: a server that predates it ignores an unknown body
field, while it would drop a datagram with an unknown envelope key). Each process holds the
id of the request it is working on in `current_trace`, which its log format reads.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from .limits import FIELD_LIMITS

# The body field the relay seals the id under (its limit is in limits.INTERNAL_FIELDS).
TRACE_FIELD = "trace_id"
# What proxies write (hex, UUIDs, base64 and base64url ids) and nothing that could forge a
# log line, break a syslog structured-data value or a JSON log reader's expectations.
_FORM = re.compile(rf"[A-Za-z0-9._~:+/=-]{{1,{FIELD_LIMITS[TRACE_FIELD]}}}")

# The id of the request this thread or task works on; "" outside of one.
current_trace: ContextVar[str] = ContextVar("pwreset_trace", default="")


def new_trace_id() -> str:
    """A fresh id: 128 random bits as 32 hex digits (the form nginx's $request_id has)."""
    return secrets.token_hex(16)


def valid_trace_id(value: object) -> str | None:
    """`value` if it is an id of the accepted form, else None."""
    return value if isinstance(value, str) and _FORM.fullmatch(value) else None


def trace_of(body: Mapping[str, Any]) -> str | None:
    """The id a request body carries, if it carries a valid one."""
    return valid_trace_id(body.get(TRACE_FIELD))
