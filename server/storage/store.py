"""The store the flows use, as an interface: users, the audit log and keyed records.

`Database` (TinyDB tables on the journaled storage, audit segments beside them) is the
embedded implementation; `postgres.PostgresStore`, a database shared by several servers, is
the other. The flows
name only these protocols and the records they carry (`UserRecord`, `AuditEvent`), so an
implementation plugs in without touching them. Every write is durable when it returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Protocol, Self

from pwreset.server.storage.audit import AuditEvent
from pwreset.server.storage.users import UserRecord


class ClosedAfterUse:
    """`with store:` closes the store when the block ends (both stores)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Users(Protocol):
    """Users by (domain, username), case-insensitive (the original's `Usr`)."""

    def locked(self, domain: str, username: str) -> AbstractContextManager[None]:
        """Held while reading, deciding on and saving one user's record, so concurrent
        requests for that user are applied one after the other. Re-entrant."""
        ...

    def get(self, domain: str, username: str) -> UserRecord | None: ...

    def save(self, record: UserRecord) -> None: ...

    def delete(self, domain: str, username: str) -> bool: ...

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every user's clear fields plus `enrolled` and `key_id`; needs no data key."""
        ...

    def reseal(self, record: UserRecord) -> bool:
        """Save `record` again if the current data key did not seal it."""
        ...

    def __iter__(self) -> Iterator[UserRecord]: ...

    def __len__(self) -> int: ...


class AuditTrail(Protocol):
    """Append-only audit events (the original's `aprlog.sdf`)."""

    def append(self, event: AuditEvent) -> None: ...

    def query(
        self, *, since: float | None = None, until: float | None = None
    ) -> Iterator[AuditEvent]:
        """Events with since <= time < until, oldest day first."""
        ...

    def days(self) -> list[str]:
        """The UTC days (YYYY-MM-DD) that hold events, oldest first."""
        ...


class KeyedRecords(Protocol):
    """Small clear documents filed under a keyed hash (see `keyed`)."""

    def locked(self) -> AbstractContextManager[None]:
        """Held while reading, deciding on and writing keyed records; taken after a
        user's lock, never before."""
        ...

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, doc: dict[str, Any]) -> None: ...

    def delete(self, key: str) -> bool: ...

    def delete_many(self, keys: list[str]) -> int: ...

    def items(self, prefix: str) -> list[tuple[str, dict[str, Any]]]: ...

    def delete_untouched(self, keys: list[str], since: float, field: str = "touched") -> int:
        """Remove those of `keys` whose `field` is not a time at or after `since`, judged
        atomically with any write to them; how many went."""
        ...

    def expire(self, untouched_since: float) -> int: ...

    def __len__(self) -> int: ...


class Store(Protocol):
    """What a flow holds as `ctx.db`."""

    @property
    def users(self) -> Users: ...

    @property
    def audit(self) -> AuditTrail: ...

    @property
    def keyed(self) -> KeyedRecords: ...

    @property
    def strikes(self) -> KeyedRecords:
        """Wrong tries counted for names that have no enrollment (the decoys' lockout)."""
        ...

    @property
    def unclean_stop(self) -> bool:
        """A server that used this store died without closing (audit rows and notes to
        restore)."""
        ...

    @property
    def server_id(self) -> str:
        """This server among those sharing the store ("" for a store of one server); notes
        of work in progress carry it."""
        ...

    def is_running(self, server_id: str) -> bool:
        """True if the server `server_id` still runs on this store: its work in progress is
        its own, not left over by a stop."""
        ...

    def require_room(self) -> None:
        """Raise StorageFullError unless a request that may write can be let in."""
        ...

    def at_once(self) -> AbstractContextManager[None]:
        """Writes in the block are durable when they return, even inside a request's
        transaction (`RequestJournal.unit`): a note that must outlive a server killed
        before the request commits."""
        ...

    def close(self) -> None: ...


class RequestJournal(Protocol):
    """The request ids the server accepted, kept where a restart (and, when shared, another
    server) finds them: a replayed datagram is refused there too."""

    # Accepted before this start and still inside the window, for the memory guard.
    restored: list[tuple[bytes, float]]

    def unit(self) -> AbstractContextManager[None]:
        """One request's work, from its acceptance to its reply: on a shared journal a
        transaction with the store's writes, so a server dying midway leaves none of them
        and the server that takes the relay's retry runs the request afresh."""
        ...

    def record(
        self, request_id: bytes, timestamp: float, digest: bytes, origin: str
    ) -> bytes | None:
        """Return None once the acceptance is durable (in `unit`). A shared journal returns
        the sealed reply another server gave to this very datagram (`digest`, sent from
        the host `origin`) instead. Raises ReplayedRequest if the id was accepted otherwise,
        StorageFullError or OSError if it cannot be kept."""
        ...

    def answered(self, request_id: bytes, sealed_reply: bytes) -> None:
        """Keep the reply for a retry that reaches another server (a shared journal)."""
        ...

    def close(self) -> None: ...
