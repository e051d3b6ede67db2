"""A TinyDB storage that keeps documents in memory and makes each write durable by itself.

TinyDB's stock JSONStorage rewrites the whole file on every operation. Here a write appends
one record (the changed document, or its removal) to a journal and fsyncs it; the state on
disk is the newest complete snapshot plus the journals after it. Compaction writes a new
snapshot beside the old one and switches by rename, so there is always a loadable set of
files, whatever moment a crash picks:

    snapshot.<G>   every document as of the start of generation G (atomic rename)
    journal.<G>    the writes made during generation G, in order

Documents are held as their encoded JSON (bytes), not as dicts: at 100,000 users that is
the difference between fitting in the memory budget and not.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from pwreset.server.storage.append_file import AppendFile
from pwreset.server.storage.durable import fsync_dir, make_private_dir, write_atomic
from pwreset.server.storage.errors import StorageFullError, StoreCorruptError, StoreReadOnlyError
from pwreset.server.storage.framing import HEAD_SIZE, RecordReader, frame
from pwreset.server.storage.free_space import require_room

log = logging.getLogger("pwreset.storage")

FORMAT = "pwreset-store/1"
_FILE = re.compile(r"^(snapshot|journal)\.(\d{8})$")
_PUT, _DEL, _HEAD, _END = b"P", b"D", b"H", b"E"
_CHUNK = 1 << 20


def encode_document(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_document(value: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(value)
    return doc


class JournalStorage(Storage):
    """Durable, in-memory TinyDB storage over one folder (see the module docstring).

    Besides TinyDB's whole-state `read`/`write`, it offers per-document `get`, `put` and
    `delete`, which `JournaledTable` (tinydb_table) uses so a write costs one record.
    Thread-safe. `read_only=True` loads without writing anything (a torn tail is skipped, not
    cut), for the Data Console reading a running server's files.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        compact_min_records: int = 10_000,
        compact_ratio: float = 1.0,
        **_tinydb_options: Any,
    ) -> None:
        super().__init__()
        self.directory = Path(path)
        self.read_only = read_only
        self.compact_min_records = compact_min_records
        self.compact_ratio = compact_ratio
        self.torn_tails: list[tuple[Path, int, int]] = []  # (file, offset, bytes dropped)
        self._tables: dict[str, dict[str, bytes]] = {}
        self._views: dict[str, _DocumentsView] = {}
        self._lock = threading.Lock()
        self._compact_lock = threading.Lock()
        self._compactor: threading.Thread | None = None
        self._journal: AppendFile | None = None
        self._generation = 0
        self._since_snapshot = 0
        self._closed = False
        if read_only:
            self._load_read_only()
        else:
            make_private_dir(self.directory)
            self._load()
            self._open_journal()

    # -- per-document access --------------------------------------------------------------

    def get(self, table: str, key: str) -> bytes | None:
        docs = self._tables.get(table)
        return None if docs is None else docs.get(key)

    def put(self, table: str, key: str, value: bytes) -> None:
        """Insert or replace one document; durable when this returns."""
        self._write(_encode_op(_PUT, table, key, value), table, key, value)

    def delete(self, table: str, key: str) -> bool:
        """Remove one document; durable when this returns. False if there was none."""
        if self.get(table, key) is None:
            return False
        return self._write(_encode_op(_DEL, table, key, b""), table, key, None)

    def delete_many(
        self,
        table: str,
        keys: list[str],
        doomed: Callable[[dict[str, Any]], bool] | None = None,
    ) -> int:
        """Remove several documents with one sync (a sweep); how many there were. With
        `doomed`, only those it holds for, judged under the lock every write takes (one
        written meanwhile is judged as it is now)."""
        self._check_writable()
        removed = 0
        with self._lock:
            journal = self._journal
            if journal is None:
                raise StoreReadOnlyError(f"{self.directory}: the store is closed")
            docs = self._tables.get(table, {})
            seq = None
            for key in keys:
                value = docs.get(key)
                if value is not None and (doomed is None or doomed(decode_document(value))):
                    seq = journal.append(_encode_op(_DEL, table, key, b""))
                    del docs[key]
                    removed += 1
                    self._since_snapshot += 1
            self._maybe_start_compaction()
        if seq is not None:
            journal.sync(seq)
        return removed

    def put_many(self, table: str, items: list[tuple[str, bytes]]) -> None:
        """Insert or replace several documents with one sync (a bulk load)."""
        self._check_writable()
        with self._lock:
            journal = self._journal
            if journal is None:
                raise StoreReadOnlyError(f"{self.directory}: the store is closed")
            docs = self._tables.setdefault(sys.intern(table), {})
            seq = None
            for key, value in items:
                seq = journal.append(_encode_op(_PUT, table, key, value))
                docs[key] = value
                self._since_snapshot += 1
            self._maybe_start_compaction()
        if seq is not None:
            journal.sync(seq)

    def count(self, table: str) -> int:
        return len(self._tables.get(table, ()))

    def items(self, table: str) -> list[tuple[str, bytes]]:
        """A consistent copy of one table's documents (writers may go on meanwhile)."""
        with self._lock:
            return list(self._tables.get(table, {}).items())

    def table_names(self) -> list[str]:
        with self._lock:
            return list(self._tables)

    # -- TinyDB's whole-state interface ---------------------------------------------------

    def read(self) -> dict[str, Any] | None:
        if not self._tables:
            return None
        # Views, not copies: TinyDB reads one document without decoding the others. Tables
        # are only ever added, so the views are made again only when one was.
        if len(self._views) != len(self._tables):
            self._views = {name: _DocumentsView(self, name) for name in self.table_names()}
        return dict(self._views)  # stock tables change what they are given

    def write(self, data: dict[str, Any]) -> None:
        """Stock TinyDB tables hand over the whole state; journal only what differs."""
        for name, docs in data.items():
            if isinstance(docs, _DocumentsView) and docs.storage is self:
                continue
            current = dict(self.items(name))
            for key, doc in docs.items():
                value = encode_document(doc)
                if current.pop(str(key), None) != value:
                    self.put(name, str(key), value)
            for key in current:
                self.delete(name, key)
        for name in set(self.table_names()) - set(data):
            for key, _ in self.items(name):
                self.delete(name, key)

    # -- compaction and closing -----------------------------------------------------------

    def compact(self) -> None:
        """Write a snapshot of everything and drop the journals it replaces. Writers wait
        only for the switch to a new journal, not for the snapshot to be written."""
        self._check_writable()
        with self._compact_lock:
            with self._lock:
                # Only if the snapshot fits beside the room the flows keep: a compaction
                # must never be what makes a flow's write fail.
                require_room(self.directory, _snapshot_size(self._tables))
                old = self._journal
                generation = self._generation + 1
                self._journal = AppendFile.create(
                    self._path("journal", generation), _header("journal", generation)
                )
                self._generation = generation
                self._since_snapshot = 0
                frozen = {name: dict(docs) for name, docs in self._tables.items()}
            if old is not None:
                old.close()
            write_atomic(self._path("snapshot", generation), _snapshot_chunks(frozen, generation))
            self._remove_older_than(generation)

    def write_snapshot_to(self, directory: Path) -> int:
        """Write everything as generation 0 of a new store in `directory` (a backup or a
        move); returns the number of documents. Consistent: taken under the lock."""
        with self._lock:
            frozen = {name: dict(docs) for name, docs in self._tables.items()}
        make_private_dir(directory)
        write_atomic(directory / "snapshot.00000000", _snapshot_chunks(frozen, 0))
        return sum(len(docs) for docs in frozen.values())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        compactor = self._compactor
        if compactor is not None:
            compactor.join()
        with self._lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None

    def __repr__(self) -> str:
        return f"JournalStorage({str(self.directory)!r}, generation={self._generation})"

    # -- internals ------------------------------------------------------------------------

    def _write(self, payload: bytes, table: str, key: str, value: bytes | None) -> bool:
        self._check_writable()
        with self._lock:
            journal = self._journal
            if journal is None:
                raise StoreReadOnlyError(f"{self.directory}: the store is closed")
            # Disk first: if the append fails, memory still matches what is on disk.
            seq = journal.append(payload)
            docs = self._tables.setdefault(sys.intern(table), {})
            existed = True
            if value is None:
                existed = docs.pop(key, None) is not None
            else:
                docs[key] = value
            self._since_snapshot += 1
            self._maybe_start_compaction()
        journal.sync(seq)
        return existed

    def _maybe_start_compaction(self) -> None:
        documents = sum(len(d) for d in self._tables.values())
        threshold = max(self.compact_min_records, int(self.compact_ratio * documents))
        if self._since_snapshot < threshold or self._closed:
            return
        if self._compactor is not None and self._compactor.is_alive():
            return
        self._compactor = threading.Thread(
            target=self._compact_in_background, name="store-compaction", daemon=True
        )
        self._compactor.start()

    def _compact_in_background(self) -> None:
        try:
            self.compact()
        except StorageFullError as exc:
            self._compaction_failed()
            log.warning("%s; compaction put off, the journal keeps every write", exc)
        except Exception:
            self._compaction_failed()
            log.exception("%s: compaction failed; the journal keeps every write", self.directory)

    def _compaction_failed(self) -> None:
        # The old snapshot and the journals are still the store. Try again after another
        # threshold of writes, not on the very next one.
        with self._lock:
            self._since_snapshot = 0

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreReadOnlyError(f"{self.directory}: opened read-only")

    def _path(self, kind: str, generation: int) -> Path:
        return self.directory / f"{kind}.{generation:08d}"

    def _files(self) -> tuple[list[int], list[int]]:
        snapshots: list[int] = []
        journals: list[int] = []
        if not self.directory.is_dir():
            return snapshots, journals
        for entry in self.directory.iterdir():
            match = _FILE.match(entry.name)
            if match:
                (snapshots if match.group(1) == "snapshot" else journals).append(
                    int(match.group(2))
                )
        return sorted(snapshots), sorted(journals)

    def _load_read_only(self) -> None:
        # A running server may compact (and delete files) while we read: start over.
        for attempt in range(5):
            try:
                self._load()
                return
            except FileNotFoundError:
                if attempt == 4:
                    raise
                self._tables = {}
                self.torn_tails = []

    def _load(self) -> None:
        snapshots, journals = self._files()
        base = snapshots[-1] if snapshots else 0
        if snapshots:
            self._read_snapshot(self._path("snapshot", base), base)
        self._generation = base
        self._journal_ends: dict[int, int] = {}
        for generation in (g for g in journals if g >= base):
            path = self._path("journal", generation)
            reader = RecordReader(path, allow_torn_tail=True)
            for offset, payload in reader:
                if offset == 0:
                    _check_header(path, payload, "journal", generation)
                else:
                    self._apply(path, offset, payload)
                    self._since_snapshot += 1
            if reader.end == 0:
                raise StoreCorruptError(path, 0, "the journal has no header record")
            if reader.torn:
                self.torn_tails.append((path, reader.end, reader.torn))
                if not self.read_only:
                    log.warning(
                        "%s: dropped an incomplete record (%d bytes at offset %d) left by a "
                        "crash; it was never acknowledged",
                        path,
                        reader.torn,
                        reader.end,
                    )
            self._journal_ends[generation] = reader.end
            self._generation = generation

    def _open_journal(self) -> None:
        # Cut torn tails off every journal, so the next load starts clean.
        for generation, end in self._journal_ends.items():
            if generation != self._generation:
                AppendFile.open(self._path("journal", generation), end).close()
        if self._generation in self._journal_ends:
            path = self._path("journal", self._generation)
            self._journal = AppendFile.open(path, self._journal_ends[self._generation])
        else:
            path = self._path("journal", self._generation)
            self._journal = AppendFile.create(path, _header("journal", self._generation))
        snapshots, _ = self._files()
        self._remove_older_than(snapshots[-1] if snapshots else 0)
        with self._lock:
            self._maybe_start_compaction()

    def _read_snapshot(self, path: Path, generation: int) -> None:
        reader = RecordReader(path, allow_torn_tail=False)
        count = 0
        ended = False
        for offset, payload in reader:
            if offset == 0:
                _check_header(path, payload, "snapshot", generation)
            elif ended:
                raise StoreCorruptError(path, offset, "records after the end record")
            elif payload[:1] == _END:
                if json.loads(payload[1:]).get("count") != count:
                    raise StoreCorruptError(path, offset, "the document count does not match")
                ended = True
            else:
                self._apply(path, offset, payload)
                count += 1
        if not ended:
            raise StoreCorruptError(path, reader.end, "the snapshot has no end record")

    def _apply(self, path: Path, offset: int, payload: bytes) -> None:
        try:
            op, table, key, value = _decode_op(payload)
        except (ValueError, IndexError, UnicodeDecodeError):
            raise StoreCorruptError(path, offset, "not a store record") from None
        docs = self._tables.setdefault(sys.intern(table), {})
        if op == _PUT:
            docs[key] = value
        else:
            docs.pop(key, None)

    def _remove_older_than(self, generation: int) -> None:
        snapshots, journals = self._files()
        removed = False
        for kind, generations in (("snapshot", snapshots), ("journal", journals)):
            for old in generations:
                if old < generation:
                    with contextlib.suppress(FileNotFoundError):
                        self._path(kind, old).unlink()
                    removed = True
        for temp in self.directory.glob(".*.tmp-*"):
            temp.unlink(missing_ok=True)
            removed = True
        if removed:
            fsync_dir(self.directory)


