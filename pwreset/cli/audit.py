"""`pwreset audit list|export`: the Data Console's Audit Log tab."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pwreset.cli.options import add_config_option, config_of
from pwreset.config.schema import Config
from pwreset.server.storage.console import (
    add_filter_options,
    chosen_columns,
    grid,
    open_view,
    reports_errors,
    row_filter,
    select,
)
from pwreset.server.storage.exports import FORMATS, write_export
from pwreset.server.storage.query import AUDIT_COLUMNS, audit_row

_SHORTCUTS = {
    "type": "type",
    "source": "source",
    "user": "user",
    "domain": "domain",
    "event": "event",
    "ip": "ip",
    "web-user": "web_user",
}


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "audit", help="list or export the audit log (every flow outcome)"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="the events matching the filters, as a table")
    _common(listing)
    listing.add_argument(
        "--limit", type=int, default=0, metavar="N", help="show only the last N matching rows"
    )
    listing.set_defaults(run=_list)

    export = actions.add_parser("export", help="write the matching events to a file")
    export.add_argument("file", type=Path, metavar="FILE", help=".csv, .json, .html or .xlsx")
    export.add_argument("--format", choices=FORMATS)
    _common(export)
    export.set_defaults(run=_export)


def _common(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    add_filter_options(parser, _SHORTCUTS, date_column_choice=False)
    parser.add_argument("--columns", metavar="A,B,...", help="columns to show or export")


def rows_of(config: Config, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The filtered, sorted audit rows; a date range limits which day segments are read."""
    span = row_filter(args, AUDIT_COLUMNS, "time").ranges.get("time")
    db = open_view(config)
    try:
        events = db.audit.query(
            since=span.start if span else None, until=span.end if span else None
        )
        return select([audit_row(e) for e in events], AUDIT_COLUMNS, args, "time")
    finally:
        db.close()


@reports_errors
def _list(args: argparse.Namespace) -> int:
    config = config_of(args)
    columns = chosen_columns(AUDIT_COLUMNS, args.columns)
    rows = rows_of(config, args)
    shown = rows[-args.limit :] if args.limit > 0 else rows
    sys.stdout.write(grid(columns, shown, width=60))
    print(f"{len(shown)} shown, {len(rows)} matching events")
    return 0


@reports_errors
def _export(args: argparse.Namespace) -> int:
    config = config_of(args)
    columns = chosen_columns(AUDIT_COLUMNS, args.columns)
    rows = rows_of(config, args)
    fmt = write_export(args.file, columns, rows, fmt=args.format, title="pwreset audit log")
    print(f"{args.file}: {len(rows)} events written as {fmt}")
    return 0
