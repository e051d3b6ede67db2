"""`pwreset audit list|export`: the Data Console's Audit Log tab."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pwreset.cli.options import config_of
from pwreset.config.schema import Config
from pwreset.console.command import command_group, open_view
from pwreset.console.table import Rows, Table, add_export, add_list, grid
from pwreset.server.storage.query import AUDIT_COLUMNS, audit_row


def _rows(config: Config, args: argparse.Namespace) -> Rows:
    """The filtered, sorted audit rows; a date range limits which day segments are read."""
    span = AUDIT.row_filter(args).ranges.get("time")
    db = open_view(config)
    try:
        events = db.audit.query(
            since=span.start if span else None, until=span.end if span else None
        )
        return AUDIT.select([audit_row(e) for e in events], args)
    finally:
        db.close()


AUDIT = Table(
    noun="events",
    title="pwreset audit log",
    columns=AUDIT_COLUMNS,
    shortcuts={
        "type": "type",
        "source": "source",
        "user": "user",
        "domain": "domain",
        "event": "event",
        "ip": "ip",
        "web-user": "web_user",
    },
    date_column="time",
    date_column_choice=False,
    columns_help="columns to show or export",
    load=_rows,
)


def register(sub: Any) -> None:
    actions = command_group(sub, "audit", "list or export the audit log (every flow outcome)")
    add_list(actions, AUDIT, _list, "show only the last N matching rows")
    add_export(actions, AUDIT)


def _list(args: argparse.Namespace) -> int:
    config = config_of(args)
    columns = AUDIT.chosen_columns(args)
    rows = _rows(config, args)
    shown = rows[-args.limit :] if args.limit > 0 else rows
    sys.stdout.write(grid(columns, shown, width=60))
    print(f"{len(shown)} shown, {len(rows)} matching events")
    return 0
