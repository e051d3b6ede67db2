"""A PostgreSQL store's contents for `pwreset db copy` (see `storage.transfer`), all on one
connection in one transaction: read from a consistent snapshot, and written all or nothing
(a copy cut short leaves the database as it was)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Json

from pwreset.server.storage.audit import AuditEvent
from pwreset.server.storage.keyed import STRIKES_TABLE
from pwreset.server.storage.keyed import TABLE as KEYED_KIND
from pwreset.server.storage.postgres.audit import COLUMNS
from pwreset.server.storage.postgres.keyed import touched_of
from pwreset.server.storage.postgres.schema import AUDIT, KEYED, USERS
from pwreset.server.storage.postgres.store import PostgresStore
from pwreset.server.storage.transfer import Counts, Document

_KINDS = {"keyed": KEYED_KIND, "strikes": STRIKES_TABLE}
_READ_BATCH = 2000


@contextlib.contextmanager
def contents_of(store: PostgresStore, *, reading: bool) -> Iterator[PostgresContents]:
    """`store`'s contents for the block: `reading` from a read-only snapshot; otherwise the
    writes are committed when the block ends without an error."""
    with store.connections.connection() as conn, conn.transaction():
        if reading:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield PostgresContents(conn)


class PostgresContents:
    """`transfer.Contents` on one connection inside its transaction (see `contents_of`)."""

    def __init__(self, conn: psycopg.Connection[TupleRow]) -> None:
        self._db = conn

    def counts(self) -> Counts:
        def count(query: str, *args: str) -> int:
            found = self._db.execute(query, args).fetchone()
            return int(found[0]) if found else 0

        keyed = f"SELECT count(*) FROM {KEYED} WHERE kind = %s"
        return Counts(
            users=count(f"SELECT count(*) FROM {USERS}"),
            keyed=count(keyed, KEYED_KIND),
            strikes=count(keyed, STRIKES_TABLE),
            audit=count(f"SELECT count(*) FROM {AUDIT}"),
        )

    def documents(self, part: str) -> Iterator[Document]:
        query = f"SELECT key, doc FROM {USERS} ORDER BY key"
        args: tuple[str, ...] = ()
        if part != "users":
            query = f"SELECT key, doc FROM {KEYED} WHERE kind = %s ORDER BY key"
            args = (_KINDS[part],)
        with self._db.cursor(name=f"pwreset_copy_{part}") as cursor:
            cursor.itersize = _READ_BATCH
            cursor.execute(query, args)
            for key, doc in cursor:
                yield bytes(key).decode("utf-8"), dict(doc)

    def events(self) -> Iterator[AuditEvent]:
        with self._db.cursor(name="pwreset_copy_audit") as cursor:
            cursor.itersize = _READ_BATCH
            cursor.execute(f'SELECT {COLUMNS} FROM {AUDIT} ORDER BY "time", id')
            for row in cursor:
                yield AuditEvent(*row)

    def clear(self) -> None:
        self._db.execute(f"TRUNCATE {USERS}, {KEYED}, {AUDIT} RESTART IDENTITY")

    def load_documents(self, part: str, batch: list[Document]) -> None:
        with self._db.cursor() as cursor:
            if part == "users":
                with cursor.copy(f"COPY {USERS} (key, doc) FROM STDIN") as copy:
                    for key, doc in batch:
                        copy.write_row((key.encode("utf-8"), Json(doc)))
                return
            with cursor.copy(f"COPY {KEYED} (kind, key, doc, touched) FROM STDIN") as copy:
                for key, doc in batch:
                    copy.write_row((_KINDS[part], key.encode("utf-8"), Json(doc), touched_of(doc)))

    def load_events(self, batch: list[AuditEvent]) -> None:
        with (
            self._db.cursor() as cursor,
            cursor.copy(f"COPY {AUDIT} ({COLUMNS}) FROM STDIN") as copy,
        ):
            for event in batch:
                copy.write_row(dataclasses.astuple(event))

    def finish(self) -> None:
        """The transaction commits when the `with` block ends."""
