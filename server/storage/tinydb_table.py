"""TinyDB on `JournalStorage`: the embedded store's document API (tables, `Query`).

Stock `Table._update_table` reads the whole table, runs an updater over it and writes the
whole table back. `JournaledTable` hands the updater a tracking view instead: documents are
decoded only when the updater reads them, and afterwards only those it set, changed in place
or removed are written, one journal record each.

Documents are filed under their own keys (a user's case-folded name, a keyed hash), not
under TinyDB's counted ids: a lookup by key is one dict access, where a `Query` would scan
every document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any, cast

from tinydb import TinyDB
from tinydb.table import Document, Table

from pwreset.server.storage.journal_storage import (
    JournalStorage,
    decode_document,
    encode_document,
)


class _TrackingTable(MutableMapping[str, Any]):
    def __init__(self, storage: JournalStorage, name: str) -> None:
        self._storage = storage
        self._name = name
        self._read: dict[str, tuple[bytes, dict[str, Any]]] = {}
        self._set: dict[str, Any] = {}
        self._removed: set[str] = set()

    def __getitem__(self, doc_id: str) -> Any:
        if doc_id in self._set:
            return self._set[doc_id]
        if doc_id in self._removed:
            raise KeyError(doc_id)
        if doc_id not in self._read:
            value = self._storage.get(self._name, doc_id)
            if value is None:
                raise KeyError(doc_id)
            self._read[doc_id] = (value, decode_document(value))
        return self._read[doc_id][1]

    def __setitem__(self, doc_id: str, doc: Any) -> None:
        self._removed.discard(doc_id)
        self._set[doc_id] = doc

    def __delitem__(self, doc_id: str) -> None:
        self[doc_id]
        self._set.pop(doc_id, None)
        self._removed.add(doc_id)

    def __iter__(self) -> Iterator[str]:
        stored = [key for key, _ in self._storage.items(self._name)]
        new = [key for key in self._set if self._storage.get(self._name, key) is None]
        return iter([key for key in stored + new if key not in self._removed])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def commit(self) -> None:
        for doc_id, (original, doc) in self._read.items():
            if doc_id not in self._set and doc_id not in self._removed:
                value = encode_document(doc)
                if value != original:  # changed in place by an update
                    self._storage.put(self._name, doc_id, value)
        for doc_id, doc in self._set.items():
            self._storage.put(self._name, doc_id, encode_document(doc))
        if self._removed:  # one sync for all of them (a sweep)
            self._storage.delete_many(self._name, list(self._removed))


class JournaledTable(Table):
    """A TinyDB table whose documents have string ids (their keys) and whose writes are
    journaled one document at a time."""

    document_id_class = str  # type: ignore[assignment]  # TinyDB annotates it as int

    def document(self, key: str) -> Document | None:
        """`get(doc_id=key)`, typed for string ids."""
        return self.get(doc_id=key)  # type: ignore[call-overload,no-any-return]

    def replace(self, key: str, doc: Mapping[str, Any]) -> None:
        """Insert `doc` under `key`, or replace the whole document there (stock `upsert`
        merges fields, which would keep a field the new document leaves out)."""
        self._update_table(lambda table: table.__setitem__(key, dict(doc)))  # type: ignore[index]

    def remove_keys(self, keys: Iterable[str]) -> list[str]:
        """`remove(doc_ids=keys)`, typed for string ids: the keys there were."""
        return self.remove(doc_ids=keys)  # type: ignore[arg-type,return-value]

    def _get_next_id(self) -> str:
        raise TypeError(f"table {self.name}: insert a Document(doc, doc_id=key)")

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
    """`JournalDB(folder, **JournalStorage options)`: TinyDB with durable, per-document
    writes."""

    table_class = JournaledTable
    # TinyDB annotates this as JSONStorage; any Storage subclass is what it accepts.
    default_storage_class = JournalStorage  # type: ignore[assignment]

    def table(self, name: str, **kwargs: Any) -> JournaledTable:
        return cast(JournaledTable, super().table(name, **kwargs))

    @property
    def storage(self) -> JournalStorage:
        return cast(JournalStorage, self._storage)
