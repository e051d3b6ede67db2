"""Which servers run on the database now. Each server, while its store is open, holds an
advisory lock named after its id on a connection of its own, and lists itself in
`pwreset_servers`. A server killed loses the connection and with it the lock, so a listed
server whose lock can be taken is gone: what it left in progress is for the next start to
settle (see `flows.pending`), and no running server's work is touched."""

from __future__ import annotations

import logging
import secrets
import threading
import time

import psycopg
from psycopg.rows import TupleRow

from pwreset.server.storage.errors import StorageError
from pwreset.server.storage.postgres.connections import Connections, lock_key
from pwreset.server.storage.postgres.schema import SERVERS

log = logging.getLogger("pwreset.storage")


def _lock(server_id: str) -> int:
    return lock_key("server", server_id)


class Presence:
    """This server's presence on the database, from `Presence.announce` to `withdraw`."""

    # Seconds between two checks that the lock is still held (see `keep`).
    check_every = 5.0

    def __init__(self, connections: Connections, conn: psycopg.Connection[TupleRow],
                 server_id: str, gone: list[str]) -> None:  # fmt: skip
        self._db = connections
        self._conn = conn
        self.server_id = server_id
        # Servers listed but gone when this one started: killed, or cut off for good.
        self.gone = gone
        self._checked = time.monotonic()
        self._checking = threading.Lock()

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

    def keep(self) -> None:
        """Take the lock again on a new connection if the database dropped this one (a
        restart, a failover), so other servers do not take this one for gone. Looked at no
        more often than every `check_every` seconds."""
        if time.monotonic() - self._checked < self.check_every:
            return
        with self._checking:
            if time.monotonic() - self._checked < self.check_every:
                return
            self._checked = time.monotonic()
            try:
                self._conn.execute("SELECT 1")
                return
            except psycopg.Error:
                self._conn.close()
            try:
                conn = self._db.dedicated()
            except StorageError as exc:
                log.warning("this server's presence could not be taken again: %s", exc)
                return
            try:
                conn.execute("SELECT pg_advisory_lock(%s)", (_lock(self.server_id),))
                conn.execute(
                    f"INSERT INTO {SERVERS} (server_id, started) VALUES (%s, %s) "
                    "ON CONFLICT (server_id) DO NOTHING",
                    (self.server_id, time.time()),
                )
            except psycopg.Error as exc:
                conn.close()
                log.warning("this server's presence could not be taken again: %s", exc)
                return
            self._conn = conn
            log.warning("the database dropped the connection that marks this server as running; "
                        "it is taken again")  # fmt: skip

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
