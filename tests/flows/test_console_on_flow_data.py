"""The Data Console on data made by real flows (issue 5): lists, filters, exports and the
activity chart, read beside the running server."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

from openpyxl import load_workbook

from support.flowstack import PASSWORD


def _console(stack, *args):
    return subprocess.run(
        [sys.executable, "-m", "pwreset", *args, "-c", str(stack.instance / "pwreset.toml")],
        capture_output=True,
        text=True,
    )


def test_console_reads_what_the_flows_wrote(flows, user, tmp_path):
    """apr checklist 112, 113, 114, 117 on data from real flows"""
    stack = flows()
    assert stack.enroll(user, email=None).status_code == 200
    token = stack.answer_all("reset", user).json()["flow"]
    assert stack.step("reset", token, new_password="Console!Passw0rd-1").status_code == 200
    stack.enroll("nobody-here", password=PASSWORD)  # a failure in the audit log

    listed = _console(stack, "users", "list", "--user", f"{user[:3]}*")
    assert listed.returncode == 0, listed.stderr
    assert user in listed.stdout and stack.domain in listed.stdout

    out = tmp_path / "users.csv"
    assert _console(stack, "users", "export", str(out), "--user", user).returncode == 0
    (row,) = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert row["User"] == user and row["Last Reset"] and row["Last Enroll"]

    failures = _console(stack, "audit", "list", "--type", "failure", "--source", "enroll")
    assert "nobody-here" in failures.stdout and user not in failures.stdout

    events = tmp_path / "audit.json"
    assert _console(stack, "audit", "export", str(events), "--user", user).returncode == 0
    text = events.read_text()
    data = json.loads(text)
    rows = data if isinstance(data, list) else data.get("rows", [])
    assert {r["source"] for r in rows} >= {"enroll", "reset"}
    assert PASSWORD not in text and "Console!Passw0rd-1" not in text

    sheet = tmp_path / "audit.xlsx"
    assert _console(stack, "audit", "export", str(sheet)).returncode == 0
    values = [c.value for r in load_workbook(sheet).active.iter_rows() for c in r]
    assert user in values

    chart = tmp_path / "activity.svg"
    stats = _console(stack, "stats", "--svg", str(chart))
    assert stats.returncode == 0, stats.stderr
    assert "<svg" in chart.read_text()
    assert "enroll" in stats.stdout.lower() and "reset" in stats.stdout.lower()

    bad = _console(stack, "users", "list", "--where", "colour=red")
    assert bad.returncode == 2 and "unknown column 'colour'" in bad.stderr
