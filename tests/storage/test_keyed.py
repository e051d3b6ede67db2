"""Keyed records in the embedded store's backups (what every store does with them is in
test_store.py; security review 9 keeps code-sending counts in them)."""

from __future__ import annotations

from pathlib import Path

from pwreset.server.storage import Database

KEY = b"\x02" * 32


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
