"""The storage on a full disk (a real tmpfs, filled to the last block): a write that does not
fit is refused with `storage_full` and cut off whole, every earlier one survives a reload, a
compaction without room leaves the old files in use, the replay journal, the audit log and
the owner lock ride it out, and once space is freed the next write goes through."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pwreset.server.storage import (
    AuditEvent,
    Database,
    JournalStorage,
    StorageFullError,
    StoreLockedError,
    UserRecord,
)
from pwreset.server.storage import journal_storage as journal_storage_module
from pwreset.server.storage.audit import AuditLog
from pwreset.server.storage.free_space import RESERVE
from pwreset.server.storage.replay_journal import ReplayJournal

from support.tmpfs import fill, leave_free, small_tmpfs

KEY = b"\x02" * 32
DAY = 86400.0


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "fs", 8 << 20) as mounted:
        yield mounted


def _doc(n: int) -> bytes:
    # Incompressible text, so a few writes fill what is left of a page.
    return b'{"n":%d,"pad":"%s"}' % (n, os.urandom(600).hex().encode())


def _write_until_full(store: JournalStorage, first: int) -> tuple[dict[str, bytes], str]:
    """Put documents until one is refused; the ones acknowledged and the refused key."""
    done: dict[str, bytes] = {}
    for n in range(first, first + 1000):
        key, value = f"k{n}", _doc(n)
        try:
            store.put("users", key, value)
        except StorageFullError:
            return done, key
        done[key] = value
    raise AssertionError("a full disk took 1000 more documents")


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if ".tmp-" in p.name]


def test_a_write_without_room_is_refused_whole_and_nothing_before_it_is_lost(disk: Path) -> None:
    folder = disk / "users"
    store = JournalStorage(folder)
    before = {f"k{n}": _doc(n) for n in range(20)}
    for key, value in before.items():
        store.put("users", key, value)
    filler = fill(disk)

    acknowledged, refused = _write_until_full(store, 100)

    # Memory matches the disk: the refused document is not there, not even in memory.
    assert store.get("users", refused) is None
    # The journal ends on a whole record: a reader finds nothing torn, and everything.
    view = JournalStorage(folder, read_only=True)
    assert view.torn_tails == []
    assert dict(view.items("users")) == before | acknowledged
    # Room again: the very next write goes through, without reopening anything.
    filler.unlink()
    store.put("users", refused, b'{"late":true}')
    store.close()
    again = JournalStorage(folder)
    assert again.torn_tails == []
    assert dict(again.items("users")) == before | acknowledged | {refused: b'{"late":true}'}
    again.close()


def test_a_compaction_that_would_eat_the_reserve_is_put_off(disk: Path) -> None:
    folder = disk / "users"
    store = JournalStorage(folder)
    docs = {f"k{n}": _doc(n) for n in range(300)}  # a snapshot of about 400 KB
    for key, value in docs.items():
        store.put("users", key, value)
    fill(disk)
    leave_free(disk, RESERVE + 100_000)  # room for the flows, not for the snapshot too
    files = sorted(p.name for p in folder.iterdir())

    with pytest.raises(StorageFullError) as refused:
        store.compact()

    assert refused.value.code == "storage_full"
    assert "no space left" in str(refused.value)
    assert sorted(p.name for p in folder.iterdir()) == files
    store.put("users", "after", b"{}")  # the store goes on in its journal
    store.close()
    assert dict(JournalStorage(folder).items("users")) == docs | {"after": b"{}"}


def test_a_compaction_cut_short_by_the_disk_leaves_the_old_files_in_use(
    disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The room check passed, then something else took the space: the snapshot being
    written runs into ENOSPC half way."""
    folder = disk / "users"
    store = JournalStorage(folder)
    docs = {f"k{n}": _doc(n) for n in range(300)}
    for key, value in docs.items():
        store.put("users", key, value)
    filler = fill(disk)
    leave_free(disk, 100_000)
    monkeypatch.setattr(journal_storage_module, "require_room", lambda *_: None)

    with pytest.raises(StorageFullError):
        store.compact()

    assert _no_temp_files(folder)  # the half snapshot is gone, and its space with it
    assert not (folder / "snapshot.00000001").exists()
    reloaded = JournalStorage(folder, read_only=True)
    assert dict(reloaded.items("users")) == docs
    # With room, the next compaction goes through and the store is whole.
    filler.unlink()
    store.put("users", "after", b"{}")
    store.compact()
    store.close()
    assert (folder / "snapshot.00000002").exists()
    assert dict(JournalStorage(folder).items("users")) == docs | {"after": b"{}"}


def test_the_replay_journal_rotates_once_there_is_room(disk: Path) -> None:
    now = [1_000_000.0]
    journal = ReplayJournal(disk / "replay", 60.0, lambda: now[0])
    journal.record(b"\x01" * 16, now[0])
    filler = fill(disk)
    now[0] += 61  # a new segment is due

    for _ in range(2):  # refused, and refused again: not a KeyError the second time
        with pytest.raises(StorageFullError):
            journal.record(b"\x02" * 16, now[0])

    filler.unlink()
    journal.record(b"\x03" * 16, now[0])
    journal.close()
    restored = ReplayJournal(disk / "replay", 60.0, lambda: now[0]).restored
    assert (b"\x03" * 16, now[0]) in restored


def test_the_replay_journal_starts_on_a_full_disk_and_records_once_there_is_room(
    disk: Path,
) -> None:
    (disk / "replay").mkdir()
    filler = fill(disk)

    journal = ReplayJournal(disk / "replay", 60.0)
    with pytest.raises(StorageFullError):
        journal.record(b"\x04" * 16, 1.0)

    filler.unlink()
    journal.record(b"\x05" * 16, 2.0)
    journal.close()
    assert [r[0] for r in ReplayJournal(disk / "replay", 1e12).restored] == [b"\x05" * 16]


def test_the_audit_log_opens_the_next_day_once_there_is_room(disk: Path) -> None:
    audit = AuditLog(disk / "audit")
    today = 1_750_000_000.0
    audit.append(AuditEvent("success", "enroll", "ann", "LAB", "enrolled", time=today))
    filler = fill(disk)

    with pytest.raises(StorageFullError):
        audit.append(AuditEvent("success", "reset", "ann", "LAB", "reset", time=today + DAY))

    filler.unlink()
    audit.append(AuditEvent("success", "reset", "ann", "LAB", "password reset", time=today + DAY))
    audit.close()
    events = [e.event for e in AuditLog(disk / "audit", read_only=True).query()]
    assert events == ["enrolled", "password reset"]


def test_the_owner_opens_a_full_data_folder_and_still_holds_it(disk: Path) -> None:
    data = disk / "data"
    with Database.open(data, data_key=KEY) as db:
        db.users.save(UserRecord("LAB", "ann", enrollment={"questions": []}))
    fill(disk)

    with Database.open(data, data_key=KEY) as db:
        assert db.users.get("LAB", "ann") is not None
        with pytest.raises(StorageFullError):
            db.require_room()
        with pytest.raises(StoreLockedError):
            Database.open(data, data_key=KEY)


def test_room_is_required_only_below_the_reserve(disk: Path) -> None:
    with Database.open(disk / "data", data_key=KEY) as db:
        db.require_room()  # an empty 8 MiB disk
        fill(disk)
        leave_free(disk, RESERVE - (256 << 10))
        with pytest.raises(StorageFullError):
            db.require_room()
        leave_free(disk, RESERVE + (256 << 10))
        db.require_room()
