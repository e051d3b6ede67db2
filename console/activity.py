"""`pwreset stats`, the Recent Activity tab: successful enroll, reset, unlock and change
events per day, as a terminal bar chart and as a standalone SVG or HTML chart."""

from __future__ import annotations

import argparse
import html
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pwreset.cli.options import config_of
from pwreset.console.command import add_action, open_view
from pwreset.console.exports import write_output
from pwreset.server.storage import AuditEvent
from pwreset.server.storage.query import FilterError, date_range

FLOWS = ("enroll", "reset", "unlock", "change")
COLOURS = {"enroll": "#2b6cb0", "reset": "#2f855a", "unlock": "#c05621", "change": "#6b46c1"}
_MARKS = {"enroll": "E", "reset": "R", "unlock": "U", "change": "C"}


def register(sub: Any) -> None:
    parser = add_action(
        sub, "stats", "successful enroll, reset, unlock and change per day, as a chart", _run
    )
    span = parser.add_mutually_exclusive_group()
    span.add_argument(
        "--days", type=int, default=14, metavar="N", help="the last N days (default 14)"
    )
    span.add_argument("--date", metavar="RANGE", help="today, yesterday, last7 or DAY..DAY")
    parser.add_argument("--html", type=Path, metavar="FILE", help="also write an HTML chart")
    parser.add_argument("--svg", type=Path, metavar="FILE", help="also write an SVG chart")


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
    for path, chart, kind in ((args.html, html_chart, "HTML"), (args.svg, svg_chart, "SVG")):
        if path:
            write_output(path, chart(activity, title).encode("utf-8"), "chart", mode=0o644)
            print(f"{path}: {kind} chart written")
    return 0


def _days(args: argparse.Namespace) -> tuple[date, date]:
    if args.date:
        span = date_range(args.date)
        if span.start is None or span.end is None:
            raise FilterError(f"--date: {args.date!r} needs both a first and a last day")
        first = datetime.fromtimestamp(span.start).date()
        return first, datetime.fromtimestamp(span.end).date() - timedelta(days=1)
    if not 1 <= args.days <= 3660:
        raise FilterError(f"--days: {args.days} is not between 1 and 3660")
    last = date.today()
    return last - timedelta(days=args.days - 1), last


@dataclass
class Activity:
    """Counts per (local) day and flow over an inclusive span of days."""

    first: date
    last: date
    counts: dict[date, dict[str, int]] = field(default_factory=dict)

    def days(self) -> list[date]:
        span = (self.last - self.first).days + 1
        return [self.first + timedelta(days=i) for i in range(max(span, 0))]

    def count(self, day: date, flow: str) -> int:
        return self.counts.get(day, {}).get(flow, 0)

    def total(self, day: date) -> int:
        return sum(self.counts.get(day, {}).values())


def tally(events: Iterable[AuditEvent], first: date, last: date) -> Activity:
    activity = Activity(first, last)
    for event in events:
        if event.type != "success" or event.source not in FLOWS:
            continue
        day = datetime.fromtimestamp(event.time).date()
        if first <= day <= last:
            per_day = activity.counts.setdefault(day, {})
            per_day[event.source] = per_day.get(event.source, 0) + 1
    return activity


def terminal_chart(activity: Activity, width: int = 50) -> str:
    """One line per day: a stacked bar (E R U C) scaled to the busiest day, then counts."""
    peak = max((activity.total(d) for d in activity.days()), default=0)
    lines = ["day         " + "  ".join(f"{_MARKS[f]}={f}" for f in FLOWS)]
    for day in activity.days():
        bar = ""
        for flow in FLOWS:
            n = activity.count(day, flow)
            cells = round(n * width / peak) if peak else 0
            bar += _MARKS[flow] * (max(cells, 1) if n else 0)
        counts = " ".join(f"{activity.count(day, f):>4}" for f in FLOWS)
        lines.append(f"{day.isoformat()}  {bar:<{width + len(FLOWS)}} {counts}")
    totals = " ".join(f"{sum(activity.count(d, f) for d in activity.days()):>4}" for f in FLOWS)
    lines.append(f"{'total':<12}{'':<{width + len(FLOWS)}} {totals}")
    return "\n".join(lines) + "\n"


def svg_chart(
    activity: Activity, title: str = "Recent activity", labels: Mapping[str, str] | None = None
) -> str:
    """Grouped bars per day, one colour per flow, with a legend (each flow's name in
    `labels`, if given); no scripts, no fonts."""
    names = {flow: html.escape((labels or {}).get(flow, flow)) for flow in FLOWS}
    days = activity.days()
    group, bar, height, left, top = 4 * 9 + 10, 9, 220, 40, 40
    peak = max((activity.count(d, f) for d in days for f in FLOWS), default=0) or 1
    chart_width = left + len(days) * group + 20
    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{chart_width}"'
        f' height="{top + height + 60}"'
        f' role="img" aria-label="{html.escape(title)}" font-family="sans-serif" font-size="11">',
        f"<title>{html.escape(title)}</title>",
        f'<text x="{left}" y="18" font-size="14">{html.escape(title)}</text>',
        f'<line x1="{left}" y1="{top + height}" x2="{chart_width - 10}" y2="{top + height}"'
        ' stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{peak}</text>',
    ]
    for i, day in enumerate(days):
        x0 = left + i * group + 5
        for j, flow in enumerate(FLOWS):
            n = activity.count(day, flow)
            h = round(n * height / peak)
            parts.append(
                f'<rect x="{x0 + j * bar}" y="{top + height - h}" width="{bar - 1}" height="{h}"'
                f' fill="{COLOURS[flow]}">'
                f"<title>{day.isoformat()} {names[flow]}: {n}</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + 2 * bar}" y="{top + height + 14}" text-anchor="middle">'
            f"{day.strftime('%m-%d')}</text>"
        )
    for j, flow in enumerate(FLOWS):
        x = left + j * 90
        parts.append(
            f'<rect x="{x}" y="{top + height + 30}" width="10" height="10" fill="{COLOURS[flow]}"/>'
            f'<text x="{x + 14}" y="{top + height + 39}">{names[flow]}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def html_chart(activity: Activity, title: str = "Recent activity") -> str:
    rows = "\n".join(
        "<tr><td>"
        + day.isoformat()
        + "</td>"
        + "".join(f"<td>{activity.count(day, f)}</td>" for f in FLOWS)
        + "</tr>"
        for day in activity.days()
    )
    head = "".join(f"<th>{f}</th>" for f in FLOWS)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif}}table{{border-collapse:collapse}}
th,td{{border:1px solid #ccc;padding:.2em .5em;text-align:right}}</style></head><body>
{svg_chart(activity, title)}
<table><thead><tr><th>day</th>{head}</tr></thead><tbody>
{rows}
</tbody></table></body></html>
"""
