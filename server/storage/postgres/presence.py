"""Which servers run on the database now. Each server, while its store is open, holds an
advisory lock named after its id on a connection of its own, and lists itself in
`pwreset_servers`. A server killed loses the connection and with it the lock, so a listed
server whose lock can be taken is gone: what it left in progress is for the next start to
settle (see `flows.pending`), and no running server's work is touched."""

from __future__ import annotations

import logging
import secrets
import time

import psycopg
from psycopg.rows import TupleRow

from pwreset.server.storage.postgres.connections import Connections, lock_key
from pwreset.server.storage.postgres.schema import SERVERS

log = logging.getLogger("pwreset.storage")


def _lock(server_id: str) -> int:
    return lock_key("server", server_id)


class Presence:
    """This server's presence on the database, from `Presence.announce` to `withdraw`."""

    def __init__(self, connections: Connections, conn: psycopg.Connection[TupleRow],
                 server_id: str, gone: list[str]) -> None:  # fmt: skip
        self._db = connections
        self._conn = conn
        self.server_id = server_id
        # Servers listed but gone when this one started: killed, or cut off for good.
        self.gone = gone

    @classmethod
    def announce(cls, connections: Connections) -> Presence:
        server_id = secrets.token_hex(8)
        conn = connections.dedicated()
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (_lock(server_id),))
            conn.execute(
                f"INSERT INTO {SERVERS} (server_id, started) VALUES (%s, %s)",
                (server_id, time.time()),
            )
            listed = [str(row[0]) for row in conn.execute(f"SELECT server_id FROM {SERVERS}")]
        except BaseException:
            conn.close()
            raise
        presence = cls(connections, conn, server_id, [])
        presence.gone = [other for other in listed if not presence.is_running(other)]
        with connections.connection() as pooled:
            pooled.execute(f"DELETE FROM {SERVERS} WHERE server_id = ANY(%s)", (presence.gone,))
        return presence

    def is_running(self, server_id: str) -> bool:
        """True if the server `server_id` still holds its lock (it is running)."""
        if server_id == self.server_id:
            return True
        with self._db.connection() as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (_lock(server_id),)).fetchone()
            free = bool(row and row[0])
            if free:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_lock(server_id),))
        return not free

    def withdraw(self) -> None:
        """A clean stop: no longer listed, and the lock released with the connection."""
        try:
            self._conn.execute(f"DELETE FROM {SERVERS} WHERE server_id = %s", (self.server_id,))
        except psycopg.Error as exc:
            # Still listed, but the lock goes with the connection: the next start sees it
            # as gone and settles nothing of it that is not left over.
            log.warning("this server could not take itself off the list of servers: %s", exc)
        finally:
            self._conn.close()
