"""Keyed records: durable, kept apart from the users, and expired when stale (security
review 9 keeps code-sending counts in them)."""

from __future__ import annotations

from pathlib import Path

from pwreset.server.storage import Database

KEY = b"\x02" * 32


def test_keyed_records_survive_a_restart_and_stale_ones_expire(tmp_path: Path) -> None:
    """security review 9: the counts hold across restarts; the housekeeping removes what
    has not been touched for a while"""
    with Database.open(tmp_path, data_key=KEY) as db:
        db.keyed.put("u:fresh", {"sent": [1000.0], "touched": 1000.0})
        db.keyed.put("d:stale", {"sent": [10.0], "touched": 10.0})
        db.keyed.put("u:odd", {"touched": "not a time"})
    with Database.open(tmp_path, data_key=KEY) as db:
        assert db.keyed.get("u:fresh") == {"sent": [1000.0], "touched": 1000.0}
        assert len(db.users) == 0 and len(db.keyed) == 3
        assert db.keyed.expire(untouched_since=500.0) == 2
        assert db.keyed.get("d:stale") is None and db.keyed.get("u:odd") is None
    with Database.open(tmp_path, data_key=KEY) as db:
        assert len(db.keyed) == 1


def test_a_backup_with_keyed_records_verifies(tmp_path: Path) -> None:
    """security review 9: keyed records are backed up with the users, and do not count as
    users in the backup's manifest"""
    from pwreset.server.storage.maintenance import backup, verify_backup

    data = tmp_path / "data"
    with Database.open(data, data_key=KEY) as db:
        db.keyed.put("u:one", {"sent": [1.0], "touched": 1.0})
    report = backup(data, tmp_path / "backups")
    assert report.users == 0
    verify_backup(report.path)
