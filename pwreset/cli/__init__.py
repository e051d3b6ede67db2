"""`pwreset`: one sub-command per module in this package, and the Data Console's commands
from `pwreset.console`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pwreset import __version__
from pwreset.cli import (
    build,
    demo,
    deploy,
    init,
    maintenance,
    notices,
    policy,
    preview,
    reminders,
    report,
    server,
    themes,
    web,
)
from pwreset.cli.log_format import log_handler
from pwreset.config.errors import ConfigError
from pwreset.console import activity, audit, db, users
from pwreset.console.web import command as web_console

_COMMANDS = (
    init,
    build,
    server,
    maintenance,
    notices,
    reminders,
    report,
    web,
    deploy,
    demo,
    users,
    audit,
    activity,
    db,
    web_console,
    themes,
    preview,
    policy,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pwreset",
        description="Self-service password reset for Active Directory and LDAP.",
    )
    parser.add_argument("--version", action="version", version=f"pwreset {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in _COMMANDS:
        command.register(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        handlers=[log_handler(logging.StreamHandler(), getattr(args, "log_format", "text"))],
    )
    try:
        result: int = args.run(args)
        return result
    except ConfigError as exc:
        print("pwreset: the configuration has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
