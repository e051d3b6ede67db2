"""The request ids the servers accepted, in PostgreSQL: a datagram that one server handled
is refused by every other server on the database (a recorded datagram replayed to another
server), and by the same one after a restart. Each id is kept until its timestamp has left
the window; a request is accepted only if its id was not there yet, in one statement.

The relay's failover resends the very datagram to the next server. Each request is one
transaction (`unit`): the acceptance, the flow's writes and the sealed reply commit
together. So the next server finds either nothing (the first died before committing, and
PostgreSQL rolled all of it back: it runs the request itself) or the reply, which it sends
back without running the request again. While the first server is still working, the
second's acceptance waits for its commit."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from pwreset.protocol.errors import ReplayedRequest
from pwreset.server.storage.postgres.connections import Connections
from pwreset.server.storage.postgres.schema import REPLAY

# Stale ids are deleted at most this often (seconds), by whichever request comes next.
_SWEEP_EVERY = 30.0


class PostgresReplayJournal:
    """`store.RequestJournal` on PostgreSQL, shared by every server on the database."""

    def __init__(
        self, connections: Connections, window: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = connections
        self._window = window
        self._clock = clock
        self._swept = 0.0
        # Nothing to hand the memory guard: every acceptance is checked against the table.
        self.restored: list[tuple[bytes, float]] = []

    def unit(self) -> AbstractContextManager[None]:
        return self._db.transaction()

    def record(
        self, request_id: bytes, timestamp: float, digest: bytes, origin: str
    ) -> bytes | None:
        """None once the id is stored (committed with the unit); the sealed reply if a
        server already answered this very datagram (`digest`) from the same relay host;
        else ReplayedRequest."""
        now = self._clock()
        if now - self._swept >= _SWEEP_EVERY:
            self._swept = now
            # On its own: rows deleted inside a request's transaction would stay locked
            # until it commits, and another server's sweep would wait for it.
            with self._db.unpinned(), self._db.connection() as conn:
                conn.execute(f"DELETE FROM {REPLAY} WHERE expires < %s", (now,))
        with self._db.connection() as conn:
            done = conn.execute(
                f"INSERT INTO {REPLAY} (request_id, expires, datagram, origin) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (request_id) DO NOTHING",
                (request_id, timestamp + self._window, digest, origin),
            )
            if done.rowcount == 1:
                return None
            row = conn.execute(
                f"SELECT datagram, origin, reply FROM {REPLAY} WHERE request_id = %s",
                (request_id,),
            ).fetchone()
        if row is not None and row[2] is not None and bytes(row[0]) == digest and row[1] == origin:
            return bytes(row[2])
        raise ReplayedRequest(f"request id {request_id.hex()} was already accepted by a server")

    def answered(self, request_id: bytes, sealed_reply: bytes) -> None:
        """Keep the reply beside the id, for a retry that reaches another server."""
        with self._db.connection() as conn:
            conn.execute(
                f"UPDATE {REPLAY} SET reply = %s WHERE request_id = %s",
                (sealed_reply, request_id),
            )

    def close(self) -> None:
        """The connections belong to the store, which closes them."""
