"""The console's tables (the Users and Audit Log tabs): the options that filter, sort and
pick columns, the rows they select, the text grid that shows them, and the `list` and
`export` actions both tabs have."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pwreset.cli.options import config_of
from pwreset.config.schema import Config
from pwreset.console.command import Run, add_action
from pwreset.console.exports import FORMATS, write_export
from pwreset.protocol.printable import escape
from pwreset.server.storage.query import (
    Column,
    FilterError,
    RowFilter,
    TimeRange,
    date_range,
    display,
    moment,
    parse_where,
    sort_rows,
)

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Table:
    """One tab's rows and how the admin narrows them down."""

    noun: str  # what a row is, plural: "users", "events"
    title: str  # of an export
    columns: Sequence[Column]
    shortcuts: dict[str, str]  # option -> column: `--user` filters `username`
    date_column: str  # the one --date/--from/--to apply to
    date_column_choice: bool  # whether --date-column may pick another
    columns_help: str
    load: Callable[[Config, argparse.Namespace], Rows]  # the selected rows, for export

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """`--where COLUMN=PATTERN`, one shortcut option per common column, dates, sort and
        the columns shown."""
        group = parser.add_argument_group("filters (ANDed; * and ? are wildcards)")
        for option, name in self.shortcuts.items():
            group.add_argument(f"--{option}", dest=f"filter_{name}", metavar="PATTERN")
        group.add_argument(
            "--where",
            action="append",
            default=[],
            metavar="COLUMN=PATTERN",
            help="any column, hidden ones too (repeatable)",
        )
        group.add_argument(
            "--date", metavar="RANGE", help="today, yesterday, last7, DAY or DAY..DAY (YYYY-MM-DD)"
        )
        group.add_argument("--from", dest="start", metavar="WHEN", help="YYYY-MM-DD[THH:MM]")
        group.add_argument("--to", dest="stop", metavar="WHEN", help="YYYY-MM-DD[THH:MM]")
        if self.date_column_choice:
            group.add_argument(
                "--date-column",
                default=self.date_column,
                metavar="COLUMN",
                help=f"the column --date/--from/--to apply to (default {self.date_column})",
            )
        parser.add_argument(
            "--sort",
            action="append",
            default=[],
            metavar="COLUMN",
            help="sort by a column; --sort=-COLUMN or COLUMN:desc descends (repeatable)",
        )
        parser.add_argument("--columns", metavar="A,B,...", help=self.columns_help)

    def row_filter(self, args: argparse.Namespace) -> RowFilter:
        rows = RowFilter(self.columns)
        for key, value in vars(args).items():
            if key.startswith("filter_") and value is not None:
                rows.where(key.removeprefix("filter_"), value, f"--{key.removeprefix('filter_')}")
        for text in args.where:
            name, pattern = parse_where(text)
            rows.where(name, pattern)
        date_column = args.date_column if self.date_column_choice else self.date_column
        if args.date:
            rows.within(date_column, date_range(args.date), "--date")
        if args.start or args.stop:
            span = TimeRange(
                moment(args.start, "--from", end_of_day=False) if args.start else None,
                moment(args.stop, "--to", end_of_day=True) if args.stop else None,
            )
            rows.within(date_column, span, "--from/--to")
        return rows

    def select(self, rows: Sequence[dict[str, Any]], args: argparse.Namespace) -> Rows:
        """The filtered, sorted rows, or FilterError naming the bad option."""
        keep = self.row_filter(args)
        sort_rows([], self.columns, args.sort)  # check the sort keys even when nothing matches
        return sort_rows([r for r in rows if keep.matches(r)], self.columns, args.sort)

    def chosen_columns(self, args: argparse.Namespace) -> list[Column]:
        if not args.columns:
            return [c for c in self.columns if c.shown]
        by_name = {c.name: c for c in self.columns}
        chosen = []
        for name in (n.strip() for n in args.columns.split(",") if n.strip()):
            if name not in by_name:
                known = ", ".join(by_name)
                raise FilterError(f"--columns: unknown column {name!r}; the columns are: {known}")
            chosen.append(by_name[name])
        return chosen


def add_list(actions: Any, table: Table, run: Run, limit_help: str) -> None:
    listing = add_action(actions, "list", f"the {table.noun} matching the filters, as a table", run)
    table.add_options(listing)
    listing.add_argument("--limit", type=int, default=0, metavar="N", help=limit_help)


def add_export(actions: Any, table: Table) -> None:
    def run(args: argparse.Namespace) -> int:
        config = config_of(args)
        columns = table.chosen_columns(args)
        rows = table.load(config, args)
        fmt = write_export(args.file, columns, rows, fmt=args.format, title=table.title)
        print(f"{args.file}: {len(rows)} {table.noun} written as {fmt}")
        return 0

    export = add_action(actions, "export", f"write the matching {table.noun} to a file", run)
    export.add_argument("file", type=Path, metavar="FILE", help=".csv, .json, .html or .xlsx")
    export.add_argument("--format", choices=FORMATS)
    table.add_options(export)


def grid(columns: Sequence[Column], rows: Sequence[dict[str, Any]], width: int = 40) -> str:
    """A plain text table; long cells are cut with an ellipsis, unsafe characters escaped."""
    cells = [[c.title for c in columns]]
    for row in rows:
        line = []
        for c in columns:
            # Stored text may hold what a user typed: no raw control reaches the terminal.
            text = escape(display(row.get(c.name), c.kind))
            line.append(text if len(text) <= width else text[: width - 1] + "…")
        cells.append(line)
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    out = [
        "  ".join(text.ljust(w) for text, w in zip(line, widths, strict=True)).rstrip()
        for line in cells
    ]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out) + "\n"
