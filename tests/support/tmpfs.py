"""A small tmpfs for disk-full tests: mounted for one test, unmounted whatever happens, and
filled to the last byte on demand. Mounting needs root, which the tests have in CI."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FILLER = "filler"


@contextmanager
def small_tmpfs(path: Path, size: int) -> Iterator[Path]:
    """`path` as a tmpfs of `size` bytes (mode 0700, as pwreset makes its data folder)."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        check=True,
        capture_output=True,
    )
    try:
        yield path
    finally:
        # A process still holding a file there (a server that failed to stop) makes a
        # plain umount fail; detach the mount then, so nothing stays mounted after the test.
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], check=True, capture_output=True)


def fill(folder: Path) -> Path:
    """Write a file in `folder` until its file system has no block left; returns the file.
    Existing files may still grow inside the block they end in (the rest of that page)."""
    path = folder / FILLER
    chunk = b"\0" * (1 << 16)
    with path.open("ab", buffering=0) as file:
        while True:
            try:
                file.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
        os.fsync(file.fileno())
    return path


def free_bytes(folder: Path) -> int:
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


def leave_free(folder: Path, size: int) -> None:
    """Shrink the filler so that about `size` bytes are free again."""
    path = folder / FILLER
    missing = size - free_bytes(folder)
    if missing > 0:
        os.truncate(path, max(0, path.stat().st_size - missing))