class _DocumentsView(MutableMapping[str, Any]):
    """One table as TinyDB sees it: documents decoded on access, writes journaled."""

    def __init__(self, storage: JournalStorage, table: str) -> None:
        self.storage = storage
        self.table = table

    def __getitem__(self, key: str) -> dict[str, Any]:
        value = self.storage.get(self.table, str(key))
        if value is None:
            raise KeyError(key)
        return decode_document(value)

    def get(self, key: str, default: Any = None) -> Any:
        # `Table.get(doc_id=...)`, a user lookup: one dict access, no KeyError raised.
        value = self.storage.get(self.table, str(key))
        return default if value is None else decode_document(value)

    def __setitem__(self, key: str, doc: Mapping[str, Any]) -> None:
        self.storage.put(self.table, str(key), encode_document(doc))

    def __delitem__(self, key: str) -> None:
        if not self.storage.delete(self.table, str(key)):
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter([key for key, _ in self.storage.items(self.table)])

    def __len__(self) -> int:
        return self.storage.count(self.table)

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:  # type: ignore[override]
        """Decoded one by one from a copy taken now: a scan (a search, the console's rows)
        holds one document at a time and never trips over a writer removing one."""
        return ((key, decode_document(value)) for key, value in self.storage.items(self.table))


def _header(kind: str, generation: int) -> bytes:
    return _HEAD + json.dumps({"format": FORMAT, "kind": kind, "generation": generation}).encode()


