"""`pwreset stats`: the Recent Activity tab, successful flows per day as a bar chart."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pwreset.cli.options import add_config_option, config_of
from pwreset.server.storage.activity import html_chart, span_of, svg_chart, tally, terminal_chart
from pwreset.server.storage.console import open_view, reports_errors
from pwreset.server.storage.durable import write_atomic
from pwreset.server.storage.exports import ExportError
from pwreset.server.storage.query import FilterError, date_range


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "stats", help="successful enroll, reset, unlock and change per day, as a chart"
    )
    add_config_option(parser)
    span = parser.add_mutually_exclusive_group()
    span.add_argument(
        "--days", type=int, default=14, metavar="N", help="the last N days (default 14)"
    )
    span.add_argument("--date", metavar="RANGE", help="today, yesterday, last7 or DAY..DAY")
    parser.add_argument("--html", type=Path, metavar="FILE", help="also write an HTML chart")
    parser.add_argument("--svg", type=Path, metavar="FILE", help="also write an SVG chart")
    parser.set_defaults(run=_run)


def _days(args: argparse.Namespace) -> tuple[date, date]:
    if args.date:
        span = date_range(args.date)
        if span.start is None or span.end is None:
            raise FilterError(f"--date: {args.date!r} needs both a first and a last day")
        first = datetime.fromtimestamp(span.start).date()
        return first, datetime.fromtimestamp(span.end).date() - timedelta(days=1)
    if not 1 <= args.days <= 3660:
        raise FilterError(f"--days: {args.days} is not between 1 and 3660")
    return span_of(args.days)


def _write(path: Path, text: str) -> None:
    if not path.parent.is_dir():
        raise ExportError(
            f"{path}: cannot write the chart: the folder {path.parent} does not exist"
        )
    try:
        write_atomic(path, [text.encode("utf-8")], mode=0o644)
    except OSError as exc:
        raise ExportError(f"{path}: cannot write the chart ({exc.strerror})") from None


@reports_errors
def _run(args: argparse.Namespace) -> int:
    config = config_of(args)
    first, last = _days(args)
    since = datetime(first.year, first.month, first.day).timestamp()
    after = last + timedelta(days=1)
    until = datetime(after.year, after.month, after.day).timestamp()
    db = open_view(config)
    try:
        activity = tally(db.audit.query(since=since, until=until), first, last)
    finally:
        db.close()
    title = f"pwreset: successful flows per day, {first} to {last}"
    sys.stdout.write(terminal_chart(activity))
    if args.html:
        _write(args.html, html_chart(activity, title))
        print(f"{args.html}: HTML chart written")
    if args.svg:
        _write(args.svg, svg_chart(activity, title))
        print(f"{args.svg}: SVG chart written")
    return 0
