"""Keyed records in PostgreSQL (see `storage.keyed`): one table, a `kind` per store (the
flows' keyed records, the decoys' strikes). `locked` holds across every server."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from psycopg.types.json import Json

from pwreset.server.storage.postgres.connections import Connections, lock_key
from pwreset.server.storage.postgres.schema import KEYED


def touched_of(doc: dict[str, Any]) -> float | None:
    """The document's `touched` time, kept in its own column for expiry."""
    touched = doc.get("touched")
    if isinstance(touched, int | float) and not isinstance(touched, bool):
        return float(touched)
    return None


class PostgresKeyed:
    """`store.KeyedRecords` on PostgreSQL, for the records of one `kind`."""

    def __init__(self, connections: Connections, kind: str) -> None:
        self._db = connections
        self.kind = kind

    def locked(self) -> AbstractContextManager[None]:
        return self._db.locked(lock_key("keyed", self.kind))

    def get(self, key: str) -> dict[str, Any] | None:
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT doc FROM {KEYED} WHERE kind = %s AND key = %s",
                (self.kind, key.encode("utf-8")),
            ).fetchone()
        return None if row is None else dict(row[0])

    def put(self, key: str, doc: dict[str, Any]) -> None:
        self.put_many([(key, doc)])

    def put_many(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Write every (key, document) pair in one transaction."""
        rows = [(self.kind, key.encode("utf-8"), Json(doc), touched_of(doc)) for key, doc in items]
        with self._db.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {KEYED} (kind, key, doc, touched) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (kind, key) DO UPDATE SET doc = EXCLUDED.doc, "
                "touched = EXCLUDED.touched",
                rows,
            )

    def delete(self, key: str) -> bool:
        return self.delete_many([key]) > 0

    def delete_many(self, keys: list[str]) -> int:
        if not keys:
            return 0
        with self._db.connection() as conn:
            done = conn.execute(
                f"DELETE FROM {KEYED} WHERE kind = %s AND key = ANY(%s)",
                (self.kind, [key.encode("utf-8") for key in keys]),
            )
            return done.rowcount

    def items(self, prefix: str) -> list[tuple[str, dict[str, Any]]]:
        start = prefix.encode("utf-8")
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT key, doc FROM {KEYED} WHERE kind = %s AND substr(key, 1, %s) = %s "
                "ORDER BY key",
                (self.kind, len(start), start),
            ).fetchall()
        return [(bytes(key).decode("utf-8"), dict(doc)) for key, doc in rows]

    def delete_untouched(self, keys: list[str], since: float, field: str = "touched") -> int:
        """One statement: a document written meanwhile by any server is judged as it is."""
        if not keys:
            return 0
        with self._db.connection() as conn:
            done = conn.execute(
                # CASE: only a number is cast (AND may evaluate its sides in any order).
                f"DELETE FROM {KEYED} WHERE kind = %s AND key = ANY(%s) AND NOT COALESCE("
                "CASE WHEN json_typeof(doc -> %s) = 'number' "
                "THEN (doc ->> %s)::float8 >= %s END, false)",
                (self.kind, [key.encode("utf-8") for key in keys], field, field, since),
            )
            return done.rowcount

    def expire(self, untouched_since: float) -> int:
        # One statement, under the lock: a record being used right now is not taken away.
        with self.locked(), self._db.connection() as conn:
            done = conn.execute(
                f"DELETE FROM {KEYED} WHERE kind = %s AND (touched IS NULL OR touched < %s)",
                (self.kind, untouched_since),
            )
            return done.rowcount

    def __len__(self) -> int:
        with self._db.connection() as conn:
            row = conn.execute(f"SELECT count(*) FROM {KEYED} WHERE kind = %s", (self.kind,))
            found = row.fetchone()
        return int(found[0]) if found else 0
