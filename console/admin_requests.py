"""What the console asks of the server, or writes itself when it may: lifting pwreset's
lockout and the web console's audit rows; and what only the server does: the help desk's
verification and writes (`pwreset.server.flows.helpdesk`).

The embedded store has one writer. With the server running, the console asks it over UDP
(an admin request proved with the data key, see `pwreset.server.flows.admin`); with the
server stopped, the console takes the owner lock and writes itself. On PostgreSQL it writes
itself in any case: the database's locks keep it in step with the servers.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pwreset.config.schema import Config, parse_address
from pwreset.console.command import ConsoleError, data_dir, data_key, open_owner
from pwreset.protocol.client import exchange
from pwreset.protocol.keys import read_private_key, read_secret_key
from pwreset.protocol.messages import REQUEST_ID_SIZE, Request
from pwreset.server.flows import admin
from pwreset.server.flows.lockout import DecoyStrikes
from pwreset.server.runner import open_exporting_store
from pwreset.server.storage import AuditEvent, Store
from pwreset.server.storage.owner_lock import owner_pid

# A server listening on every address is asked on loopback.
_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104

T = TypeVar("T")


class ServerRefusedError(ConsoleError):
    """The server answered an admin request with a failure: its stable `code` and params."""

    def __init__(self, address: str, code: str, params: Mapping[str, str]) -> None:
        super().__init__(f"the server at {address} refused: {code}")
        self.code = code
        self.params = dict(params)


def ask_server(config: Config, op: str, body: dict[str, str]) -> Mapping[str, Any]:
    """Send one proved admin request to the running server; its result, or ServerRefusedError.
    Raises ServerUnreachable when no reply comes."""
    host, port = parse_address(config.server.listen)
    address = (_LOOPBACK.get(host, host), port)
    server_key = read_private_key(config.path(config.server.private_keys[0])).public_key()
    relay_file = config.server.relay_key_file
    relay_key = read_secret_key(config.path(relay_file)) if relay_file else None
    request_id = os.urandom(REQUEST_ID_SIZE)
    signed: dict[str, Any] = dict(body)
    signed["proof"] = admin.proof(admin.admin_key(data_key(config)), request_id, body)
    request = Request(op=op, vdir="", client_ip="", body=signed, request_id=request_id)
    reply = asyncio.run(exchange(request, address, server_key, relay_key=relay_key))
    if reply.failure is not None:
        failure = reply.failure
        raise ServerRefusedError(f"{address[0]}:{port}", failure.code, failure.params or {})
    return reply.result or {}


def _write(config: Config, op: str, body: dict[str, str], itself: Callable[[Store], T]) -> T:
    """`itself(store)` where the console may write, else the server's answer to `op`."""
    if config.storage.backend == "postgresql":
        db = open_exporting_store(config, data_key(config))
        try:
            return itself(db)
        finally:
            db.close()
    if owner_pid(data_dir(config)) is not None:
        return ask_server(config, op, body)  # type: ignore[return-value]
    with open_owner(config) as owned:
        return itself(owned)


def lift_lockout(config: Config, domain: str, username: str, by: str) -> bool:
    """Lift pwreset's lockout of one user and forget the wrong answers; audited as `by`.
    True if there was anything to lift."""

    def itself(db: Store) -> bool:
        strikes = DecoyStrikes(db.strikes, data_key(config), config.security, time.time)
        return admin.release_lockout(db.users, strikes, db.audit, domain, username, by)

    body = {"domain": domain, "username": username, "by": by}
    outcome: Any = _write(config, admin.UNLOCK, body, itself)
    # The server answers {"lifted": ...}; written here, the answer is the bool itself.
    return bool(outcome.get("lifted")) if isinstance(outcome, Mapping) else bool(outcome)


def record(config: Config, event: AuditEvent) -> None:
    """Append one web console audit row (source `console`)."""
    body = {
        "type": event.type,
        "domain": event.domain,
        "username": event.user,
        "event": event.event,
        "ip": event.ip,
        "by": event.web_user,
    }

    def itself(db: Store) -> None:
        db.audit.append(event)

    _write(config, admin.NOTE, body, itself)
