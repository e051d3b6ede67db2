"""Database tools behind `pwreset db`: check, backup, restore, move, and key rotation.

A backup is a folder holding a fresh snapshot of the users (generation 0) and a copy of
every audit segment, both rewritten record by record from a read-only load, so it is
consistent while the server runs and every record in it has been checksummed on the way.
It is built under a temporary name and renamed into place, then loaded again to verify.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pwreset.protocol.keys import read_secret_key, write_secret_key
from pwreset.server.storage.audit import AuditLog
from pwreset.server.storage.database import (
    AUDIT_DIR,
    MOVED_MARKER,
    REPLAY_DIR,
    ROTATION_MARKER,
    USERS_DIR,
    Database,
    rotation_state,
)
from pwreset.server.storage.durable import fsync_dir, make_private_dir, write_atomic
from pwreset.server.storage.errors import StorageError, StoreCorruptError, StoreKeyError
from pwreset.server.storage.framing import RecordReader, frame
from pwreset.server.storage.owner_lock import OwnerLock
from pwreset.server.storage.record_cipher import RecordCipher, data_key_id
from pwreset.server.storage.tinydb_table import JournalDB
from pwreset.server.storage.users import UserStore

MANIFEST = "backup.json"
BACKUP_FORMAT = "pwreset-backup/1"


@dataclass
class CheckReport:
    users: int = 0
    audit_events: int = 0
    audit_segments: int = 0
    key_ids: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def check(data_dir: Path, data_key: bytes | None) -> CheckReport:
    """Load everything read-only; open every sealed record if the key is given."""
    report = CheckReport()
    if not data_dir.is_dir():
        report.problems.append(f"{data_dir}: no data directory there")
        return report
    try:
        tables = JournalDB(data_dir / USERS_DIR, read_only=True)
    except StoreCorruptError as exc:
        report.problems.append(str(exc))
    else:
        for path, offset, size in tables.storage.torn_tails:
            report.notes.append(
                f"{path}: an incomplete last record ({size} bytes at offset {offset}): a write "
                "in flight, or left by a crash (never acknowledged; dropped at the next start)"
            )
        users = UserStore(tables, RecordCipher(data_key) if data_key else None)
        for row in users.rows():
            report.users += 1
            if row["key_id"]:
                report.key_ids[row["key_id"]] = report.key_ids.get(row["key_id"], 0) + 1
        if data_key is not None:
            _open_every_record(users, report)
    audit = AuditLog(data_dir / AUDIT_DIR, read_only=True)
    for _, path in audit.segments():
        report.audit_segments += 1
        try:
            report.audit_events += sum(1 for offset, _ in _records(path) if offset)
        except StoreCorruptError as exc:
            report.problems.append(str(exc))
    return report


def _open_every_record(users: UserStore, report: CheckReport) -> None:
    failed = 0
    first = ""
    for row in users.rows():
        try:
            users.get(row["domain"], row["username"])
        except StoreKeyError as exc:
            failed += 1
            first = first or str(exc)
    if failed:
        report.problems.append(f"{failed} user records do not open with the data key: {first}")


def _records(path: Path) -> Iterator[tuple[int, bytes]]:
    return iter(RecordReader(path, allow_torn_tail=True))


@dataclass
class BackupReport:
    path: Path
    users: int
    audit_events: int
    key_ids: list[str]


def backup(data_dir: Path, dest: Path) -> BackupReport:
    """Copy the data as it is now into the new folder `dest` (see the module docstring)."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise StorageError(f"{dest}: already exists; a backup goes to a new or empty folder")
    if not dest.parent.is_dir():
        raise StorageError(f"{dest}: the folder {dest.parent} does not exist")
    if not (data_dir / USERS_DIR).is_dir():
        raise StorageError(f"{data_dir}: no pwreset data there (no {USERS_DIR}/ folder)")
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        make_private_dir(partial)
        report = _copy_data(data_dir, partial)
        manifest = {
            "format": BACKUP_FORMAT,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "source": str(data_dir),
            "users": report.users,
            "audit_events": report.audit_events,
            "key_ids": report.key_ids,
        }
        write_atomic(partial / MANIFEST, [json.dumps(manifest, indent=1).encode() + b"\n"])
        verify_backup(partial)
        if dest.exists():
            dest.rmdir()
        partial.rename(dest)
        fsync_dir(dest.parent)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    report.path = dest
    return report


def _copy_data(data_dir: Path, target: Path) -> BackupReport:
    tables = JournalDB(data_dir / USERS_DIR, read_only=True)
    tables.storage.write_snapshot_to(target / USERS_DIR)
    # Users only: the keyed records travel in the same snapshot but are not users.
    users = UserStore(tables, None)
    key_ids = sorted({row["key_id"] for row in users.rows() if row["key_id"]})
    events = 0
    make_private_dir(target / AUDIT_DIR)
    for _, path in AuditLog(data_dir / AUDIT_DIR, read_only=True).segments():
        payloads = [payload for _, payload in _records(path)]
        events += len(payloads) - 1
        write_atomic(target / AUDIT_DIR / path.name, (frame(p) for p in payloads))
    return BackupReport(target, len(users), events, key_ids)


