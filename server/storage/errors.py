"""The storage package's exceptions: one family, each with a stable code.

Messages name files, offsets, key ids and process ids, never a record's contents: a record
may hold answer hashes or code state.
"""

from __future__ import annotations

from pathlib import Path


class StorageError(Exception):
    """Base of every storage failure; `code` is stable for scripts and tests."""

    code = "storage_error"


class StoreLockedError(StorageError):
    """Another process owns the data directory (the running server, or a db tool)."""

    code = "store_locked"

    def __init__(self, data_dir: Path, pid: int | None) -> None:
        owner = f"process {pid}" if pid else "another process"
        super().__init__(
            f"{data_dir}: the data directory is in use by {owner} "
            "(a running `pwreset server` or database tool); stop it first"
        )
        self.data_dir = data_dir
        self.pid = pid


class StoreCorruptError(StorageError):
    """A file cannot be read as written: damage that is not a torn tail."""

    code = "store_corrupt"

    def __init__(self, path: Path, offset: int, reason: str) -> None:
        super().__init__(f"{path}: at byte offset {offset}: {reason}")
        self.path = path
        self.offset = offset
        self.reason = reason


class StoreKeyError(StorageError):
    """A sealed record cannot be opened with the data keys given."""

    code = "store_key"


class StoreReadOnlyError(StorageError):
    """A write through a store opened read-only (the Data Console's view)."""

    code = "store_read_only"


class RotationPendingError(StorageError):
    """A data-key rotation was interrupted; the server must not run half-rotated."""

    code = "rotation_pending"
