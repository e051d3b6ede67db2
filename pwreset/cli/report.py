"""`pwreset report NAME`: one of the admins' reports, as a table, CSV or HTML.

The reports are the server's (`pwreset.server.reports`): three read the directory, two the
audit log. This command reads both (the store read-only, also while the server runs).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from pwreset.cli.notices import directories_and_store
from pwreset.cli.options import add_config_option, config_of
from pwreset.config.report_settings import REPORT_NAMES

_COMMAND = "pwreset report"


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "report",
        help="a report: not-enrolled, expiring, locked, activity or failed-by-address",
        description="not-enrolled: users who may enroll and have not; expiring: passwords "
        "expiring within --days; locked: users the directory holds locked out now; activity: "
        "self-service outcomes per site, domain and flow over the last --days; "
        "failed-by-address: failed attempts per client address over the last --days",
    )
    parser.add_argument("name", choices=REPORT_NAMES, metavar="NAME",
                        help=", ".join(REPORT_NAMES))  # fmt: skip
    parser.add_argument("--domain", default="", help="only this domain")
    parser.add_argument("--ou", default="", metavar="DN",
                        help="only users under this container (directory reports)")  # fmt: skip
    parser.add_argument("--group", default="", metavar="GROUP",
                        help="only members of GROUP, nested too (directory reports)")  # fmt: skip
    parser.add_argument("--days", type=_days, default=7, metavar="N",
                        help="days looked back (activity, failed-by-address) or ahead "
                        "(expiring); default 7")  # fmt: skip
    parser.add_argument("--format", choices=("table", "csv", "html"), default="table",
                        help="table (default; rich on a terminal), csv or html")  # fmt: skip
    parser.add_argument("--output", "-o", type=Path, metavar="FILE",
                        help="write to FILE instead of standard output")  # fmt: skip
    add_config_option(parser)
    parser.set_defaults(run=run)


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if not 1 <= days <= 366:
        raise argparse.ArgumentTypeError(f"{days} is not between 1 and 366")
    return days


def run(args: argparse.Namespace) -> int:
    from pwreset.console.exports import ExportError, write_output
    from pwreset.console.table import grid
    from pwreset.server.reports import Reports, Scope, rendered, unreachable_note

    config = config_of(args)
    if args.domain and not any(d.matches(args.domain) for d in config.domains):
        known = ", ".join(d.name for d in config.domains)
        print(f"{_COMMAND}: no domain {args.domain!r} is configured ({known})", file=sys.stderr)
        return 2
    with directories_and_store(config, _COMMAND, read_only=True) as opened:
        if opened is None:
            return 2
        directories, db, _ = opened
        reports = Reports(config, directories, db.users, db.audit)
        now = time.time()
        scope = Scope(domain=args.domain, ou=args.ou, group=args.group, days=args.days)
        report = reports.run(args.name, scope, now)
    note = unreachable_note(report)
    if note:
        print(f"{_COMMAND}: {note}", file=sys.stderr)
    if args.format == "table":
        if args.output is None and sys.stdout.isatty() and _rich_table(report):
            return 1 if report.unreachable else 0
        data = (f"{report.title}: {len(report.rows)} rows\n\n"
                + grid(report.columns, report.rows)).encode("utf-8")  # fmt: skip
    else:
        data = rendered(report, args.format, now)
    if args.output is None:
        sys.stdout.buffer.write(data)
    else:
        try:
            write_output(args.output, data, "report", mode=0o600)
        except ExportError as exc:
            print(f"{_COMMAND}: {exc}", file=sys.stderr)
            return 1
        print(f"{args.output}: {report.title}, {len(report.rows)} rows")
    return 1 if report.unreachable else 0


def _rich_table(report: Any) -> bool:
    """Show `report` as a rich table; False when rich is not installed."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        return False
    from pwreset.protocol.printable import escape
    from pwreset.server.storage.query import display

    table = Table(title=f"{report.title}: {len(report.rows)} rows")
    for column in report.columns:
        table.add_column(column.title, justify="right" if column.kind == "number" else "left")
    for row in report.rows:
        # Directory text may hold anything: no raw control reaches the terminal.
        table.add_row(*(escape(display(row.get(c.name), c.kind)) for c in report.columns))
    Console().print(table, markup=False)
    return True
