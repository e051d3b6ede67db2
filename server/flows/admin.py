"""Help-desk operations the console sends to a running server (`pwreset users unlock`).

Anyone holding the server's public key can seal a request, so an admin request carries a
proof: an HMAC over the request id and the body under a key derived from the data key,
which only the server host has. The request id is covered, so a recorded request cannot be
replayed under a new id (and the replay guard refuses the same id twice).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from pwreset.protocol.messages import Request
from pwreset.server.flows import lockout
from pwreset.server.flows.context import FlowContext, log
from pwreset.server.flows.errors import FlowError
from pwreset.server.flows.fields import text, texts
from pwreset.server.flows.lockout import DecoyStrikes
from pwreset.server.storage import AuditEvent, AuditTrail, Users

UNLOCK = "admin.unlock"
UNLOCK_EVENT = "pwreset lockout lifted by the help desk (pwreset users unlock)"
# The web console's audit rows (a sign-in, an export): the server is the store's only writer.
NOTE = "admin.note"
NOTE_TYPES = frozenset({"success", "failure", "info"})


def admin_key(data_key: bytes) -> bytes:
    return hmac.new(data_key, b"pwreset admin requests v1", hashlib.sha256).digest()


def proof(key: bytes, request_id: bytes, body: Mapping[str, Any]) -> str:
    fields = {k: v for k, v in body.items() if k != "proof"}
    signed = request_id + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, signed, hashlib.sha256).hexdigest()


def release_lockout(
    users: Users,
    strikes: DecoyStrikes,
    audit: AuditTrail,
    domain: str,
    username: str,
    by: str,
    *,
    source: str = "admin",
    event: str = UNLOCK_EVENT,
    ip: str = "",
) -> bool:
    """Lift pwreset's lockout of `username` (enrolled or not) and forget the wrong answers;
    audited (`source`, `event`) as done `by` whom. True if there was anything to lift."""
    with users.locked(domain, username):
        record = users.get(domain, username)
        lifted = False
        if record is not None and lockout.release(record):
            users.save(record)
            lifted = True
        lifted = strikes.release(domain, username) or lifted
    if lifted:
        audit.append(AuditEvent("success", source, username, domain, event, ip=ip, web_user=by))
    return lifted


def proven(ctx: FlowContext, request: Request, *names: str) -> dict[str, str]:
    """The request's text fields, once its proof holds."""
    body = texts(request.body, *names, "proof")
    expected = proof(ctx.admin_key, request.request_id, request.body)
    if not ctx.admin_key or not hmac.compare_digest(expected, body["proof"]):
        log.warning("refused an admin request without a valid proof from %s", request.client_ip)
        raise FlowError("bad_request", "not an admin request")
    return body


def unlock(ctx: FlowContext, request: Request) -> Mapping[str, Any]:
    body = proven(ctx, request, "domain", "username", "by")
    domain = ctx.config.domain(body["domain"])
    if domain is None:
        raise FlowError("unknown_domain")
    lifted = release_lockout(
        ctx.db.users, ctx.decoy_strikes, ctx.db.audit, domain.name, body["username"], body["by"]
    )
    return {"status": "done", "lifted": lifted}


def note(ctx: FlowContext, request: Request) -> Mapping[str, Any]:
    """Append one audit row the web console sends (`source` console, `web_user` the admin)."""
    body = proven(ctx, request, "type", "domain", "username", "event", "by")
    if body["type"] not in NOTE_TYPES:
        raise FlowError("bad_request", "unknown audit type")
    ctx.db.audit.append(
        AuditEvent(
            body["type"],
            "console",
            body["username"],
            body["domain"],
            body["event"],
            ip=text(request.body, "ip", required=False),
            web_user=body["by"],
        )
    )
    return {"status": "done"}