def verify_backup(path: Path) -> dict[str, object]:
    """Load a backup read-only and compare it with its manifest; raise StorageError if not."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StorageError(f"{path}: not a pwreset backup (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise StorageError(f"{path / MANIFEST}: unreadable ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise StorageError(f"{path / MANIFEST}: not a {BACKUP_FORMAT} manifest")
    report = check(path, None)
    if report.problems:
        raise StorageError(f"{path}: the backup does not load: {report.problems[0]}")
    if (report.users, report.audit_events) != (manifest["users"], manifest["audit_events"]):
        raise StorageError(
            f"{path}: holds {report.users} users and {report.audit_events} audit events; "
            f"its manifest says {manifest['users']} and {manifest['audit_events']}"
        )
    return manifest


def restore(backup_dir: Path, data_dir: Path) -> Path:
    """Replace the data with a verified backup; the data replaced is kept beside it.
    Needs the owner lock (the server stopped). Returns where the old data went."""
    verify_backup(backup_dir)
    make_private_dir(data_dir)
    lock = OwnerLock(data_dir)
    try:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        kept = data_dir / f"before-restore-{stamp}"
        make_private_dir(kept)
        for name in (USERS_DIR, AUDIT_DIR):
            incoming = data_dir / f".{name}.restoring"
            shutil.rmtree(incoming, ignore_errors=True)
            shutil.copytree(backup_dir / name, incoming, copy_function=_copy_durably)
            fsync_dir(incoming)
            if (data_dir / name).exists():
                (data_dir / name).rename(kept / name)
            incoming.rename(data_dir / name)
        fsync_dir(kept)
        fsync_dir(data_dir)
        return kept
    finally:
        lock.release()


def _copy_durably(source: str, target: str) -> None:
    shutil.copyfile(source, target)
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def move(data_dir: Path, new_dir: Path) -> BackupReport:
    """Copy the data to `new_dir` (verified) and mark the old folder moved, so a server
    still pointed at it refuses to start instead of forking the data."""
    lock = OwnerLock(data_dir)
    try:
        report = backup(data_dir, new_dir)
        (new_dir / MANIFEST).unlink()  # a live data directory, not a backup
        if (data_dir / REPLAY_DIR).is_dir():
            # The server at the new place must still refuse what it accepted here.
            shutil.copytree(
                data_dir / REPLAY_DIR, new_dir / REPLAY_DIR, copy_function=_copy_durably
            )
            fsync_dir(new_dir)
        write_atomic(data_dir / MOVED_MARKER, [f"{new_dir}\n".encode()])
        return report
    finally:
        lock.release()


@dataclass
class RotationReport:
    old_key_id: str
    new_key_id: str
    resealed: int
    old_key_kept: Path | None


def rotate_key(data_dir: Path, key_file: Path) -> RotationReport:
    """Seal every record under a new data key, resumable after a crash at any step:

    1. write `<key>.new` and the ROTATING marker (the server now refuses to start with the
       old key alone); 2. reseal record by record, the old key still opening the others;
    3. compact, so no file holds the old sealing; 4. keep the old key as `<key>.old-<id>`,
       rename the new key over the key file; 5. remove the marker.
    """
    new_file = key_file.with_name(key_file.name + ".new")
    state = rotation_state(data_dir)
    if state is None:
        old_key = read_secret_key(key_file)
        new_file.unlink(missing_ok=True)  # from a run that died before its marker: unused
        write_secret_key(new_file)
        new_key = read_secret_key(new_file)
        marker = {"new_key_id": data_key_id(new_key), "old_key_id": data_key_id(old_key)}
        write_atomic(data_dir / ROTATION_MARKER, [json.dumps(marker).encode() + b"\n"])
    else:
        current = read_secret_key(key_file)
        if new_file.exists():
            new_key, old_key = read_secret_key(new_file), current
        elif data_key_id(current) == state.get("new_key_id"):
            new_key = old_key = current  # died after step 4: only the marker is left
        else:
            raise StorageError(
                f"{data_dir}: a key rotation to {state.get('new_key_id')} is pending but "
                f"{new_file} is missing and {key_file} is another key; restore the key files"
            )
    old_id, new_id = data_key_id(old_key), data_key_id(new_key)
    kept = key_file.with_name(f"{key_file.name}.old-{old_id}")
    resealed = 0
    with Database.open(data_dir, data_key=new_key, previous_keys=[old_key]) as db:
        for record in db.users:
            resealed += db.users.reseal(record)
        db.storage.compact()
    if new_file.exists():
        if not kept.exists() and old_id != new_id:
            write_atomic(kept, [key_file.read_bytes()], mode=0o600)
        new_file.replace(key_file)
        fsync_dir(key_file.parent)
    (data_dir / ROTATION_MARKER).unlink()
    fsync_dir(data_dir)
    return RotationReport(old_id, new_id, resealed, kept if kept.exists() else None)
