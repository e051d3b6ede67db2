"""`PostgresStore`: the store of several servers sharing one PostgreSQL database.

Everything the embedded store keeps is here: users (enrollments, wrong-answer counts,
lockouts, code state, sealed under the data key exactly as on disk), keyed records (code
sending limits, decoy codes, notes of directory writes in progress), the decoys' strikes,
the audit log and the request ids of the replay guard. Each write is durable when it
returns (autocommit, PostgreSQL's own WAL); the locks hold across servers (`connections`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from pwreset.server.storage.keyed import STRIKES_TABLE
from pwreset.server.storage.keyed import TABLE as KEYED_KIND
from pwreset.server.storage.postgres.audit import PostgresAudit
from pwreset.server.storage.postgres.connections import Connections
from pwreset.server.storage.postgres.keyed import PostgresKeyed
from pwreset.server.storage.postgres.presence import Presence
from pwreset.server.storage.postgres.schema import create_schema
from pwreset.server.storage.postgres.users import PostgresUsers
from pwreset.server.storage.record_cipher import RecordCipher
from pwreset.server.storage.store import ClosedAfterUse, Store

# Connections beyond two per worker thread (its request's transaction, and the notes written
# beside it): housekeeping, start-up work.
_SPARE_CONNECTIONS = 4


class PostgresStore(ClosedAfterUse):
    """Open with `PostgresStore.open`; `close` when done."""

    def __init__(self, connections: Connections, cipher: RecordCipher | None,
                 audit_retention_days: int, presence: Presence) -> None:  # fmt: skip
        self.connections = connections
        self.users = PostgresUsers(connections, cipher)
        self.audit = PostgresAudit(connections, retention_days=audit_retention_days)
        self.keyed = PostgresKeyed(connections, KEYED_KIND)
        self.strikes = PostgresKeyed(connections, STRIKES_TABLE)
        self._presence = presence
        self.server_id = presence.server_id
        # A server on this database died without closing: its work in progress is settled
        # at this start (and only its: `is_running` tells the others' apart).
        self.unclean_stop = bool(presence.gone)

    def is_running(self, server_id: str) -> bool:
        return self._presence.is_running(server_id)

    @classmethod
    def open(
        cls,
        dsn: str,
        *,
        password: str | None,
        data_key: bytes | None,
        previous_keys: Sequence[bytes] = (),
        audit_retention_days: int = 0,
        workers: int = 8,
    ) -> PostgresStore:
        """Connect, create the tables if missing and apply the audit retention. Raises
        PostgresError (a StorageError) naming the server, never the password."""
        connections = Connections(dsn, password, max_size=2 * workers + _SPARE_CONNECTIONS)
        try:
            create_schema(connections)
            cipher = RecordCipher(data_key, previous_keys) if data_key is not None else None
            presence = Presence.announce(connections)
        except BaseException:
            connections.close()
            raise
        store = cls(connections, cipher, audit_retention_days, presence)
        try:
            store.audit.apply_retention()
        except BaseException:
            store.close()
            raise
        return store

    def require_room(self) -> None:
        """PostgreSQL refuses a write it has no room for, and the flow fails then; there
        is no folder here to look at beforehand. Called before every request that may write,
        it keeps this server's presence (`Presence.keep`) instead."""
        self._presence.keep()

    def at_once(self) -> AbstractContextManager[None]:
        return self.connections.unpinned()

    def close(self) -> None:
        try:
            self._presence.withdraw()
        finally:
            self.connections.close()


if TYPE_CHECKING:
    _IS_A_STORE: type[Store] = PostgresStore  # mypy checks that it implements Store
