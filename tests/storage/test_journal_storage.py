"""JournalStorage: durable per-document writes, compaction by rename; TinyDB tables on top."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from tinydb import Query
from tinydb.table import Document

from pwreset.server.storage import JournalStorage
from pwreset.server.storage.append_file import AppendFile
from pwreset.server.storage.journal_storage import _header
from pwreset.server.storage.tinydb_table import JournalDB


def _names(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def test_writes_survive_a_reopen(tmp_path: Path) -> None:
    store = JournalStorage(tmp_path)
    store.put("users", "a", b'{"x":1}')
    store.put("users", "b", b'{"x":2}')
    store.put("users", "a", b'{"x":3}')
    assert store.delete("users", "b") is True
    assert store.delete("users", "b") is False
    store.close()
    again = JournalStorage(tmp_path)
    assert again.items("users") == [("a", b'{"x":3}')]


def test_compaction_leaves_one_snapshot_and_one_journal(tmp_path: Path) -> None:
    store = JournalStorage(tmp_path)
    for i in range(10):
        store.put("users", f"k{i}", b"{}")
    store.compact()
    store.put("users", "late", b"{}")
    store.close()
    assert _names(tmp_path) == ["journal.00000001", "snapshot.00000001"]
    assert JournalStorage(tmp_path).count("users") == 11


def test_compaction_starts_by_itself_past_the_threshold(tmp_path: Path) -> None:
    store = JournalStorage(tmp_path, compact_min_records=50)
    for i in range(120):
        store.put("users", f"k{i % 30}", b'{"i":%d}' % i)
    store.close()  # waits for a compaction under way
    assert any(name.startswith("snapshot.") for name in _names(tmp_path))
    again = JournalStorage(tmp_path)
    assert again.count("users") == 30
    assert again.get("users", "k29") == b'{"i":119}'


def test_a_crash_between_new_journal_and_new_snapshot_loses_nothing(tmp_path: Path) -> None:
    store = JournalStorage(tmp_path)
    store.put("users", "a", b"{}")
    store.compact()  # snapshot.1 + journal.1
    store.put("users", "b", b"{}")
    store.close()
    # What compaction to generation 2 leaves if killed before its snapshot is renamed:
    AppendFile.create(tmp_path / "journal.00000002", _header("journal", 2)).close()
    (tmp_path / ".snapshot.00000002.tmp-1").write_bytes(b"half a snapshot")
    store = JournalStorage(tmp_path)
    assert sorted(key for key, _ in store.items("users")) == ["a", "b"]
    store.put("users", "c", b"{}")
    store.close()
    assert ".snapshot.00000002.tmp-1" not in _names(tmp_path)
    assert JournalStorage(tmp_path).count("users") == 3


def test_concurrent_writers_all_land(tmp_path: Path) -> None:
    store = JournalStorage(tmp_path, compact_min_records=100)

    def write(t: int) -> None:
        for i in range(100):
            store.put("users", f"{t}-{i}", b"{}")

    threads = [threading.Thread(target=write, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()
    assert JournalStorage(tmp_path).count("users") == 800


def test_read_only_writes_nothing(tmp_path: Path) -> None:
    JournalStorage(tmp_path).put("users", "a", b"{}")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    view = JournalStorage(tmp_path, read_only=True)
    assert view.count("users") == 1
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_tinydb_writes_journal_only_the_documents_touched(tmp_path: Path) -> None:
    db = JournalDB(tmp_path)
    table = db.table("things")
    for i in range(50):
        table.insert(Document({"n": i}, doc_id=f"k{i}"))
    storage = db.storage
    before = storage._journal.records if storage._journal else 0
    table.update({"even": True}, Query().n == 4)
    table.remove_keys(["k1"])
    table.upsert({"n": 7, "seven": True}, Query().n == 7)
    table.replace("k9", {"n": 9})
    after = storage._journal.records if storage._journal else 0
    assert after - before == 4
    db.close()
    again = JournalDB(tmp_path).table("things")
    assert len(again) == 49
    assert again.get(Query().n == 4) == {"n": 4, "even": True}
    assert again.document("k7") == {"n": 7, "seven": True}
    assert again.document("k1") is None


def test_replace_drops_the_fields_the_new_document_leaves_out(tmp_path: Path) -> None:
    # Stock upsert merges: a user's lockout cleared (a default, left out) would stay set.
    table = JournalDB(tmp_path).table("users")
    table.replace("bob", {"name": "bob", "locked_out": True})
    table.replace("bob", {"name": "bob"})
    assert JournalDB(tmp_path, read_only=True).table("users").document("bob") == {"name": "bob"}


def test_a_document_inserted_without_its_key_is_refused(tmp_path: Path) -> None:
    table = JournalDB(tmp_path).table("users")
    with pytest.raises(TypeError, match="doc_id=key"):
        table.insert({"name": "bob"})
    assert len(table) == 0


def test_a_search_is_not_tripped_by_a_removal_under_way(tmp_path: Path) -> None:
    table = JournalDB(tmp_path).table("users")
    for name in ("a", "b", "c"):
        table.replace(name, {"name": name})
    found = []
    for doc in table:  # the console lists while the server deletes
        table.remove_keys(["c"])
        found.append(doc["name"])
    assert found == ["a", "b", "c"]
    assert table.search(Query().name.one_of(["a", "c"])) == [{"name": "a"}]


def test_stock_tinydb_tables_work_too(tmp_path: Path) -> None:
    from tinydb import TinyDB

    db = TinyDB(tmp_path, storage=JournalStorage)
    db.insert({"a": 1})
    db.insert({"a": 2})
    db.update({"b": 1}, Query().a == 2)
    db.close()
    assert TinyDB(tmp_path, storage=JournalStorage).all() == [{"a": 1}, {"a": 2, "b": 1}]
