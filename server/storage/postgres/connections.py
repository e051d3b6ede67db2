"""The connections of one PostgreSQL store: a pool, and the locks that make a read, a
decision and a write by one server wait for those of every other server.

A lock is a session-level advisory lock on a connection pinned to the thread for as long
as it holds any lock, and every statement that thread runs meanwhile goes through that
connection. Each statement commits on its own (autocommit), so a write is durable when it
returns, exactly as in the embedded store, and the lock spans several of them. A server
that dies drops its connections, and PostgreSQL releases their locks with them.

A request the server handles is one transaction instead (`transaction`): its acceptance in
the replay table, every write of its flow and its sealed reply commit together, and the
locks it took are released only after the commit, so another server never reads a write
that may still be rolled back. A server killed midway leaves none of it: the server that
takes the relay's retry runs the request afresh. A write that must outlive such a death (the
note of a directory write) goes through a connection of its own (`unpinned`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool, PoolTimeout

from pwreset.config.dsn import shown_dsn
from pwreset.server.storage.errors import StorageError

log = logging.getLogger("pwreset.storage")

# Seconds to wait for a connection (from the pool, or a first one at start-up).
CONNECT_TIMEOUT = 10.0


class PostgresError(StorageError):
    """PostgreSQL refused or failed a statement, or cannot be reached."""

    code = "postgres_error"


def lock_key(kind: str, name: str) -> int:
    """The advisory-lock id of `name` in `kind`: a signed 64-bit hash (PostgreSQL's
    bigint), so any name maps to a lock and two unrelated ones share one only rarely."""
    digest = hashlib.blake2b(f"{kind}\0{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass
class _Pinned:
    conn: psycopg.Connection[TupleRow]
    held: dict[int, int] = field(default_factory=dict)  # lock id → how often taken
    broken: bool = False
    # Inside `transaction`: locks whose blocks ended, released after the commit.
    in_transaction: bool = False
    released: set[int] = field(default_factory=set)
    # Inside `unpinned`: statements go through a pool connection meanwhile.
    bypassed: int = 0


class Connections:
    """A pool of autocommit connections to `dsn` (which holds no password: see `dsn`)."""

    def __init__(self, dsn: str, password: str | None, *, max_size: int) -> None:
        self.shown = shown_dsn(dsn)
        kwargs: dict[str, Any] = {"autocommit": True, "application_name": "pwreset"}
        if password:
            kwargs["password"] = password
        self._password = password
        self._dsn = dsn
        self._kwargs = kwargs
        self.dedicated().close()  # a first connection on its own: its failure says why
        self._pool: ConnectionPool[psycopg.Connection[TupleRow]] = ConnectionPool(
            dsn,
            kwargs=kwargs,
            min_size=1,
            max_size=max_size,
            timeout=CONNECT_TIMEOUT,
            # One round trip per checkout: after a restart or a failover of the database the
            # dropped connections are replaced before a request uses them, not after it failed.
            check=ConnectionPool.check_connection,
            open=False,
            name="pwreset",
        )
        with self._translated("connecting"):
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        self._local = threading.local()

    def dedicated(self) -> psycopg.Connection[TupleRow]:
        """A connection of its own, outside the pool (the caller closes it). Its failure
        says why, where the pool's only times out."""
        with self._translated("connecting"):
            return psycopg.connect(self._dsn, connect_timeout=int(CONNECT_TIMEOUT), **self._kwargs)

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[TupleRow]]:
        """The thread's pinned connection while it holds a lock, else one from the pool."""
        pinned: _Pinned | None = getattr(self._local, "pinned", None)
        if pinned is not None and not pinned.bypassed:
            with self._translated("a statement"):
                yield pinned.conn
            return
        with self._translated("a statement"), self._pool.connection() as conn:
            yield conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block as one transaction on the thread's pinned connection: committed
        when it ends, rolled back if it raises (or if the process dies). Locks taken in it
        are held until it has ended."""
        pinned = self._pin()
        pinned.in_transaction = True
        try:
            with self._translated("a transaction"), pinned.conn.transaction():
                yield
        finally:
            pinned.in_transaction = False
            for key in pinned.released:
                self._unlock(pinned, key)
            pinned.released.clear()
            self._unpin(pinned)

    @contextlib.contextmanager
    def unpinned(self) -> Iterator[None]:
        """Statements of the block commit on their own, outside the thread's transaction."""
        pinned: _Pinned | None = getattr(self._local, "pinned", None)
        if pinned is None:
            yield
            return
        pinned.bypassed += 1
        try:
            yield
        finally:
            pinned.bypassed -= 1

    def _pin(self) -> _Pinned:
        pinned: _Pinned | None = getattr(self._local, "pinned", None)
        if pinned is None:
            with self._translated("connecting"):
                pinned = _Pinned(self._pool.getconn())
            self._local.pinned = pinned
        return pinned

    @contextlib.contextmanager
    def locked(self, key: int) -> Iterator[None]:
        """Hold advisory lock `key` for the block, across every server on this database.
        Re-entrant within a thread."""
        pinned = self._pin()
        try:
            if key in pinned.released:
                pinned.released.discard(key)  # still held since an earlier block
            elif key not in pinned.held:
                with self._translated("taking a lock"):
                    pinned.conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            pinned.held[key] = pinned.held.get(key, 0) + 1
        except BaseException:
            self._unpin(pinned)
            raise
        try:
            yield
        finally:
            pinned.held[key] -= 1
            if not pinned.held[key]:
                del pinned.held[key]
                if pinned.in_transaction:
                    pinned.released.add(key)
                else:
                    self._unlock(pinned, key)
            self._unpin(pinned)

    def _unlock(self, pinned: _Pinned, key: int) -> None:
        try:
            pinned.conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        except psycopg.Error:
            # Closing the connection releases the lock on the server's side.
            log.warning("an advisory lock could not be released; closing its connection")
            pinned.broken = True

    def _unpin(self, pinned: _Pinned) -> None:
        if (pinned.held or pinned.in_transaction) and not pinned.broken:
            return
        self._local.pinned = None
        if pinned.broken:
            pinned.conn.close()
        self._pool.putconn(pinned.conn)

    def close(self) -> None:
        self._pool.close()

    @contextlib.contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        """psycopg's errors as a PostgresError naming the server (never the password)."""
        try:
            yield
        except PoolTimeout:
            raise PostgresError(
                f"PostgreSQL at {self.shown}: no connection within {CONNECT_TIMEOUT:g} seconds"
            ) from None
        except psycopg.Error as exc:
            reason = self._scrub(exc)
            raise PostgresError(f"PostgreSQL at {self.shown}: {what} failed: {reason}") from None

    def _scrub(self, exc: BaseException) -> str:
        message = str(exc).strip() or type(exc).__name__
        return message.replace(self._password, "***") if self._password else message
