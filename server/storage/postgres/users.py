"""Users in PostgreSQL: the embedded store's documents (clear fields, the enrollment and code
sealed under the data key, see `storage.users`) in one row per user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from psycopg.types.json import Json

from pwreset.server.storage.postgres.connections import Connections, lock_key
from pwreset.server.storage.postgres.schema import USERS
from pwreset.server.storage.record_cipher import RecordCipher
from pwreset.server.storage.users import (
    UserRecord,
    decode_user,
    encode_user,
    sealed_by_another_key,
    user_key,
    user_row,
)


def _key(domain: str, username: str) -> bytes:
    return user_key(domain, username).encode("utf-8")


class PostgresUsers:
    """`store.Users` on PostgreSQL; `locked` holds across every server on the database."""

    def __init__(self, connections: Connections, cipher: RecordCipher | None) -> None:
        self._db = connections
        self._cipher = cipher

    def locked(self, domain: str, username: str) -> AbstractContextManager[None]:
        return self._db.locked(lock_key("user", user_key(domain, username)))

    def get(self, domain: str, username: str) -> UserRecord | None:
        doc = self._document(_key(domain, username))
        return None if doc is None else decode_user(doc, self._cipher)

    def save(self, record: UserRecord) -> None:
        self.put_document(_key(record.domain, record.username), encode_user(record, self._cipher))

    def put_document(self, key: bytes, doc: dict[str, Any]) -> None:
        with self._db.connection() as conn:
            conn.execute(
                f"INSERT INTO {USERS} (key, doc) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET doc = EXCLUDED.doc",
                (key, Json(doc)),
            )

    def delete(self, domain: str, username: str) -> bool:
        with self._db.connection() as conn:
            done = conn.execute(f"DELETE FROM {USERS} WHERE key = %s", (_key(domain, username),))
            return done.rowcount > 0

    def documents(self) -> Iterator[tuple[bytes, dict[str, Any]]]:
        """Every stored document with its key, as stored (sealed parts stay sealed)."""
        with self._db.connection() as conn:
            rows = conn.execute(f"SELECT key, doc FROM {USERS} ORDER BY key").fetchall()
        for key, doc in rows:
            yield bytes(key), doc

    def __len__(self) -> int:
        with self._db.connection() as conn:
            row = conn.execute(f"SELECT count(*) FROM {USERS}").fetchone()
        return int(row[0]) if row else 0

    def __iter__(self) -> Iterator[UserRecord]:
        for _, doc in self.documents():
            yield decode_user(doc, self._cipher)

    def rows(self) -> Iterator[dict[str, Any]]:
        for _, doc in self.documents():
            yield user_row(doc)

    def reseal(self, record: UserRecord) -> bool:
        if not sealed_by_another_key(self._document(_key(record.domain, record.username)),
                                     self._cipher):  # fmt: skip
            return False
        self.save(record)
        return True

    def _document(self, key: bytes) -> dict[str, Any] | None:
        with self._db.connection() as conn:
            row = conn.execute(f"SELECT doc FROM {USERS} WHERE key = %s", (key,)).fetchone()
        return None if row is None else row[0]
