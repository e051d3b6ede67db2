"""What the Data Console commands share: where the data is, how they open it, their filter
options, the text grid, and one way of reporting errors.

Reading commands (`list`, `show`, `export`, `stats`, `db check`, `db backup`) open the files
read-only without the owner lock, so they are safe beside a running server. Commands that
write (`users delete`, `users purge`, `db restore|compact|move|rotate-key`) need the owner
lock and refuse, naming the server's pid, while it runs: the server is the only writer.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pwreset.config.schema import Config
from pwreset.protocol.errors import KeyFileError
from pwreset.protocol.keys import read_secret_key
from pwreset.protocol.printable import escape
from pwreset.server.storage.database import Database
from pwreset.server.storage.errors import StorageError
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

EXIT_PROBLEM = 1  # the data or the environment
EXIT_USAGE = 2  # what the admin typed


def data_dir(config: Config) -> Path:
    return config.path(config.server.data_dir)


def data_key(config: Config) -> bytes:
    return read_secret_key(config.path(config.server.data_key_file))


def open_view(config: Config, *, with_key: bool = False) -> Database:
    return Database.open_readonly(data_dir(config), data_key=data_key(config) if with_key else None)


def open_owner(config: Config) -> Database:
    return Database.open(
        data_dir(config),
        data_key=data_key(config),
        audit_retention_days=config.storage.audit_retention_days,
        compact_min_records=config.storage.compact_min_records,
    )


def reports_errors(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn the storage family's errors into one stderr line and an exit status."""

    @functools.wraps(run)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except FilterError as exc:
            print(f"pwreset: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except (StorageError, KeyFileError) as exc:
            print(f"pwreset: {exc}", file=sys.stderr)
            return EXIT_PROBLEM

    return wrapper


def add_filter_options(
    parser: argparse.ArgumentParser,
    shortcuts: dict[str, str],
    *,
    date_column_choice: bool,
) -> None:
    """`--where COLUMN=PATTERN`, one shortcut option per common column, dates and sort."""
    group = parser.add_argument_group("filters (ANDed; * and ? are wildcards)")
    for option, name in shortcuts.items():
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
    if date_column_choice:
        group.add_argument(
            "--date-column",
            default="last_enroll",
            metavar="COLUMN",
            help="the column --date/--from/--to apply to (default last_enroll)",
        )
    parser.add_argument(
        "--sort",
        action="append",
        default=[],
        metavar="COLUMN",
        help="sort by a column; --sort=-COLUMN or COLUMN:desc descends (repeatable)",
    )


def row_filter(
    args: argparse.Namespace, columns: Sequence[Column], default_date_column: str
) -> RowFilter:
    rows = RowFilter(columns)
    for key, value in vars(args).items():
        if key.startswith("filter_") and value is not None:
            rows.where(key.removeprefix("filter_"), value, f"--{key.removeprefix('filter_')}")
    for text in args.where:
        name, pattern = parse_where(text)
        rows.where(name, pattern)
    date_column = getattr(args, "date_column", default_date_column)
    if args.date:
        rows.within(date_column, date_range(args.date), "--date")
    if args.start or args.stop:
        span = TimeRange(
            moment(args.start, "--from", end_of_day=False) if args.start else None,
            moment(args.stop, "--to", end_of_day=True) if args.stop else None,
        )
        rows.within(date_column, span, "--from/--to")
    return rows


def select(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    args: argparse.Namespace,
    default_date_column: str,
) -> list[dict[str, Any]]:
    """The filtered, sorted rows, or FilterError naming the bad option."""
    keep = row_filter(args, columns, default_date_column)
    sort_rows([], columns, args.sort)  # check the sort keys even when nothing matches
    return sort_rows([r for r in rows if keep.matches(r)], columns, args.sort)


def chosen_columns(columns: Sequence[Column], names: str | None) -> list[Column]:
    if not names:
        return [c for c in columns if c.shown]
    by_name = {c.name: c for c in columns}
    chosen = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if name not in by_name:
            known = ", ".join(by_name)
            raise FilterError(f"--columns: unknown column {name!r}; the columns are: {known}")
        chosen.append(by_name[name])
    return chosen


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
