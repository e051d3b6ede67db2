"""`pwreset stats` (the Recent Activity chart) against real data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from support.console_instance import Instance


def test_stats_chart_counts_successes_per_day(
    instance: Instance, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    svg, page = tmp_path / "chart.svg", tmp_path / "chart.html"
    assert instance.run("stats", "--days", "7", "--svg", str(svg), "--html", str(page)) == 0
    out = capsys.readouterr().out.splitlines()
    today = next(line for line in out if line.startswith(date.today().isoformat()))
    # alice reset + carol enroll + dave change today; the failed reset is not counted
    assert today.split()[-4:] == ["1", "1", "0", "1"]
    assert out[-3].split() == ["total", "4", "2", "0", "1"]  # alice enrolled 10 days ago
    assert svg.read_text().startswith("<svg") and "</svg>" in svg.read_text()
    assert "<table>" in page.read_text()


def test_stats_bad_arguments(
    instance: Instance, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert instance.run("stats", "--date", "someday") == 2
    assert "--date: 'someday' is not today" in capsys.readouterr().err
    assert instance.run("stats", "--svg", str(tmp_path / "no" / "c.svg")) == 1
    assert "the folder" in capsys.readouterr().err
