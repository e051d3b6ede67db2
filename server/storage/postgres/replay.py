"""The request ids the servers accepted, in PostgreSQL: a datagram that one server handled
is refused by every other server on the database (a recorded datagram replayed to another
server), and by the same one after a restart. Each id is kept until its timestamp has left
the window; a request is accepted only if its id was not there yet, in one statement."""

from __future__ import annotations

import time
from collections.abc import Callable

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

    def record(self, request_id: bytes, timestamp: float) -> None:
        """Return once the id is stored; ReplayedRequest if a server already accepted it."""
        now = self._clock()
        with self._db.connection() as conn:
            if now - self._swept >= _SWEEP_EVERY:
                self._swept = now
                conn.execute(f"DELETE FROM {REPLAY} WHERE expires < %s", (now,))
            done = conn.execute(
                f"INSERT INTO {REPLAY} (request_id, expires) VALUES (%s, %s) "
                "ON CONFLICT (request_id) DO NOTHING",
                (request_id, timestamp + self._window),
            )
            if done.rowcount == 0:
                raise ReplayedRequest(
                    f"request id {request_id.hex()} was already accepted by a server"
                )

    def close(self) -> None:
        """The connections belong to the store, which closes them."""
