"""Making files durable: fsync of files and folders, and atomic replacement by rename."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from pwreset.server.storage.errors import StorageFullError, is_disk_full

_SYNC_EVERY = 8 << 20


def fsync_dir(path: Path) -> None:
    """Persist a folder's entries, so a rename or a new file survives a power loss."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, chunks: Iterable[bytes], mode: int = 0o600) -> int:
    """Write `path` so it holds either its old content or all of `chunks`, never a mix.

    Temp file in the same folder, fsync, rename over, fsync the folder. Returns the size.
    Out of space, the temp file goes (giving its room back), `path` keeps its old content,
    and StorageFullError says so.
    """
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        size = _write_file(temp, chunks, mode)
        temp.replace(path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        if is_disk_full(exc):
            raise StorageFullError(path, "writing its new copy") from exc
        raise
    fsync_dir(path.parent)
    return size


def _write_file(path: Path, chunks: Iterable[bytes], mode: int) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    size = 0
    with os.fdopen(fd, "wb", buffering=1 << 20) as file:
        unsynced = 0
        for chunk in chunks:
            file.write(chunk)
            size += len(chunk)
            unsynced += len(chunk)
            if unsynced >= _SYNC_EVERY:
                # Flush a big file as it grows: one huge final fsync would make the
                # journal's small fsyncs queue behind it (ext4 orders them).
                file.flush()
                os.fdatasync(file.fileno())
                unsynced = 0
        file.flush()
        os.fsync(file.fileno())
    return size


def make_private_dir(path: Path) -> None:
    """Create a folder only the owner can read (it holds hashes, even if encrypted)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
