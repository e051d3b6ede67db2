"""The enrollment-status check (off by default: it tells who is enrolled)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pwreset.protocol.messages import Request
from pwreset.server.flows.context import FlowContext
from pwreset.server.flows.errors import FlowError
from pwreset.server.flows.fields import text

MAINTENANCE_FLAG = "MAINTENANCE"


def enrollment_status(ctx: FlowContext, request: Request) -> Mapping[str, Any]:
    """`{"isEnrolled": bool}`; unknown users and unknown domains read as false. Not audited."""
    if not ctx.config.api.enrollment_status:
        raise FlowError("api_disabled")
    # An admin (or a database tool) marks maintenance with this file: say nothing then.
    if (ctx.config.path(ctx.config.server.data_dir) / MAINTENANCE_FLAG).exists():
        return {}
    upn = text(request.body, "upn", required=False)
    if upn:
        name, _, suffix = upn.rpartition("@")
        if not name or not suffix:
            raise FlowError("bad_request", "a UPN looks like user@domain")
        domain = ctx.config.domain(suffix)
        # AD finds users by their whole UPN; other directories by the name before the @.
        username = upn if domain is not None and domain.kind == "ad" else name
    else:
        domain = ctx.config.domain(text(request.body, "domain"))
        username = text(request.body, "username")
    if domain is None or domain.name not in ctx.directories:
        return {"isEnrolled": False}
    user = ctx.directories[domain.name].find_user(username)
    record = ctx.db.users.get(domain.name, user.username) if user else None
    enrolled = bool(record and record.enrollment and not record.auto_enrolled)
    auto = ctx.config.verification
    if record and record.auto_enrolled and auto.enabled and auto.auto_enroll:
        enrolled = True
    return {"isEnrolled": enrolled}
