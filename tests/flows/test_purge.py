"""Users deleted from the directory are purged after the grace period and keep their audit
history (apr checklist 115, 116), on data made by real flows."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from pwreset.console.users import directory_check
from pwreset.server import runner
from pwreset.server.storage import Database
from pwreset.server.storage.purge import purge_missing

DAY = 86400


def test_users_gone_from_the_directory_are_purged(flows, user, kind, request):
    stack = flows()
    assert stack.enroll(user).status_code == 200
    stack.admin.delete_user(user)
    stack.stop()
    lab = request.getfixturevalue("samba_lab" if kind == "ad" else "slapd_lab")
    env = {**os.environ, f"PWRESET_TEST_{kind.upper()}_PASSWORD": lab.service_password}
    config_file = stack.instance / "pwreset.toml"
    first = subprocess.run(
        [sys.executable, "-m", "pwreset", "users", "purge", "-c", str(config_file)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert first.returncode == 0, first.stderr
    assert "1 users checked: 1 newly missing" in first.stdout
    assert stack.record(user).missing_since is not None  # marked, not yet removed
    # A week and a day later (the grace period is 7 days), the next purge removes it.
    with Database.open(stack.data_dir, data_key=stack.data_key) as db:
        report = purge_missing(
            db.users,
            db.audit,
            directory_check(stack.config),
            grace_days=7,
            now=time.time() + 8 * 86400,
        )
    assert report.removed == [(stack.domain, user)]
    assert stack.record(user) is None
    sources = [(row.source, row.type) for row in stack.audit(user)]
    assert ("enroll", "success") in sources  # the history stays
    assert sources[-1][0] == "admin"


def _wait_for(check, what):
    deadline = time.monotonic() + 20
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_the_running_server_purges_on_its_own_daily_schedule(flows, user, monkeypatch):
    """apr checklist 115, 116: the server's scheduler, driven by its clock, marks a user gone
    from the directory an hour after start-up and removes it once the grace period is over"""
    monkeypatch.setattr(runner, "_HOUSEKEEPING_TICK", 0.02)  # look at the moved clock often
    stack = flows()
    assert stack.enroll(user).status_code == 200
    stack.admin.delete_user(user)
    time.sleep(0.5)
    assert stack.record(user).missing_since is None  # not at start-up
    stack.clock.advance(3600)
    _wait_for(lambda: stack.record(user).missing_since is not None, "the first purge")
    marked = stack.record(user).missing_since
    assert abs(marked - stack.clock()) < 60  # the server's clock, not the wall clock
    stack.clock.advance(6 * DAY)
    time.sleep(0.5)
    assert stack.record(user) is not None  # six days missing: kept (grace period 7 days)
    stack.clock.advance(DAY)
    _wait_for(lambda: stack.record(user) is None, "the purge a week later")
    # The record goes first, then its audit row is written: wait for the row as well.
    _wait_for(lambda: stack.audit(user)[-1].source == "admin", "the purge's audit row")
    removal = stack.audit(user)[-1]
    assert (removal.source, removal.type) == ("admin", "success")
    assert removal.event == "user removed by the purge: missing from the directory for 7 days"
