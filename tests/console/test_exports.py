"""`pwreset users|audit export`: the file formats, and XLSX as an optional extra."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from support.console_instance import Instance


@pytest.mark.parametrize("suffix", ["csv", "json", "html", "xlsx"])
def test_export_writes_only_the_filtered_rows(
    instance: Instance, capsys: pytest.CaptureFixture[str], tmp_path: Path, suffix: str
) -> None:
    target = tmp_path / f"users.{suffix}"
    assert (
        instance.run("users", "export", str(target), "--domain", "CORP", "--sort", "username") == 0
    )
    assert capsys.readouterr().out == f"{target}: 2 users written as {suffix}\n"
    if suffix == "csv":
        rows = list(csv.reader(target.read_text(encoding="utf-8-sig").splitlines()))
        assert rows[0][:3] == ["User", "Domain", "E-mail"]
        assert [r[0] for r in rows[1:]] == ["'=cmd", "carol"]  # no formula injection
    elif suffix == "json":
        rows = json.loads(target.read_text())
        assert [r["username"] for r in rows] == ["=cmd", "carol"]
        assert rows[1]["last_enroll"].startswith(str(rows[1]["last_enroll"])[:4])
    elif suffix == "html":
        text = target.read_text()
        assert "<td>carol</td>" in text and "2 rows" in text
    else:
        sheet = load_workbook(target).active
        assert sheet is not None
        values = [[cell.value for cell in row] for row in sheet.iter_rows()]
        assert values[0][:2] == ["User", "Domain"]
        assert [v[0] for v in values[1:]] == ["'=cmd", "carol"]
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_export_errors_leave_nothing_behind(
    instance: Instance, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert instance.run("users", "export", str(tmp_path / "missing" / "u.csv")) == 1
    assert capsys.readouterr().err == (
        f"pwreset: {tmp_path / 'missing' / 'u.csv'}: cannot write the export: "
        f"the folder {tmp_path / 'missing'} does not exist\n"
    )
    assert instance.run("users", "export", str(tmp_path / "u.txt")) == 1
    assert "cannot tell the export format from 'txt'" in capsys.readouterr().err
    existing = tmp_path / "keep.csv"
    existing.write_text("previous export\n")
    assert instance.run("users", "export", str(existing), "--where", "bogus=1") == 2
    assert existing.read_text() == "previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inst", "keep.csv"]  # no temp files


def test_xlsx_without_openpyxl_says_how_to_install_it(
    instance: Instance,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # as if the extra were not installed
    target = tmp_path / "users.xlsx"
    assert instance.run("users", "export", str(target)) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "pwreset: XLSX export needs the openpyxl package, which is not installed: "
        "pip install 'pwreset[xlsx]' (or export .csv, .json or .html)\n"
    )
    assert captured.out == ""
    assert not target.exists()
    assert instance.run("audit", "export", str(tmp_path / "audit.csv")) == 0  # the rest works


def test_server_and_relay_run_without_the_console_or_openpyxl() -> None:
    """The server and the relay never import the Data Console, so a server installed
    without the xlsx extra (no openpyxl) starts."""
    script = """
import importlib, pkgutil, sys
sys.modules["openpyxl"] = None
import pwreset.api, pwreset.server
for package in (pwreset.api, pwreset.server):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
print(sorted(name for name in sys.modules if name.startswith("pwreset.console")))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"
