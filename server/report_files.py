"""Rows as CSV and HTML files: the Data Console's exports and the reports' attachments."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

from pwreset.server.storage.query import Column, display

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: str) -> str:
    """Text a spreadsheet would run as a formula (a name such as `=HYPERLINK(...)`) is
    written as text."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_bytes(columns: Sequence[Column], rows: Sequence[Mapping[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.title for c in columns])
    for row in rows:
        writer.writerow([formula_safe(display(row.get(c.name), c.kind)) for c in columns])
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def html_bytes(
    columns: Sequence[Column], rows: Sequence[Mapping[str, Any]], title: str, note: str = ""
) -> bytes:
    esc = html.escape
    head = "".join(f"<th>{esc(c.title)}</th>" for c in columns)
    body = "\n".join(
        "<tr>"
        + "".join(f"<td>{esc(display(row.get(c.name), c.kind))}</td>" for c in columns)
        + "</tr>"
        for row in rows
    )
    extra = f"<p>{esc(note)}</p>" if note else ""
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>body{{font-family:system-ui,sans-serif}}table{{border-collapse:collapse}}
th,td{{border:1px solid #ccc;padding:.2em .5em;text-align:left}}th{{background:#eee}}</style>
</head><body><h1>{esc(title)}</h1><p>{len(rows)} rows</p>{extra}
<table><thead><tr>{head}</tr></thead><tbody>
{body}
</tbody></table></body></html>
"""
    return page.encode("utf-8")
