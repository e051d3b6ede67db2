"""Kill -9 during 500 concurrent enrollments, 10 rounds: nothing acknowledged is lost and the
store loads every time (issue 5, "Crash test")."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from crash_driver import KEY, enrollment

from pwreset.server.storage import Database

DRIVER = Path(__file__).with_name("crash_driver.py")
ROUNDS = 10
COUNT = 500


def _run_and_kill(data_dir: Path, round_no: int, after: int) -> list[str]:
    """Start the driver, SIGKILL it once `after` saves were acknowledged; every name it
    printed before dying."""
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER), str(data_dir), str(round_no), str(COUNT)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    acknowledged: list[str] = []
    for line in proc.stdout:
        acknowledged.append(line.strip())
        if len(acknowledged) >= after:
            proc.send_signal(signal.SIGKILL)
            break
    acknowledged.extend(line.strip() for line in proc.stdout)  # printed before the kill
    proc.wait(timeout=30)
    return [name for name in acknowledged if name and name != "done"]


@pytest.mark.slow
def test_kill_during_concurrent_enrollments_loses_nothing_acknowledged(tmp_path: Path) -> None:
    rng = random.Random(5)
    data_dir = tmp_path / "data"
    expected: set[str] = set()
    for round_no in range(ROUNDS):
        acknowledged = _run_and_kill(data_dir, round_no, rng.randrange(20, COUNT - 20))
        assert acknowledged, f"round {round_no}: the driver acknowledged nothing"
        expected.update(acknowledged)
        with Database.open(data_dir, data_key=KEY) as db:  # loads, and the lock is free
            missing = [name for name in expected if db.users.get("lab", name) is None]
            assert missing == [], f"round {round_no}: lost {len(missing)} acknowledged"
            for name in acknowledged:
                record = db.users.get("LAB", name)
                assert record is not None and record.enrollment == enrollment(name)
            audited = {event.user for event in db.audit.query()}
            # The audit append comes after the save: an ack implies both.
            assert set(acknowledged) <= audited
