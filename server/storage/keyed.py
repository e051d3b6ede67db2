"""Keyed records: small clear documents filed under a keyed hash (an HMAC made by the
flows) instead of a name or an address, for state that must survive restarts and be shared
by every relay but must not say whom it is about: codes sent per user and per destination,
and the codes of decoy users. Each document carries `touched`, so stale ones can be expired.
They are the TinyDB table `keyed`, in the users' storage.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from tinydb import Query

from pwreset.server.storage.journal_storage import JournalStorage
from pwreset.server.storage.tinydb_table import JournalDB

TABLE = "keyed"
STRIKES_TABLE = "decoy_strikes"  # the decoys' lockout counts (server/flows/lockout.py)


class KeyedStore:
    """Documents by opaque key in one table (`keyed`, or the decoys' strikes). Thread-safe;
    `put` and `delete_many` are durable."""

    def __init__(self, db: JournalDB, table: str = TABLE) -> None:
        self._table = db.table(table, cache_size=0)
        # One lock for the table: its read-decide-write steps are short (no hashing inside),
        # and records of one destination are shared by several users.
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold while reading, deciding on and writing keyed records, so parallel requests
        do not both take the last allowed send. Taken after a user's lock, never before."""
        with self._lock:
            yield

    def get(self, key: str) -> dict[str, Any] | None:
        return self._table.document(key)

    def put(self, key: str, doc: dict[str, Any]) -> None:
        self._table.replace(key, doc)

    def delete(self, key: str) -> bool:
        return bool(self._table.remove_keys([key]))

    def delete_many(self, keys: list[str]) -> int:
        """Remove `keys` with one sync (a sweep); how many there were."""
        return len(self._table.remove_keys(keys)) if keys else 0

    def items(self, prefix: str) -> list[tuple[str, dict[str, Any]]]:
        """The documents whose key starts with `prefix` (a scan: for start-up work only)."""
        # str(): TinyDB annotates ids as int; this table's are its keys.
        found = ((str(doc.doc_id), doc) for doc in self._table)
        return [(key, doc) for key, doc in found if key.startswith(prefix)]

    def delete_untouched(self, keys: list[str], since: float, field: str = "touched") -> int:
        """Remove those of `keys` whose `field` is a time before `since`, judged atomically
        with any write to them (a sweep's last look: one used meanwhile stays); how many."""
        storage = self._table.storage
        if not isinstance(storage, JournalStorage):  # pragma: no cover - always journaled
            raise TypeError("keyed records need the journal storage")
        return storage.delete_many(self._table.name, keys, lambda doc: _before(doc, field, since))

    def expire(self, untouched_since: float) -> int:
        """Remove the documents not touched since `untouched_since`; how many went."""
        stale = ~Query().touched.test(
            lambda touched: isinstance(touched, int | float) and touched >= untouched_since
        )
        removed = 0
        for found in self._table.search(stale):
            with self._lock:  # looked at again under the lock: it may just have been used
                key = str(found.doc_id)
                doc = self._table.document(key)
                if doc is not None and stale(doc):
                    removed += len(self._table.remove_keys([key]))
        return removed

    def __len__(self) -> int:
        return len(self._table)


def _before(doc: dict[str, Any], field: str, since: float) -> bool:
    value = doc.get(field)
    return not isinstance(value, int | float) or isinstance(value, bool) or value < since
