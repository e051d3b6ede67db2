"""A per-process cache of things derived from files (parsed catalogues, file bytes, theme
descriptions), valid while a file's mtime and size are unchanged.

Fifty sites share one stock theme: without this, each site would read and parse the same
files again. `--watch` and the preview keep one process alive, so an edited file is picked up
by its new mtime while everything else stays cached.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


def stamp(path: Path) -> tuple[int, int] | None:
    """(mtime in ns, size) of a file, or None when it does not exist."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


# File systems stamp times in coarse steps (a few ms); a file written again within one step
# keeps its mtime. As git does for its index ("racy clean"), a stamp is trusted only when it
# was already this old when cached.
_RACY_NS = 2_000_000_000


class FileCache(Generic[T]):
    """`get(path, load)` returns `load(path)`, computed again only when the file changed."""

    def __init__(self) -> None:
        self._entries: dict[Path, tuple[tuple[int, int] | None, int, T]] = {}

    def get(self, path: Path, load: Callable[[Path], T]) -> T:
        current = stamp(path)
        entry = self._entries.get(path)
        fresh = entry is not None and current is not None and entry[0] == current
        if fresh and current is not None and entry is not None and current[0] < entry[1] - _RACY_NS:
            return entry[2]
        cached_at = time.time_ns()
        value = load(path)
        self._entries[path] = (current, cached_at, value)
        return value

    def clear(self) -> None:
        self._entries.clear()
