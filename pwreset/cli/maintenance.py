"""`pwreset maintenance on|off|status`: while on, the enrollment-status API answers `{}`
(apr checklist 109), e.g. while the directory or the database is being worked on. The
running server reads the marker on every request: no restart."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from pwreset.cli.options import add_config_option, config_of

_MAX_MESSAGE = 500


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "maintenance", help="set, clear or show maintenance mode"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    on = actions.add_parser("on", help="start maintenance: the enrollment-status API says {}")
    on.add_argument("--message", default="", help="a note for other admins, shown by status")
    actions.add_parser("off", help="end maintenance: normal service")
    actions.add_parser("status", help="show whether maintenance is on, since when and why")
    for action in actions.choices.values():
        add_config_option(action)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pwreset.server.flows.meta import maintenance_marker
    from pwreset.server.storage.durable import fsync_dir, write_atomic

    config = config_of(args)
    marker = maintenance_marker(config)
    if not marker.parent.is_dir():
        print(
            f"pwreset: no data folder at {marker.parent}: is {args.config} the configuration "
            "of the server's instance?",
            file=sys.stderr,
        )
        return 2
    if args.action == "on":
        message = " ".join(args.message.split())  # one line, whatever the shell passed
        if len(message) > _MAX_MESSAGE:
            print(f"pwreset: the message is longer than {_MAX_MESSAGE} characters", file=sys.stderr)
            return 2
        write_atomic(marker, [message.encode()])
        print(f"maintenance on ({marker})")
    elif args.action == "off":
        marker.unlink(missing_ok=True)
        fsync_dir(marker.parent)
        print("maintenance off")
    else:
        _print_status(marker)
    return 0


def _print_status(marker: Path) -> None:
    try:
        since = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(marker.stat().st_mtime))
        message = marker.read_text(encoding="utf-8", errors="replace").strip()
    except FileNotFoundError:
        print("maintenance off")
        return
    print(f"maintenance on since {since}" + (f": {message}" if message else ""))
