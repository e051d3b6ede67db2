"""Room left on the data folder's file system, checked before work that must be able to write.

A flow that starts must be able to finish: count a wrong answer, store an enrollment, write
the audit row of a directory change. So the server admits a request that may write only while
more than `RESERVE` is free, which leaves the flows already admitted the room they need; and
a compaction starts only if its snapshot fits without eating into that reserve.
"""

from __future__ import annotations

import os
from pathlib import Path

from pwreset.server.storage.errors import StorageFullError

# A flow writes a few KB (a sealed enrollment record, audit rows, a replay record): 4 MiB
# covers every worker thread's flow (at most 256) finishing at once.
RESERVE = 4 << 20


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer may still use on `path`'s file system."""
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def require_room(path: Path, needed: int = 0) -> None:
    """Raise StorageFullError unless `needed` bytes fit with `RESERVE` to spare."""
    free = free_bytes(path)
    if free < needed + RESERVE:
        raise StorageFullError(path, f"{free} bytes free, {needed + RESERVE} needed")
