"""Exports of the console's filtered rows: CSV, JSON, HTML and XLSX (openpyxl, the `xlsx`
extra), and the file writing they share with the activity charts.

A file is built in memory and written by atomic rename, so a failed export never leaves a
half-written file or clobbers the previous one. Text that a spreadsheet would run as a
formula (a user name such as `=HYPERLINK(...)`) is written as text.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pwreset.console.command import ConsoleError
from pwreset.server.report_files import csv_bytes, formula_safe, html_bytes
from pwreset.server.storage.durable import write_atomic
from pwreset.server.storage.query import Column, display

FORMATS = ("csv", "json", "html", "xlsx")


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
    write_output(path, render_export(columns, rows, fmt, title), "export", mode=0o600)
    return fmt


def render_export(
    columns: Sequence[Column], rows: Sequence[dict[str, Any]], fmt: str, title: str = ""
) -> bytes:
    """The export file's bytes in `fmt` (one of FORMATS); the web console sends them."""
    render = {"csv": _csv, "json": _json, "html": html_bytes, "xlsx": _xlsx}[fmt]
    return render(columns, rows, title)


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


def _csv(columns: Sequence[Column], rows: Sequence[dict[str, Any]], title: str) -> bytes:
    return csv_bytes(columns, rows)


def _json_value(value: Any, kind: str) -> Any:
    if kind == "time" and value is not None:
        return datetime.fromtimestamp(float(value)).astimezone().isoformat(timespec="seconds")
    return value


def _json(columns: Sequence[Column], rows: Sequence[dict[str, Any]], title: str) -> bytes:
    items = [{c.name: _json_value(row.get(c.name), c.kind) for c in columns} for row in rows]
    return (json.dumps(items, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


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
                cells.append(formula_safe(display(value, c.kind)))
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
