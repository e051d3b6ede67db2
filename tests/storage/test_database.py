"""Database, the embedded store: one owner per data directory, its files, the segmented
audit log and its retention (what every store does is in test_store.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from storage_support import KEY, SECRET_HASH, enrolled

from pwreset.server.storage import (
    AuditEvent,
    Database,
    StoreKeyError,
    StoreLockedError,
)
from pwreset.server.storage.audit import AuditLog


def test_a_second_owner_is_refused_naming_the_dir_and_pid(tmp_path: Path) -> None:
    with Database.open(tmp_path, data_key=KEY):
        with pytest.raises(StoreLockedError) as caught:
            Database.open(tmp_path, data_key=KEY)
        assert str(tmp_path) in str(caught.value)
        assert f"process {os.getpid()}" in str(caught.value)
        # Another process too: flock is per open file, across processes.
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                "from pathlib import Path; import sys\n"
                "from pwreset.server.storage import Database, StoreLockedError\n"
                "try: Database.open(Path(sys.argv[1]), data_key=b'x'*32)\n"
                "except StoreLockedError as e: print(e.code, e.pid)",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert probe.stdout.split() == ["store_locked", str(os.getpid())]
    Database.open(tmp_path, data_key=KEY).close()  # released on close


def test_a_saved_change_drops_what_it_clears_and_a_data_dir_of_before_tinydb_loads(
    tmp_path: Path,
) -> None:
    """The users went through the journal's get/put before they were TinyDB documents: a data
    folder written then still opens, and a lockout lifted stays lifted after a restart."""
    from pwreset.server.storage import JournalStorage

    old = JournalStorage(tmp_path / "users")  # as the users store wrote it before issue 10
    old.put("users", "lab\0carol", b'{"domain":"LAB","username":"carol","locked_out":true}')
    old.close()
    with Database.open(tmp_path, data_key=KEY) as db:
        carol = db.users.get("lab", "CAROL")
        assert carol is not None and carol.locked_out
        carol.locked_out = False  # the default: left out of the document
        db.users.save(carol)
    with Database.open(tmp_path, data_key=KEY) as db:
        again = db.users.get("LAB", "carol")
        assert again is not None and not again.locked_out
        assert [row["username"] for row in db.users.rows()] == ["carol"]


def test_secrets_are_never_in_a_file_or_a_repr(tmp_path: Path) -> None:
    with Database.open(tmp_path, data_key=KEY) as db:
        db.users.save(enrolled("jsmith"))
        assert SECRET_HASH not in repr(db.users.get("LAB", "jsmith"))
        db.storage.compact()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"this-is-the-answer-hash" not in data, path
            assert b"code-hash-123" not in data, path


def test_a_wrong_key_or_a_moved_blob_does_not_open(tmp_path: Path) -> None:
    with Database.open(tmp_path, data_key=KEY) as db:
        db.users.save(enrolled("a"))
        db.users.save(enrolled("b"))
    with (
        Database.open(tmp_path, data_key=b"\x02" * 32) as db,
        pytest.raises(StoreKeyError, match="not the configured data key"),
    ):
        db.users.get("LAB", "a")
    with Database.open(tmp_path, data_key=KEY) as db:
        # Copy a's sealed blob onto b: the AAD binds it to a, so it must not open as b.
        storage = db.storage
        a = storage.get("users", "lab\0a")
        assert a is not None
        storage.put("users", "lab\0b", a.replace(b'"username":"a"', b'"username":"b"'))
        with pytest.raises(StoreKeyError, match="does not open"):
            db.users.get("LAB", "b")


def _at(day: str, hour: int = 12) -> float:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=UTC).timestamp()


def test_audit_is_segmented_by_day_and_queried_by_range(tmp_path: Path) -> None:
    with Database.open(tmp_path, data_key=KEY) as db:
        for day in ("2024-03-01", "2024-03-02", "2024-03-03"):
            db.audit.append(AuditEvent("success", "reset", "jsmith", "LAB", "reset", time=_at(day)))
        db.audit.append(
            AuditEvent(
                "failure", "reset", "jsmith", "LAB", "wrong answer", time=_at("2024-03-02", 18)
            )
        )
    segments = sorted(p.name for p in (tmp_path / "audit").iterdir())
    assert segments == ["2024-03-01.log", "2024-03-02.log", "2024-03-03.log"]
    db = Database.open_readonly(tmp_path)
    events = list(db.audit.query(since=_at("2024-03-02", 0), until=_at("2024-03-03", 0)))
    assert [(e.type, e.event) for e in events] == [
        ("success", "reset"),
        ("failure", "wrong answer"),
    ]


def test_audit_retention_removes_whole_old_days(tmp_path: Path) -> None:
    now = _at("2024-03-10")
    log = AuditLog(tmp_path, clock=lambda: now)
    for day in ("2024-02-01", "2024-03-01", "2024-03-09"):
        log.append(AuditEvent("success", "enroll", "u", "LAB", "enrolled", time=_at(day)))
    log.close()
    kept = AuditLog(tmp_path, retention_days=30, clock=lambda: now)
    assert [day for day, _ in kept.segments()] == ["2024-03-01", "2024-03-09"]
    assert len(list(kept.query())) == 2


def test_audit_torn_tail_is_recovered(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    for i in range(3):
        log.append(AuditEvent("success", "enroll", f"u{i}", "LAB", "enrolled"))
    log.close()
    ((_, segment),) = log.segments()
    with segment.open("r+b") as file:
        file.truncate(segment.stat().st_size - 4)
    log = AuditLog(tmp_path)
    assert [e.user for e in log.query()] == ["u0", "u1"]
    log.append(AuditEvent("success", "enroll", "u3", "LAB", "enrolled"))
    log.close()
    assert [e.user for e in AuditLog(tmp_path).query()] == ["u0", "u1", "u3"]
