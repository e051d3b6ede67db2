"""`pwreset users unlock DOMAIN USER`: the help desk lifts pwreset's lockout of one user.

With the server running, the console asks it over UDP (an admin request proved with the
data key, see `pwreset.server.flows.admin`), so nobody has to stop the service; with the
server stopped, the console takes the owner lock and writes itself. On PostgreSQL it writes
itself in any case: the database's locks keep it in step with the servers. Either way the record's
wrong answers are forgotten and an `admin` audit event names the console user.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
import time

from pwreset.cli.options import config_of
from pwreset.config.schema import Config, parse_address
from pwreset.console.command import EXIT_PROBLEM, ConsoleError, data_dir, data_key, open_owner
from pwreset.protocol.client import ServerUnreachable, exchange
from pwreset.protocol.keys import read_private_key, read_secret_key
from pwreset.protocol.messages import REQUEST_ID_SIZE, Request
from pwreset.server.flows import admin
from pwreset.server.flows.lockout import DecoyStrikes
from pwreset.server.runner import open_exporting_store
from pwreset.server.storage import Store
from pwreset.server.storage.owner_lock import owner_pid

# A server listening on every address is asked on loopback.
_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104


def run(args: argparse.Namespace) -> int:
    config = config_of(args)
    domain = config.domain(args.domain)
    if domain is None:
        known = ", ".join(d.name for d in config.domains) or "none"
        print(f"pwreset: no domain {args.domain!r} in the configuration ({known})", file=sys.stderr)
        return EXIT_PROBLEM
    by = f"console:{getpass.getuser()}"
    where = f"{domain.name}\\{args.user}"
    if config.storage.backend == "postgresql":
        # The database's locks hold across every process: safe beside running servers.
        db = open_exporting_store(config, data_key(config))
        try:
            lifted = _release(config, db, domain.name, args.user, by)
        finally:
            db.close()
    elif owner_pid(data_dir(config)) is not None:
        try:
            lifted = _ask_server(config, domain.name, args.user, by)
        except ServerUnreachable as exc:
            print(f"pwreset: {exc}", file=sys.stderr)
            return EXIT_PROBLEM
    else:
        with open_owner(config) as owned:
            lifted = _release(config, owned, domain.name, args.user, by)
    if lifted:
        print(f"{where}: pwreset's lockout lifted and wrong answers forgotten")
    else:
        print(f"{where}: was not locked out by pwreset; nothing to do")
    return 0


def _release(config: Config, db: Store, domain: str, username: str, by: str) -> bool:
    strikes = DecoyStrikes(db.strikes, data_key(config), config.security, time.time)
    return admin.release_lockout(db.users, strikes, db.audit, domain, username, by)


def _ask_server(config: Config, domain: str, username: str, by: str) -> bool:
    host, port = parse_address(config.server.listen)
    address = (_LOOPBACK.get(host, host), port)
    server_key = read_private_key(config.path(config.server.private_keys[0])).public_key()
    relay_file = config.server.relay_key_file
    relay_key = read_secret_key(config.path(relay_file)) if relay_file else None
    request_id = os.urandom(REQUEST_ID_SIZE)
    body = {"domain": domain, "username": username, "by": by}
    body["proof"] = admin.proof(admin.admin_key(data_key(config)), request_id, body)
    request = Request(op=admin.UNLOCK, vdir="", client_ip="", body=body, request_id=request_id)
    reply = asyncio.run(exchange(request, address, server_key, relay_key=relay_key))
    if reply.failure is not None:
        raise ConsoleError(f"the server at {address[0]}:{port} refused: {reply.failure.code}")
    return bool((reply.result or {}).get("lifted"))
