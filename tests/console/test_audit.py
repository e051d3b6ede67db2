"""`pwreset audit list|export` against real data."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from support.console_instance import Instance


def _column(out: str, index: int) -> list[str]:
    return [line.split()[index] for line in out.splitlines()[2:-1]]


def test_audit_list_filters_and_sorts(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    assert instance.run("audit", "list", "--type", "failure") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:4] == ["Type", "Date", "Time", "Source"]
    assert _column(out, 4) == ["bob", "alice"]  # in time order
    assert (
        instance.run("audit", "list", "--source", "reset", "--user", "a*", "--event", "*reset") == 0
    )
    assert _column(capsys.readouterr().out, 4) == ["alice"]
    assert instance.run("audit", "list", "--date", "today", "--sort", "user") == 0
    assert _column(capsys.readouterr().out, 4) == ["alice", "alice", "carol", "dave"]
    assert instance.run("audit", "list", "--ip", "10.0.0.?", "--limit", "2", "--sort", "time") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "2 shown, 9 matching events"


def test_audit_from_to(instance: Instance, capsys: pytest.CaptureFixture[str]) -> None:
    first = (date.today() - timedelta(days=3)).isoformat()
    last = (date.today() - timedelta(days=1)).isoformat()
    assert instance.run("audit", "list", "--from", first, "--to", last, "--sort", "user") == 0
    assert _column(capsys.readouterr().out, 4) == ["=cmd", "albert", "bob", "bob", "bob"]


def test_audit_bad_filter(instance: Instance, capsys: pytest.CaptureFixture[str]) -> None:
    assert instance.run("audit", "list", "--where", "colour=*") == 2
    assert capsys.readouterr().err.startswith(
        "pwreset: --where: unknown column 'colour'; the columns are: type, date, clock"
    )


def test_audit_export_json(
    instance: Instance, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "audit.json"
    assert instance.run("audit", "export", str(target), "--source", "change") == 0
    (row,) = json.loads(target.read_text())
    assert (row["type"], row["user"], row["event"]) == ("success", "dave", "password changed")
