"""A journal cut or damaged anywhere in its last record loads up to the record before it;
damage with valid records after it is refused, naming the file and the offset."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from pwreset.server.storage import JournalStorage, StoreCorruptError
from pwreset.server.storage.framing import RecordReader


def _journal_with(path: Path, count: int) -> tuple[Path, int]:
    """A store with `count` documents; the journal file and the offset of its last record."""
    store = JournalStorage(path)
    for i in range(count):
        store.put("users", f"lab\0user{i}", b'{"email":"u%d@lab"}' % i)
    store.close()
    (journal,) = path.glob("journal.*")
    offsets = [offset for offset, _ in RecordReader(journal, allow_torn_tail=False)]
    return journal, offsets[-1]


def test_truncated_at_every_byte_of_the_last_record(tmp_path: Path) -> None:
    journal, last = _journal_with(tmp_path / "good", 3)
    size = journal.stat().st_size
    for cut in range(last, size):
        copy = tmp_path / f"cut{cut}"
        shutil.copytree(journal.parent, copy)
        with (copy / journal.name).open("r+b") as file:
            file.truncate(cut)
        store = JournalStorage(copy)
        assert store.count("users") == 2, f"cut at {cut}"
        assert store.get("users", "lab\0user2") is None
        assert store.torn_tails == (
            [] if cut == last else [(copy / journal.name, last, cut - last)]
        )
        store.put("users", "lab\0after", b"{}")  # appends after the cut, not after garbage
        store.close()
        reopened = JournalStorage(copy)
        assert reopened.count("users") == 3 and reopened.torn_tails == []
        reopened.close()


def test_corrupted_at_every_byte_of_the_last_record(tmp_path: Path) -> None:
    journal, last = _journal_with(tmp_path / "good", 3)
    data = journal.read_bytes()
    for at in range(last, len(data)):
        copy = tmp_path / f"bad{at}"
        shutil.copytree(journal.parent, copy)
        damaged = bytearray(data)
        damaged[at] ^= 0xFF
        (copy / journal.name).write_bytes(bytes(damaged))
        store = JournalStorage(copy)
        assert store.count("users") == 2, f"flip at {at}"
        assert len(store.torn_tails) == 1
        store.close()


def test_torn_tail_is_logged_and_cut_off(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    journal, last = _journal_with(tmp_path, 2)
    with journal.open("r+b") as file:
        file.truncate(last + 5)
    with caplog.at_level(logging.WARNING, "pwreset.storage"):
        JournalStorage(tmp_path).close()
    assert f"{journal}: dropped an incomplete record (5 bytes at offset {last})" in caplog.text
    assert journal.stat().st_size == last


def test_damage_in_the_middle_is_refused_with_file_and_offset(tmp_path: Path) -> None:
    journal, _ = _journal_with(tmp_path, 5)
    offsets = [offset for offset, _ in RecordReader(journal, allow_torn_tail=False)]
    data = bytearray(journal.read_bytes())
    data[offsets[2] + 14] ^= 0x01
    journal.write_bytes(bytes(data))
    before = journal.read_bytes()
    with pytest.raises(StoreCorruptError) as caught:
        JournalStorage(tmp_path)
    assert str(caught.value) == (
        f"{journal}: at byte offset {offsets[2]}: damaged record (checksum mismatch) "
        "with valid records after it"
    )
    assert journal.read_bytes() == before  # nothing was cut or rewritten


def test_read_only_skips_a_record_in_flight_without_touching_the_file(tmp_path: Path) -> None:
    journal, last = _journal_with(tmp_path, 3)
    with journal.open("r+b") as file:
        file.truncate(last + 7)
    before = journal.read_bytes()
    view = JournalStorage(tmp_path, read_only=True)
    assert view.count("users") == 2
    assert journal.read_bytes() == before


def test_a_damaged_snapshot_is_an_error_not_a_torn_tail(tmp_path: Path) -> None:
    store = JournalStorage(tmp_path)
    for i in range(4):
        store.put("users", f"k{i}", b"{}")
    store.compact()
    store.close()
    (snapshot,) = tmp_path.glob("snapshot.*")
    with snapshot.open("r+b") as file:
        file.truncate(snapshot.stat().st_size - 3)
    with pytest.raises(StoreCorruptError, match=f"^{snapshot}: at byte offset"):
        JournalStorage(tmp_path)


def test_a_file_that_is_not_a_store_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "journal.00000000").write_bytes(b"hello, this is not a journal\n")
    with pytest.raises(StoreCorruptError, match=r"journal\.00000000: at byte offset 0"):
        JournalStorage(tmp_path)