def _check_header(path: Path, payload: bytes, kind: str, generation: int) -> None:
    try:
        header = json.loads(payload[1:]) if payload[:1] == _HEAD else {}
    except ValueError:
        header = {}
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise StoreCorruptError(path, 0, f"not a {FORMAT} file")
    if header.get("kind") != kind or header.get("generation") != generation:
        raise StoreCorruptError(
            path, 0, f"the header says {header.get('kind')} {header.get('generation')}"
        )


def _encode_op(op: bytes, table: str, key: str, value: bytes) -> bytes:
    name, ident = table.encode("utf-8"), key.encode("utf-8")
    if len(name) > 255 or len(ident) > 65535:
        raise ValueError("table name or key too long")
    return b"".join((op, bytes((len(name),)), name, len(ident).to_bytes(2, "big"), ident, value))


def _decode_op(payload: bytes) -> tuple[bytes, str, str, bytes]:
    op = payload[:1]
    if op not in (_PUT, _DEL):
        raise ValueError("unknown operation")
    size = payload[1]
    table = payload[2 : 2 + size].decode("utf-8")
    at = 2 + size
    key_size = int.from_bytes(payload[at : at + 2], "big")
    key = payload[at + 2 : at + 2 + key_size]
    if len(key) != key_size or not table:
        raise ValueError("truncated operation")
    return op, table, key.decode("utf-8"), payload[at + 2 + key_size :]


def _snapshot_size(tables: dict[str, dict[str, bytes]]) -> int:
    """About the bytes a snapshot of `tables` takes (keys counted as characters)."""
    overhead = HEAD_SIZE + 4  # the op, the name's and the key's lengths
    return sum(
        len(docs) * (overhead + len(name)) + sum(len(k) + len(v) for k, v in docs.items())
        for name, docs in tables.items()
    )


def _snapshot_chunks(tables: dict[str, dict[str, bytes]], generation: int) -> Iterator[bytes]:
    buffer = [frame(_header("snapshot", generation))]
    size = 0
    count = 0
    for name, docs in tables.items():
        for key, value in docs.items():
            record = frame(_encode_op(_PUT, name, key, value))
            buffer.append(record)
            size += len(record)
            count += 1
            if count % 256 == 0:
                # Compaction runs beside the writers: give the GIL back often, or a writer
                # waits a whole switch interval (5 ms) and the write p99 shows it.
                time.sleep(0)
            if size >= _CHUNK:
                yield b"".join(buffer)
                buffer, size = [], 0
    buffer.append(frame(_END + json.dumps({"count": count}).encode()))
    yield b"".join(buffer)
