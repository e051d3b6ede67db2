"""The storage package's exceptions: one family, each with a stable code.

Messages name files, offsets, key ids and process ids, never a record's contents: a record
may hold answer hashes or code state.
"""

from __future__ import annotations

import errno
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


class StorageFullError(StorageError):
    """The data folder's file system has no room for a write (ENOSPC, or a quota). Nothing
    was half-written: the write that failed is cut off, and every earlier one stands; once
    space is freed the next write goes through, without a restart."""

    code = "storage_full"

    def __init__(self, path: Path, what: str = "") -> None:
        reason = f" ({what})" if what else ""
        super().__init__(
            f"{path}: no space left on the data folder's file system{reason}; free some space "
            "there: writes go on once there is room, without a restart"
        )
        self.path = path


_FULL = (errno.ENOSPC, errno.EDQUOT)


def is_disk_full(exc: BaseException) -> bool:
    """True for the OSErrors that mean "no room left" (out of blocks, or over a quota)."""
    return isinstance(exc, OSError) and exc.errno in _FULL
