"""`pwreset db copy`: everything one store holds, moved into the other (embedded ⇄
PostgreSQL), as stored: sealed records stay sealed, so no data key is needed on the way.

The destination is cleared first, so a copy can be run again after a failure or a change of
mind; the counts read from the source are checked against the destination's at the end.
Not copied: the replay guard's request ids, which are only kept for a minute or two and
mean nothing once the servers have been stopped for the copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol, TypeVar

from pwreset.server.storage.audit import AuditEvent
from pwreset.server.storage.database import Database
from pwreset.server.storage.errors import StorageError
from pwreset.server.storage.journal_storage import decode_document, encode_document
from pwreset.server.storage.keyed import STRIKES_TABLE
from pwreset.server.storage.keyed import TABLE as KEYED_TABLE
from pwreset.server.storage.users import TABLE as USERS_TABLE

# The parts of a store, in the order they are copied.
PARTS = ("users", "keyed", "strikes", "audit")
_TABLES = {"users": USERS_TABLE, "keyed": KEYED_TABLE, "strikes": STRIKES_TABLE}
_BATCH = 2000

Document = tuple[str, dict[str, Any]]
T = TypeVar("T")


@dataclass(frozen=True)
class Counts:
    users: int
    keyed: int
    strikes: int
    audit: int

    def __str__(self) -> str:
        return ", ".join(f"{getattr(self, part)} {part}" for part in PARTS).replace(
            "audit", "audit events"
        )


class Contents(Protocol):
    """One store's contents, as the copy reads and writes them."""

    def counts(self) -> Counts: ...

    def documents(self, part: str) -> Iterator[Document]:
        """The (key, document) pairs of "users", "keyed" or "strikes"."""
        ...

    def events(self) -> Iterator[AuditEvent]: ...

    def clear(self) -> None: ...

    def load_documents(self, part: str, batch: list[Document]) -> None: ...

    def load_events(self, batch: list[AuditEvent]) -> None: ...

    def finish(self) -> None:
        """Make the loaded contents final (a snapshot, a commit)."""
        ...


class Progress(Protocol):
    def start(self, counts: Counts) -> None: ...

    def advance(self, part: str, done: int) -> None: ...


def copy_contents(source: Contents, destination: Contents, progress: Progress | None) -> Counts:
    """Clear `destination`, copy everything of `source` into it, check the counts; the
    destination's counts. Raises StorageError if they differ from the source's."""
    expected = source.counts()
    if progress is not None:
        progress.start(expected)
    destination.clear()
    for part in _TABLES:
        for documents in _batches(source.documents(part)):
            destination.load_documents(part, documents)
            if progress is not None:
                progress.advance(part, len(documents))
    for events in _batches(source.events()):
        destination.load_events(events)
        if progress is not None:
            progress.advance("audit", len(events))
    destination.finish()
    found = destination.counts()
    if found != expected:
        raise StorageError(
            f"the copy does not match its source: {expected} there, {found} here; run it again"
        )
    return found


def _batches(items: Iterable[T]) -> Iterator[list[T]]:
    it = iter(items)
    while batch := list(islice(it, _BATCH)):
        yield batch


class EmbeddedContents:
    """The contents of an embedded store opened as its owner."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._storage = db.storage

    def counts(self) -> Counts:
        tables = {part: self._storage.count(table) for part, table in _TABLES.items()}
        return Counts(**tables, audit=sum(1 for _ in self._db.audit.query()))

    def documents(self, part: str) -> Iterator[Document]:
        for key, value in self._storage.items(_TABLES[part]):
            yield key, decode_document(value)

    def events(self) -> Iterator[AuditEvent]:
        return self._db.audit.query()

    def clear(self) -> None:
        for table in _TABLES.values():
            self._storage.delete_many(table, [key for key, _ in self._storage.items(table)])
        self._db.audit.clear()

    def load_documents(self, part: str, batch: list[Document]) -> None:
        self._storage.put_many(_TABLES[part], [(k, encode_document(d)) for k, d in batch])

    def load_events(self, batch: list[AuditEvent]) -> None:
        self._db.audit.append_many(batch)

    def finish(self) -> None:
        self._storage.compact()  # one snapshot instead of a journal of the whole load
