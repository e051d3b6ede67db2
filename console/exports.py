"""Exports of the console's filtered rows: CSV, JSON, HTML and XLSX (openpyxl, the `xlsx`
extra), and the file writing they share with the activity charts.

A file is built in memory and written by atomic rename, so a failed export never leaves a
half-written file or clobbers the previous one. Text that a spreadsheet would run as a
formula (a user name such as `=HYPERLINK(...)`) is written as text.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pwreset.console.command import ConsoleError
from pwreset.server.storage.durable import write_atomic
from pwreset.server.storage.query import Column, display

FORMATS = ("csv", "json", "html", "xlsx")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportError(ConsoleError):
    code = "export_failed"


def export_format(path: Path, given: str | None) -> str:
    fmt = (given or path.suffix.lstrip(".")).lower()
    if fmt == "htm":
        fmt = "html"
    if fmt not in FORMATS:
        raise ExportError(
            f"{path}: cannot tell the export format from {fmt or 'no suffix'!r}; "
            f"use a .csv, .json, .html or .xlsx name or --format ({', '.join(FORMATS)})"
        )
    return fmt


def write_export(
    path: Path,
    columns: Sequence[Column],
    rows: Sequence[dict[str, Any]],
    *,
    fmt: str | None = None,
    title: str = "",
) -> str:
    """Write `rows` (only `columns`) to `path`; returns the format used."""
    fmt = export_format(path, fmt)
    render = {"csv": _csv, "json": _json, "html": _html, "xlsx": _xlsx}[fmt]
    write_output(path, render(columns, rows, title), "export", mode=0o600)
    return fmt


def write_output(path: Path, data: bytes, what: str, *, mode: int) -> None:
    """`data` to `path` by atomic rename; ExportError says why not, naming `what` it is."""
    if not path.parent.is_dir():
        raise ExportError(
            f"{path}: cannot write the {what}: the folder {path.parent} does not exist"
        )
    if path.is_dir():
        raise ExportError(f"{path}: cannot write the {what}: it is a folder")
    try:
        write_atomic(path, [data], mode=mode)
    except OSError as exc:
        raise ExportError(f"{path}: cannot write the {what} ({exc.strerror})") from None


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv(columns: Sequence[Column], rows: Sequence[dict[str, Any]], title: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.title for c in columns])
    for row in rows:
        writer.writerow([_text(display(row.get(c.name), c.kind)) for c in columns])
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def _json_value(value: Any, kind: str) -> Any:
    if kind == "time" and value is not None:
        return datetime.fromtimestamp(float(value)).astimezone().isoformat(timespec="seconds")
    return value


def _json(columns: Sequence[Column], rows: Sequence[dict[str, Any]], title: str) -> bytes:
    items = [{c.name: _json_value(row.get(c.name), c.kind) for c in columns} for row in rows]
    return (json.dumps(items, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def _html(columns: Sequence[Column], rows: Sequence[dict[str, Any]], title: str) -> bytes:
    esc = html.escape
    head = "".join(f"<th>{esc(c.title)}</th>" for c in columns)
    body = "\n".join(
        "<tr>"
        + "".join(f"<td>{esc(display(row.get(c.name), c.kind))}</td>" for c in columns)
        + "</tr>"
        for row in rows
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>body{{font-family:system-ui,sans-serif}}table{{border-collapse:collapse}}
th,td{{border:1px solid #ccc;padding:.2em .5em;text-align:left}}th{{background:#eee}}</style>
</head><body><h1>{esc(title)}</h1><p>{len(rows)} rows</p>
<table><thead><tr>{head}</tr></thead><tbody>
{body}
</tbody></table></body></html>
"""
    return page.encode("utf-8")


def _xlsx(columns: Sequence[Column], rows: Sequence[dict[str, Any]], title: str) -> bytes:
    try:
        from openpyxl import Workbook  # type: ignore[import-untyped]
    except ImportError as exc:  # an optional extra: say how to get it, not a traceback
        raise ExportError(
            f"XLSX export needs the {exc.name or 'openpyxl'} package, which is not installed: "
            "pip install 'pwreset[xlsx]' (or export .csv, .json or .html)"
        ) from None

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=(title or "export")[:31])
    sheet.append([c.title for c in columns])
    for row in rows:
        cells: list[Any] = []
        for c in columns:
            value = row.get(c.name)
            if c.kind == "time" and value is not None:
                cells.append(datetime.fromtimestamp(float(value)))
            elif c.kind in ("number", "bool") and value is not None:
                cells.append(value)
            else:
                cells.append(_text(display(value, c.kind)))
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
