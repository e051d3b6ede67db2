"""TinyDB on `JournalStorage` with tables whose writes journal only the documents touched.

Stock `Table._update_table` reads the whole table, runs an updater over it and writes the
whole table back. `JournaledTable` hands the updater a tracking view instead: documents are
decoded only when the updater reads them, and afterwards only those it set, changed in place
or removed are written, one journal record each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from tinydb import TinyDB
from tinydb.table import Table

from pwreset.server.storage.journal_storage import (
    JournalStorage,
    decode_document,
    encode_document,
)


class _TrackingTable(MutableMapping[int, Any]):
    def __init__(self, storage: JournalStorage, name: str) -> None:
        self._storage = storage
        self._name = name
        self._read: dict[int, tuple[bytes, dict[str, Any]]] = {}
        self._set: dict[int, Any] = {}
        self._removed: set[int] = set()

    def __getitem__(self, doc_id: int) -> Any:
        if doc_id in self._set:
            return self._set[doc_id]
        if doc_id in self._removed:
            raise KeyError(doc_id)
        if doc_id not in self._read:
            value = self._storage.get(self._name, str(doc_id))
            if value is None:
                raise KeyError(doc_id)
            self._read[doc_id] = (value, decode_document(value))
        return self._read[doc_id][1]

    def __setitem__(self, doc_id: int, doc: Any) -> None:
        self._removed.discard(doc_id)
        self._set[doc_id] = doc

    def __delitem__(self, doc_id: int) -> None:
        self[doc_id]
        self._set.pop(doc_id, None)
        self._removed.add(doc_id)

    def __iter__(self) -> Iterator[int]:
        stored = {int(key) for key, _ in self._storage.items(self._name)}
        return iter(sorted((stored | set(self._set)) - self._removed))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def commit(self) -> None:
        for doc_id, (original, doc) in self._read.items():
            if doc_id not in self._set and doc_id not in self._removed:
                value = encode_document(doc)
                if value != original:  # changed in place by an update
                    self._storage.put(self._name, str(doc_id), value)
        for doc_id, doc in self._set.items():
            self._storage.put(self._name, str(doc_id), encode_document(doc))
        for doc_id in self._removed:
            self._storage.delete(self._name, str(doc_id))


class JournaledTable(Table):
    def _update_table(self, updater: Callable[[dict[int, Any]], None]) -> None:
        storage = self._storage
        if not isinstance(storage, JournalStorage):
            super()._update_table(updater)
            return
        view = _TrackingTable(storage, self.name)
        updater(view)  # type: ignore[arg-type]  # a MutableMapping is all updaters use
        view.commit()
        self.clear_cache()


class JournalDB(TinyDB):
    """`JournalDB(folder)`: TinyDB with durable, per-document writes."""

    table_class = JournaledTable
    # TinyDB annotates this as JSONStorage; any Storage subclass is what it accepts.
    default_storage_class = JournalStorage  # type: ignore[assignment]
