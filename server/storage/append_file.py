"""An append-only file of framed records with group commit.

Appends are made by the store under its own lock (so records never interleave); the fsync
happens outside that lock, and one fsync covers every record written before it, so many
threads saving at once share the cost instead of queueing behind one fsync each.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from pwreset.server.storage.durable import write_atomic
from pwreset.server.storage.errors import StorageFullError, is_disk_full
from pwreset.server.storage.framing import frame


class AppendFile:
    def __init__(self, path: Path, fd: int, size: int) -> None:
        self.path = path
        self.size = size
        self.records = 0
        self._fd = fd
        self._written = 0  # sequence number of the last record written
        self._synced = 0  # ... and of the last one known durable
        self._sync_lock = threading.Lock()
        self._closed = False

    @classmethod
    def create(cls, path: Path, header: bytes) -> AppendFile:
        """A new file holding only its header record, created atomically."""
        size = write_atomic(path, [frame(header)])
        return cls.open(path, size)

    @classmethod
    def open(cls, path: Path, end: int) -> AppendFile:
        """Continue an existing file after its last good record (a torn tail is cut off)."""
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        try:
            if os.fstat(fd).st_size != end:
                os.ftruncate(fd, end)
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, end)

    def append(self, payload: bytes) -> int:
        """Write one record (not yet durable); returns its sequence number for `sync`.
        The caller holds the store's lock."""
        data = frame(payload)
        try:
            written = os.write(self._fd, data)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            written = -1
        if written != len(data):
            # A short write to a regular file means the disk is full: cut the partial record
            # off, so the file ends on a whole record and the next append, once space is
            # freed, does not land after garbage. Shrinking a file needs no space.
            os.ftruncate(self._fd, self.size)
            raise StorageFullError(self.path, f"{max(written, 0)} of {len(data)} bytes written")
        self.size += written
        self.records += 1
        self._written += 1
        return self._written

    def sync(self, seq: int) -> None:
        """Return once record `seq` is on disk: fsync, unless another thread's fsync already
        covered it."""
        if self._synced >= seq:
            return
        with self._sync_lock:
            if self._synced >= seq:
                return
            target = self._written
            try:
                os.fdatasync(self._fd)
            except OSError as exc:
                # Some file systems (NFS, thin volumes) report the lack of space only here.
                if is_disk_full(exc):
                    raise StorageFullError(self.path, "fdatasync") from exc
                raise
            self._synced = target

    def close(self) -> None:
        """Sync everything written, then close. A later `sync` of an older record returns at
        once, so a writer racing a journal switch never fsyncs a closed descriptor."""
        with self._sync_lock:
            if self._closed:
                return
            os.fdatasync(self._fd)
            self._synced = self._written
            os.close(self._fd)
            self._closed = True
