"""One owner per data directory: an exclusive `flock` on `.lock`, holding the owner's pid.

The kernel drops the lock when the owner dies, even by kill -9, so a crash never leaves a
stale lock behind; the pid is only there to name the owner in the error.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path

from pwreset.server.storage.errors import StoreLockedError, is_disk_full

log = logging.getLogger("pwreset.storage")

LOCK_NAME = ".lock"


class OwnerLock:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        path = data_dir / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise StoreLockedError(data_dir, pid) from None
        except BaseException:
            os.close(fd)
            raise
        # A clean release empties the file: a pid left in it means its owner was killed.
        self.previous_owner_killed = _read_pid(fd) is not None
        os.ftruncate(fd, 0)
        try:
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:
            if not is_disk_full(exc):
                os.close(fd)
                raise
            # The flock is what guards the folder; the pid only names the owner in errors
            # ("another process" then), so a full disk must not stop the server starting.
            log.warning("%s: no room to note the owner's pid in %s", data_dir, LOCK_NAME)
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing drops the flock
        self._fd = None


def owner_pid(data_dir: Path) -> int | None:
    """The pid of the process owning `data_dir`, or None if nobody holds it."""
    path = data_dir / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd) or -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode().strip() or 0) or None
    except (OSError, ValueError):
        return None
