"""`pwreset users unlock DOMAIN USER`: the help desk lifts pwreset's lockout of one user.

Where the write happens (the running server, the owner lock, PostgreSQL) is
`pwreset.console.admin_requests`' choice. Either way the record's wrong answers are
forgotten and an `admin` audit event names the console user.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from pwreset.cli.options import config_of
from pwreset.console.admin_requests import lift_lockout
from pwreset.console.command import EXIT_PROBLEM
from pwreset.protocol.client import ServerUnreachable


def run(args: argparse.Namespace) -> int:
    config = config_of(args)
    domain = config.domain(args.domain)
    if domain is None:
        known = ", ".join(d.name for d in config.domains) or "none"
        print(f"pwreset: no domain {args.domain!r} in the configuration ({known})", file=sys.stderr)
        return EXIT_PROBLEM
    where = f"{domain.name}\\{args.user}"
    try:
        lifted = lift_lockout(config, domain.name, args.user, f"console:{getpass.getuser()}")
    except ServerUnreachable as exc:
        print(f"pwreset: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    if lifted:
        print(f"{where}: pwreset's lockout lifted and wrong answers forgotten")
    else:
        print(f"{where}: was not locked out by pwreset; nothing to do")
    return 0
