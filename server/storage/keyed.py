"""Keyed records: small clear documents filed under a keyed hash (an HMAC made by the
flows) instead of a name or an address, for state that must survive restarts and be shared
by every relay but must not say whom it is about: codes sent per user and per destination,
and the codes of decoy users. Each document carries `touched`, so stale ones can be expired.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from pwreset.server.storage.journal_storage import JournalStorage, decode_document, encode_document

TABLE = "keyed"


class KeyedStore:
    """Documents by opaque key. Thread-safe; `put` is durable."""

    def __init__(self, storage: JournalStorage) -> None:
        self._storage = storage
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
        value = self._storage.get(TABLE, key)
        return None if value is None else decode_document(value)

    def put(self, key: str, doc: dict[str, Any]) -> None:
        self._storage.put(TABLE, key, encode_document(doc))

    def delete(self, key: str) -> bool:
        return self._storage.delete(TABLE, key)

    def items(self, prefix: str) -> list[tuple[str, dict[str, Any]]]:
        """The documents whose key starts with `prefix` (a scan: for start-up work only)."""
        return [
            (key, decode_document(value))
            for key, value in self._storage.items(TABLE)
            if key.startswith(prefix)
        ]

    def expire(self, untouched_since: float) -> int:
        """Remove the documents not touched since `untouched_since`; how many went."""
        removed = 0
        for key, _ in self._storage.items(TABLE):
            with self._lock:  # looked at again under the lock: it may just have been used
                doc = self.get(key)
                touched = doc.get("touched", 0) if doc is not None else 0
                if not isinstance(touched, int | float) or touched < untouched_since:
                    removed += self._storage.delete(TABLE, key)
        return removed

    def __len__(self) -> int:
        return self._storage.count(TABLE)
